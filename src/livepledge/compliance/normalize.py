"""Text normalisation with an index map back to the original text.

Two views are built from the original text, both in one `str.translate` call (C speed):

* `folded` has exactly the length of the original: full-width folded to half-width, upper case to
  lower case, traditional to simplified characters, tone marks dropped; noise (spaces, symbols,
  emoji, zero-width characters) becomes NOISE, weak clause punctuation (，、；：) becomes WEAK,
  quotation marks become QUOTE (colons are noise: 微信：abc), sentence ends become "。".
  Context checks read this view, because
  its offsets are the original offsets.
* `norm` is `folded` without NOISE, WEAK and QUOTE: the text the matcher scans. Characters padded
  with spaces, symbols or emoji (最 好, 薇❤信, V-X) are joined again. `index[i]` is the original
  offset of `norm[i]`.

Emoji that stand for characters are read as those characters instead of being dropped as noise:
one that stands for one character is folded like any other (🍑 → 桃, ✌ → v, 🆅 → v, 🐂 → 牛);
emoji used as decoration or padding (🔥, 👍, ❤) stay noise;
one that stands for a word (🐧 → 企鹅, 📞 → 电话) is folded to EXPAND, and the checker then runs on
`expand(text)`, the original with those emoji written out, and maps its spans back (`Expansion`).

Matches never cross a sentence end ("。"), but they do cross weak punctuation, which evasions use
as padding.

Speed: the folding table is applied as a list indexed by code point for the Basic Multilingual
Plane (a list lookup per character instead of a dict miss that raises and clears a KeyError),
and the few astral characters (emoji) are folded afterwards by a regex. The map from `norm` back
to the original is built only when a span is asked for, from the positions of the removed
characters (usually a handful), with a binary search.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from functools import lru_cache
from itertools import accumulate

NOISE = "\x00"
WEAK = "\x01"
QUOTE = "\x02"
SENTENCE_END = "。"
EXPAND = "\x03"  # an emoji that stands for a word: see `expand`
REMOVED = frozenset((NOISE, WEAK, QUOTE))

# Emoji (and enclosed letters) that stand for one character, folded in place.
# Emoji used as decoration or padding (🔥, 👍, ❌, ❤) stay noise: 全网🔥最低🔥价 is 全网最低价.
EMOJI_CHARS: dict[str, str] = {
    "🍑": "桃", "🐂": "牛", "🐮": "牛", "🐟": "鱼", "🐠": "鱼", "🈚": "无", "🈶": "有", "🉑": "可",
    "✌": "v",
}
# Emoji that stand for a word: the checker writes them out before folding.
EMOJI_WORDS: dict[str, str] = {
    "🐧": "企鹅", "📞": "电话", "☎": "电话", "📱": "手机", "📲": "手机", "💯": "百分百",
}

_STRONG = "。！？!?\n\r｡"
_WEAK = "，,、；;…"
_QUOTES = "\"'“”‘’「」『』《》〈〉【】〔〕"
_KEPT_ASCII = "%+#"
_CIRCLED_DIGITS = "⓪①②③④⑤⑥⑦⑧⑨"
_PLUS_SIGNS = "➕✚✙＋﹢"
_TONE_LETTERS = {
    "a": "āáǎàɑ", "e": "ēéěèê", "i": "īíǐì", "o": "ōóǒò", "u": "ūúǔù", "v": "ǖǘǚǜü",
}


class NormalizedText:
    """The original text, its folded view, the matching view, and the index map between them."""

    __slots__ = ("_gaps", "_index", "_memo", "_removed", "folded", "norm", "original")

    def __init__(self, original: str, folded: str, norm: str) -> None:
        self.original, self.folded, self.norm = original, folded, norm
        self._index: tuple[int, ...] | None = None
        self._gaps: list[int] | None = None
        self._memo: dict[int, tuple[re.Pattern[str], bool]] | None = None
        self._removed: list[int] | None = None

    def anywhere(self, pattern: re.Pattern[str]) -> bool:
        """Whether `pattern` matches somewhere in `norm` (remembered per pattern).

        For a pattern without anchors or lookarounds, no match in `norm` means no match in any
        stretch of it either, such as the sentence around a candidate: context checks ask this
        first and build the sentence only when the answer is yes.
        """
        memo = self._memo
        if memo is None:
            memo = self._memo = {}
        # by identity: hashing a compiled pattern hashes its code, about 1 µs for a word list
        found = memo.get(id(pattern))
        if found is None or found[0] is not pattern:
            found = memo[id(pattern)] = (pattern, pattern.search(self.norm) is not None)
        return found[1]

    @property
    def index(self) -> tuple[int, ...] | None:
        """index[i] is the original offset of norm[i]; None when the two are the same text."""
        if self._index is None and len(self.norm) != len(self.folded):
            self._index = tuple(i for i, char in enumerate(self.folded) if char not in REMOVED)
        return self._index

    @property
    def gaps(self) -> list[int]:
        """For the i-th removed character of `folded`: how many kept characters precede it.

        The original offset of norm[k] is k + bisect_right(gaps, k). Empty when nothing was
        removed.
        """
        gaps = self._gaps
        if gaps is None:
            if len(self.norm) == len(self.folded):
                gaps = []
            else:  # running lengths of the kept stretches between removed characters
                folded = self.folded.replace(WEAK, NOISE).replace(QUOTE, NOISE)
                gaps = list(accumulate(map(len, folded.split(NOISE))))
                gaps.pop()
            self._gaps = gaps
        return gaps

    def norm_offset(self, offset: int) -> int:
        """How many characters of `norm` come from folded[:offset] (the offset in `norm` of the
        first character at or after `offset` in the original that is kept)."""
        if len(self.norm) == len(self.folded):
            return offset if offset < len(self.norm) else len(self.norm)
        removed = self._removed
        if removed is None:  # the offsets in `folded` of the removed characters
            removed = self._removed = [kept + i for i, kept in enumerate(self.gaps)]
        if offset > len(self.folded):
            offset = len(self.folded)
        return offset - bisect_left(removed, offset)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `norm` to the original text."""
        gaps = self.gaps
        if not gaps:
            return start, end
        return start + bisect_right(gaps, start), end + bisect_right(gaps, end - 1)


