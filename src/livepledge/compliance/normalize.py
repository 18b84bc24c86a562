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

Matches never cross a sentence end ("。"), but they do cross weak punctuation, which evasions use
as padding.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

NOISE = "\x00"
WEAK = "\x01"
QUOTE = "\x02"
SENTENCE_END = "。"
REMOVED = frozenset((NOISE, WEAK, QUOTE))

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

    __slots__ = ("_index", "folded", "norm", "original")

    def __init__(self, original: str, folded: str, norm: str) -> None:
        self.original, self.folded, self.norm = original, folded, norm
        self._index: tuple[int, ...] | None = None

    @property
    def index(self) -> tuple[int, ...] | None:
        """index[i] is the original offset of norm[i]; None when the two are the same text."""
        if self._index is None and len(self.norm) != len(self.folded):
            self._index = tuple(i for i, char in enumerate(self.folded) if char not in REMOVED)
        return self._index

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `norm` to the original text."""
        index = self.index
        if index is None:
            return start, end
        return index[start], index[end - 1] + 1


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
    return table


def _add_punctuation(table: dict[int, str]) -> None:
    for char in _STRONG:
        table[ord(char)] = SENTENCE_END
    for char in _WEAK + "，；":
        table[ord(char)] = WEAK
    for char in _QUOTES:
        table[ord(char)] = QUOTE
    table[ord("〇")] = "〇"


_STRIP = {ord(c): None for c in REMOVED}


def normalize(text: str) -> NormalizedText:
    folded = text.translate(translation_table())
    norm = folded
    for char in REMOVED:
        if char in norm:
            norm = norm.replace(char, "")
    return NormalizedText(text, folded, norm)


def normalize_pattern(pattern: str) -> str:
    """The form a rule pattern takes in the automaton (same folding as the text)."""
    return pattern.translate(translation_table()).translate(_STRIP).replace(SENTENCE_END, "")