def _t2s_pairs() -> dict[int, str]:
    import opencc  # local import: only needed while building the table

    converter = opencc.OpenCC("t2s")
    ranges = [range(0x3400, 0x4DC0), range(0x4E00, 0xA000), range(0xF900, 0xFB00)]
    chars = [chr(code) for block in ranges for code in block]
    converted = converter.convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # pragma: no cover - defensive, OpenCC keeps lines
        return {}
    return {ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def _is_noise(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "PSZC" or category == "Mn"


def _add_symbol_ranges(table: dict[int, str]) -> None:
    symbol_ranges = [
        range(0x0080, 0x0100), range(0x0300, 0x0370), range(0x2000, 0x2C00),
        range(0x3000, 0x3040), range(0xFE00, 0xFE70), range(0x1F000, 0x1FB00),
        range(0xE0000, 0xE0080),
    ]
    for block in symbol_ranges:
        for code in block:
            if code not in table and _is_noise(chr(code)):
                table[code] = NOISE


@lru_cache(maxsize=1)
def translation_table() -> dict[int, str]:
    table: dict[int, str] = dict(_t2s_pairs())
    for code in (*range(0x20), 0x7F):  # control characters, the markers above among them: a
        table[code] = NOISE            # text that carries one must not pass it off as a marker
    for code in range(0x21, 0x7F):
        char = chr(code)
        if char.isalnum():
            table[code] = char.lower()
        elif char not in _KEPT_ASCII:
            table[code] = NOISE
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII
        half = chr(code - 0xFEE0)
        table[code] = table.get(ord(half), half)
    for char in " \t\u3000\u00a0\u200b\u200c\u200d\u2060\ufeff":
        table[ord(char)] = NOISE
    for base, accented in _TONE_LETTERS.items():
        for char in accented:
            table[ord(char)] = base
            table[ord(char.upper())] = base
    for digit, char in enumerate(_CIRCLED_DIGITS):
        table[ord(char)] = str(digit)
    for char in _PLUS_SIGNS:
        table[ord(char)] = "+"
    _add_symbol_ranges(table)
    _add_punctuation(table)
    _add_emoji(table)
    return table


def _add_emoji(table: dict[int, str]) -> None:
    """Emoji and enclosed letters that stand for characters (see EMOJI_CHARS, EMOJI_WORDS)."""
    letters = [(0x1F130, 26), (0x1F150, 26), (0x1F170, 26), (0x1F1E6, 26),  # 🄰 🅐 🅰 🇦
               (0x24B6, 26), (0x24D0, 26)]  # Ⓐ ⓐ
    for first, count in letters:
        for offset in range(count):
            table[first + offset] = chr(ord("a") + offset)
    for emoji, text in EMOJI_CHARS.items():
        if len(text) == 1:
            table[ord(emoji)] = text
    for emoji in EMOJI_WORDS:
        table[ord(emoji)] = EXPAND


def _add_punctuation(table: dict[int, str]) -> None:
    for char in _STRONG:
        table[ord(char)] = SENTENCE_END
    for char in _WEAK + "，；":
        table[ord(char)] = WEAK
    for char in _QUOTES:
        table[ord(char)] = QUOTE
    table[ord("〇")] = "〇"


_STRIP = {ord(c): None for c in REMOVED}
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@lru_cache(maxsize=1)
def _fast_tables() -> tuple[list[int | str], dict[int, str]]:
    """The folding table as a list over the BMP (identity where unmapped) and a dict beyond."""
    table = translation_table()
    bmp: list[int | str] = list(range(0x10000))
    astral: dict[int, str] = {}
    for code, value in table.items():
        if code < 0x10000:
            bmp[code] = value
        else:
            astral[code] = value
    return bmp, astral


def _fold_astral(match: re.Match[str]) -> str:
    char = match.group()
    return _fast_tables()[1].get(ord(char), char)


def fold(text: str) -> str:
    """`text.translate(translation_table())`, faster: same length, same characters."""
    folded = text.translate(_fast_tables()[0])  # astral characters raise IndexError: kept
    if not text.isascii() and _ASTRAL.search(folded) is not None:
        folded = _ASTRAL.sub(_fold_astral, folded)
    return folded


def strip(text: str) -> str:
    """`text` without NOISE, WEAK and QUOTE."""
    if NOISE in text:
        text = text.replace(NOISE, "")
    if WEAK in text:
        text = text.replace(WEAK, "")
    if QUOTE in text:
        text = text.replace(QUOTE, "")
    return text


def normalize(text: str) -> NormalizedText:
    """The views of `text` (an emoji that stands for a word is dropped here: see `expand`)."""
    folded = fold(text)
    if EXPAND in folded:
        folded = folded.replace(EXPAND, NOISE)
    return NormalizedText(text, folded, strip(folded))


_EMOJI_WORD = re.compile("|".join(re.escape(emoji) for emoji in EMOJI_WORDS))


class Expansion:
    """The original text with each emoji that stands for a word written out (🐧 → 企鹅), and the
    map from spans of the expanded text back to the original."""

    __slots__ = ("_spans", "text")

    def __init__(self, original: str) -> None:
        pieces: list[str] = []
        spans: list[tuple[int, int, int]] = []  # (start, end) in the expanded text, original pos
        last = 0
        length = 0
        for match in _EMOJI_WORD.finditer(original):
            pieces.append(original[last:match.start()])
            length += match.start() - last
            word = EMOJI_WORDS[match.group()]
            spans.append((length, length + len(word), match.start()))
            pieces.append(word)
            length += len(word)
            last = match.end()
        pieces.append(original[last:])
        self.text = "".join(pieces)
        self._spans = spans

    def _position(self, offset: int) -> int:
        """The original offset of the expanded text's character at `offset`."""
        shift = 0
        for start, end, original in self._spans:
            if offset < start:
                break
            if offset < end:
                return original
            shift += end - start - 1
        return offset - shift

    def norm_offset(self, offset: int) -> int:
        """How many characters of `norm` come from folded[:offset] (the offset in `norm` of the
        first character at or after `offset` in the original that is kept)."""
        if len(self.norm) == len(self.folded):
            return offset if offset < len(self.norm) else len(self.norm)
        removed = self._removed
        if removed is None:  # the offsets in `folded` of the removed characters
            removed = self._removed = [kept + i for i, kept in enumerate(self.gaps)]
        if offset > len(self.folded):
            offset = len(self.folded)
        return offset - bisect_left(removed, offset)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty [start, end) span of the expanded text to the original text."""
        return self._position(start), self._position(end - 1) + 1


def expand(text: str) -> Expansion:
    return Expansion(text)


def normalize_pattern(pattern: str) -> str:
    """The form a rule pattern takes in the automaton (same folding as the text)."""
    pattern = expand(pattern).text
    return pattern.translate(translation_table()).translate(_STRIP).replace(SENTENCE_END, "")
