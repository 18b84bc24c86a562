"""The rule catalogue: TOML data files in `rules/`, loaded, validated and compiled once.

Compilation turns every rule pattern (and its exemption terms) into normalised keys of a single
Aho-Corasick automaton. Pinyin variants (zui好, 最hao, weixin) and listed homophones are added as
keys of the same rule, so the matcher never needs to convert the text to pinyin.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import ahocorasick

from livepledge.compliance.normalize import normalize_pattern

CATEGORIES: tuple[str, ...] = (
    "general", "apparel", "cosmetics", "food", "health_food", "infant_formula", "appliance",
    "digital", "jewelry", "home", "medical_device",
)
CATEGORY_NAMES: dict[str, str] = {
    "general": "普通商品 / general", "apparel": "服装 / apparel", "cosmetics": "化妆品 / cosmetics",
    "food": "普通食品 / food", "health_food": "保健食品 / health food",
    "infant_formula": "婴幼儿配方食品 / infant formula", "appliance": "家电 / appliances",
    "digital": "数码 / digital", "jewelry": "珠宝饰品 / jewelry", "home": "家居 / home",
    "medical_device": "医疗器械 / medical devices",
}
CONTEXTS: tuple[str, ...] = ("speech", "script", "listing", "chat")
SEVERITIES: tuple[str, ...] = ("violation", "warning")
VERIFIERS: frozenset[str] = frozenset({
    "cosmetic_special_use", "health_function", "sales_claim", "stock_claim", "scarcity_claim",
    "lowest_price_claim", "reference_price", "price_rise_claim", "countdown_claim", "honour_claim",
    "user_count_claim", "open_urgency", "registered_use",
})
DETECTORS: frozenset[str] = frozenset({"contact_number"})

TRIGGER = 0
SHIELD = 1

# Lists that add to the family defaults instead of replacing them.
_MERGED_LISTS = ("exempt_terms", "exempt_suffixes", "exempt_prefixes", "exempt_clause_words")
_LIST_FIELDS = (
    "patterns", "prefixes", "stems", "homophones", "negations", "negations_after", "cues_before",
    "cues_after",
    "exempt_before", "overrides", "examples", "lawful_examples", *_MERGED_LISTS,
)
_KNOWN_FIELDS = frozenset({
    *_LIST_FIELDS, "id", "title", "description", "law", "article", "severity", "categories",
    "contexts", "chat_severity", "negatable", "negation_window", "quote_ok", "pinyin",
    "self_comparison_ok", "sourced_ok", "warning_context", "cue_window", "verify", "detector",
    "suggestion", "keys", "cue_scope", "handle_after", "clause_end_cue", "word_cues", "follows",
    "lexicons", "cue_lexicons_before", "cue_lexicons_after",
})


@lru_cache(maxsize=256)
def _negation_pattern(negations: tuple[str, ...], window: int) -> re.Pattern[str] | None:
    """A negation that ends at most `window` characters before the end of the text."""
    if not negations:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(negations, key=len, reverse=True))
    return re.compile(f"(?:{alternatives})(?=.{{0,{window}}}$)", re.S)


# A negation after the claim word counts when it starts within this many characters of the term.
NEGATION_AFTER_WINDOW = 4


def _covering_chars(words: tuple[str, ...]) -> tuple[str, ...]:
    """A few characters such that every word holds one of them (greedy): a text holding none of
    them holds none of the words, which is cheaper to test than the words themselves."""
    left, chosen = set(words), []
    while left:
        counts: dict[str, int] = {}
        for word in left:
            for char in set(word):
                counts[char] = counts.get(char, 0) + 1
        best = max(counts, key=lambda c: (counts[c], c))
        chosen.append(best)
        left = {w for w in left if best not in w}
    return tuple(chosen)


class CatalogueError(ValueError):
    """A rule file is malformed (reported with the file and rule id)."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    family: str
    title: str
    description: str
    law: str
    article: str
    severity: str
    categories: frozenset[str]
    contexts: frozenset[str]
    suggestion: str
    chat_severity: str | None = None
    negatable: bool = False
    negations: tuple[str, ...] = ()
    negation_window: int = 4
    # Negation or distancing right after the claim word (全网最低不敢说, 最好用谈不上).
    negations_after: tuple[str, ...] = ()
    quote_ok: bool = False
    self_comparison_ok: bool = False
    sourced_ok: bool = False
    warning_context: bool = False
    cues_before: tuple[str, ...] = ()
    cues_after: tuple[str, ...] = ()
    cue_window: int = 6
    # or "sentence": cues may sit across a comma; "after_sentence": only the cues after may
    cue_scope: str = "clause"
    handle_after: bool = False  # an account handle right after the term counts as a cue
    clause_end_cue: bool = False  # the term ending its clause counts as a cue (这个最好。)
    # One-character cues and suffixes count only as words of their own (来 is no cue in 来源, 看
    # no advice in 最好看的): decided by word segmentation around the candidate.
    word_cues: bool = False
    long_suffixes: tuple[str, ...] = ()  # the exempt suffixes of more than one character
    # What must follow the term (a regex on the clause after it; its first group, if any, widens
    # the span): 最 + a word of one to three characters + 的/了.
    follows: str = ""
    exempt_prefixes: tuple[str, ...] = ()
    exempt_suffixes: tuple[str, ...] = ()
    exempt_clause_words: tuple[str, ...] = ()
    exempt_before: tuple[str, ...] = ()
    exempt_terms: tuple[str, ...] = ()
    verify: str | None = None
    detector: str | None = None
    overrides: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    examples: tuple[str, ...] = ()
    lawful_examples: tuple[str, ...] = ()
    negation_pattern: re.Pattern[str] | None = None
    cues_before_re: re.Pattern[str] | None = None
    cues_after_re: re.Pattern[str] | None = None
    exempt_clause_re: re.Pattern[str] | None = None
    negations_after_re: re.Pattern[str] | None = None
    negations_after_chars: tuple[str, ...] = ()  # every negation after holds one of these
    follows_re: re.Pattern[str] | None = None
    basis: str = ""  # the legal basis, law and article (set from them when not given)
    # exempt_suffixes by first character: the few a clause can start with are tried, not all
    exempt_suffix_heads: dict[str, tuple[str, ...]] | None = field(
        default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not self.basis:
            object.__setattr__(self, "basis", f"{self.law} {self.article}".strip())
        heads: dict[str, list[str]] = {}
        for suffix in self.exempt_suffixes:
            heads.setdefault(suffix[0], []).append(suffix)
        object.__setattr__(self, "exempt_suffix_heads",
                           {head: tuple(group) for head, group in heads.items()})

    @property
    def legal_basis(self) -> str:
        return self.basis

    def applies_to(self, category: str, context: str) -> bool:
        return category in self.categories and context in self.contexts


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    name: str
    summary: str


def alternation(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex that finds any of `words` (None for no words)."""
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def overlapping(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex whose finditer yields, at every position, the longest of `words` starting there
    (group 1), so overlapping words are all found (None for no words)."""
    found = alternation(words)
    return None if found is None else re.compile(f"(?=({found.pattern}))")


@dataclass(frozen=True, slots=True)
class ContextWords:
    self_scope: tuple[str, ...]
    shop_scope: tuple[str, ...]
    market_scope: tuple[str, ...]
    meta_words: tuple[str, ...]
    meta_suffixes: tuple[str, ...]
    source_words: tuple[str, ...]
    warning_words: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("market_scope", "meta_words", "source_words", "warning_words"):
            object.__setattr__(self, f"{name}_re", alternation(getattr(self, name)))
        for name in ("self_scope", "shop_scope"):  # a plain one to test, one to list them all
            object.__setattr__(self, f"{name}_any_re", alternation(getattr(self, name)))
            object.__setattr__(self, f"{name}_re", overlapping(getattr(self, name)))

    self_scope_re: re.Pattern[str] | None = None
    shop_scope_re: re.Pattern[str] | None = None
    self_scope_any_re: re.Pattern[str] | None = None
    shop_scope_any_re: re.Pattern[str] | None = None
    market_scope_re: re.Pattern[str] | None = None
    meta_words_re: re.Pattern[str] | None = None
    source_words_re: re.Pattern[str] | None = None
    warning_words_re: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class ScanTables:
    """For one category and context, by automaton key id: the ids of the key's applicable trigger
    entries (see Catalogue.entry_*), and the indices of the rules its applicable shield entries
    belong to. Long texts are scanned with these (engine._check_long)."""

    triggers: tuple[tuple[int, ...], ...]
    shields: tuple[tuple[int, ...], ...]
    useful: tuple[bool, ...]  # the key has an applicable trigger or shield
    any_shields: bool


@dataclass(slots=True)
class Catalogue:
    rules: tuple[Rule, ...]
    families: tuple[Family, ...]
    words: ContextWords
    # Values are key ids: keys[id] is (length, entries), each entry (TRIGGER | SHIELD, rule
    # index, canonical key).
    automaton: Any
    lexicon: tuple[str, ...]
    detectors: tuple[int, ...]
    keys: tuple[tuple[int, tuple[tuple[int, int, str], ...]], ...] = ()
    # Every trigger entry of every key, by entry id: its rule index, canonical key, the index of
    # the rule's family (in `family_ids`), its position among its key's entries, the key's length.
    entry_rule: tuple[int, ...] = ()
    entry_key: tuple[str, ...] = ()
    entry_family: tuple[int, ...] = ()
    entry_order: tuple[int, ...] = ()
    entry_length: tuple[int, ...] = ()
    key_triggers: tuple[tuple[int, ...], ...] = ()  # by key id: its trigger entry ids
    key_length: tuple[int, ...] = ()
    entry_overrides: tuple[bool, ...] = ()  # the entry's rule overrides other families
    max_entries: int = 0  # the most entries a key has
    family_ids: tuple[str, ...] = ()
    rule_family: tuple[int, ...] = ()  # by rule index: the index of its family
    rule_overridden: tuple[tuple[int, ...], ...] = ()  # by rule index: families it overrides
    rule_rank: tuple[int, ...] = ()  # by rule index: the rank of its id among all ids
    _applicable: dict[tuple[str, str], frozenset[int]] = field(default_factory=dict)
    _tables: dict[tuple[str, str], ScanTables] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family_ids:
            return
        self.family_ids = tuple(sorted({rule.family for rule in self.rules}))
        index = {family: i for i, family in enumerate(self.family_ids)}
        self.rule_family = tuple(index[rule.family] for rule in self.rules)
        rule_, key_, family_, order_, length_, triggers = [], [], [], [], [], []
        for length, entries in self.keys:
            ids = []
            for order, (kind, rule_index, key) in enumerate(entries):
                if kind == TRIGGER:
                    ids.append(len(rule_))
                    rule_.append(rule_index)
                    key_.append(key)
                    family_.append(self.rule_family[rule_index])
                    order_.append(order)
                    length_.append(length)
            triggers.append(tuple(ids))
        self.entry_rule, self.entry_key, self.entry_family = tuple(rule_), tuple(key_), \
            tuple(family_)
        self.entry_order, self.entry_length = tuple(order_), tuple(length_)
        self.key_triggers = tuple(triggers)
        self.key_length = tuple(length for length, _ in self.keys)
        self.entry_overrides = tuple(bool(self.rules[r].overrides) for r in rule_)
        self.max_entries = max((len(entries) for _, entries in self.keys), default=0)
        self.rule_overridden = tuple(tuple(index[f] for f in rule.overrides if f in index)
                                     for rule in self.rules)
        ids = sorted(rule.id for rule in self.rules)
        self.rule_rank = tuple(ids.index(rule.id) for rule in self.rules)

    def applicable(self, category: str, context: str) -> frozenset[int]:
        key = (category, context)
        found = self._applicable.get(key)
        if found is None:  # computed once per (category, context)
            found = frozenset(
                i for i, rule in enumerate(self.rules) if rule.applies_to(category, context))
            self._applicable[key] = found
        return found

    def scan_tables(self, category: str, context: str) -> ScanTables:
        """The ScanTables of a category and context (computed once for each)."""
        tables = self._tables.get((category, context))
        if tables is None:
            applicable = self.applicable(category, context)
            entry_rule = self.entry_rule
            triggers = tuple(tuple(e for e in ids if entry_rule[e] in applicable)
                             for ids in self.key_triggers)
            shields = tuple(tuple(r for kind, r, _ in entries
                                  if kind == SHIELD and r in applicable)
                            for _, entries in self.keys)
            tables = self._tables[(category, context)] = ScanTables(
                triggers, shields, tuple(bool(t or s) for t, s in zip(triggers, shields,
                                                                       strict=True)),
                any(shields))
        return tables

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


# --- loading -------------------------------------------------------------------------------

def _as_tuple(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogueError(f"{where}: expected a list of strings")
    return tuple(value)


def _norm_all(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for w in (normalize_pattern(x) for x in words) if w))


def _scope(value: Any, allowed: tuple[str, ...], where: str) -> frozenset[str]:
    items = _as_tuple(value, where)
    if "*" in items:
        return frozenset(allowed)
    unknown = set(items) - set(allowed)
    if unknown:
        raise CatalogueError(f"{where}: unknown {sorted(unknown)}")
    return frozenset(items)


def _merge(defaults: dict[str, Any], raw: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(raw) - _KNOWN_FIELDS
    if unknown:
        raise CatalogueError(f"{where}: unknown fields {sorted(unknown)}")
    merged = {**defaults, **raw}
    for name in _MERGED_LISTS:
        merged[name] = [*defaults.get(name, []), *raw.get(name, [])]
    for name in ("id", "title", "description", "law", "article", "severity", "suggestion"):
        if not isinstance(merged.get(name), str) or not merged[name]:
            raise CatalogueError(f"{where}: missing {name}")
    if merged["severity"] not in SEVERITIES:
        raise CatalogueError(f"{where}: bad severity {merged['severity']}")
    return merged


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise CatalogueError(f"{where}: {value!r} is not one of {allowed}")
    return str(value)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """A word list from a rule-maker (rules/lexicons/NAME.toml), with its source named: `groups`
    of terms add to a rule's patterns, `keys` add words to a rule's keyed groups."""
    name: str
    source: str
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    lists: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for _, words in self.groups for t in words))


def _lexicon_files() -> list[tuple[str, bytes]]:
    folder = resources.files("livepledge.compliance") / "rules" / "lexicons"
    if not folder.is_dir():
        return []
    return sorted((entry.name, entry.read_bytes()) for entry in folder.iterdir()
                  if entry.name.endswith(".toml"))


def load_lexicons(files: list[tuple[str, bytes]] | None = None) -> dict[str, Lexicon]:
    lexicons: dict[str, Lexicon] = {}
    for name, data in _lexicon_files() if files is None else files:
        where = f"lexicons/{name}"
        try:
            document = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CatalogueError(f"{where}: {exc}") from exc
        source = document.get("source")
        if not isinstance(source, str) or not source:
            raise CatalogueError(f"{where}: missing source")

        def table(key: str, doc: dict[str, Any] = document,
                  at: str = where) -> tuple[tuple[str, tuple[str, ...]], ...]:
            value = doc.get(key, {})
            if not isinstance(value, dict):
                raise CatalogueError(f"{at}: {key} must be a table")
            return tuple((k, _as_tuple(v, f"{at}.{key}.{k}")) for k, v in value.items())

        lists = tuple((k, _as_tuple(v, f"{where}.{k}")) for k, v in document.items()
                      if isinstance(v, list))
        lexicons[name.removesuffix(".toml")] = Lexicon(
            name.removesuffix(".toml"), source, table("groups"), table("keys"), lists)
    return lexicons


def _with_lexicons(merged: dict[str, Any], lexicons: dict[str, Lexicon] | None,
                   where: str) -> dict[str, Any]:
    names = _as_tuple(merged.get("lexicons", []), f"{where}.lexicons")
    cue_names = {side: _as_tuple(merged.get(f"cue_lexicons_{side}", []),
                                 f"{where}.cue_lexicons_{side}") for side in ("before", "after")}
    if not names and not any(cue_names.values()):
        return merged
    lexicons = load_lexicons() if lexicons is None else lexicons
    merged = dict(merged)
    # A lexicon named as cues adds its terms to the rule's cue words (保证 + an outcome).
    for side, cue_lexicons in cue_names.items():
        cues = list(merged.get(f"cues_{side}", []))
        for name in cue_lexicons:
            if name not in lexicons:
                raise CatalogueError(f"{where}: unknown lexicon {name}")
            cues += [t for t in lexicons[name].terms if t not in cues]
        merged[f"cues_{side}"] = cues
    patterns = list(merged.get("patterns", []))
    keys = {k: list(v) for k, v in merged.get("keys", {}).items()}
    for name in names:
        if name not in lexicons:
            raise CatalogueError(f"{where}: unknown lexicon {name}")
        lexicon = lexicons[name]
        patterns += [t for t in lexicon.terms if t not in patterns]
        for key, words in lexicon.keys:
            keys.setdefault(key, [])
            keys[key] += [w for w in words if w not in keys[key]]
    merged["patterns"] = patterns
    if keys:
        merged["keys"] = keys
    return merged


def _build_rule(family: str, merged: dict[str, Any], where: str,
                lexicons: dict[str, Lexicon] | None = None) -> Rule:
    merged = _with_lexicons(merged, lexicons, where)
    lists = {name: _as_tuple(merged.get(name, []), f"{where}.{name}") for name in _LIST_FIELDS}
    verify = merged.get("verify")
    if verify is not None and verify not in VERIFIERS:
        raise CatalogueError(f"{where}: unknown verifier {verify}")
    detector = merged.get("detector")
    if detector is not None and detector not in DETECTORS:
        raise CatalogueError(f"{where}: unknown detector {detector}")
    keys = tuple(
        (key, _as_tuple(words, f"{where}.keys.{key}"))
        for key, words in merged.get("keys", {}).items())
    patterns = lists["patterns"] + tuple(
        p + s for p, s in itertools.product(lists["prefixes"], lists["stems"]))
    if not patterns and not keys and detector is None:
        raise CatalogueError(f"{where}: a rule needs patterns, keys or a detector")
    return Rule(
        id=merged["id"], family=family, title=merged["title"],
        description=merged["description"], law=merged["law"], article=merged["article"],
        severity=merged["severity"],
        categories=_scope(merged.get("categories", ["*"]), CATEGORIES, f"{where}.categories"),
        contexts=_scope(merged.get("contexts", ["*"]), CONTEXTS, f"{where}.contexts"),
        suggestion=merged["suggestion"], chat_severity=merged.get("chat_severity"),
        negatable=bool(merged.get("negatable", False)),
        negations=_norm_all(lists["negations"]),
        negation_window=int(merged.get("negation_window", 4)),
        quote_ok=bool(merged.get("quote_ok", False)),
        self_comparison_ok=bool(merged.get("self_comparison_ok", False)),
        sourced_ok=bool(merged.get("sourced_ok", False)),
        warning_context=bool(merged.get("warning_context", False)),
        cues_before=_norm_all(lists["cues_before"]), cues_after=_norm_all(lists["cues_after"]),
        cue_window=int(merged.get("cue_window", 6)),
        cue_scope=_choice(merged.get("cue_scope", "clause"),
                          ("clause", "sentence", "after_sentence"), where),
        handle_after=bool(merged.get("handle_after", False)),
        clause_end_cue=bool(merged.get("clause_end_cue", False)),
        word_cues=bool(merged.get("word_cues", False)),
        long_suffixes=tuple(s for s in _norm_all(lists["exempt_suffixes"]) if len(s) > 1),
        follows=str(merged.get("follows", "")),
        follows_re=re.compile(merged["follows"]) if merged.get("follows") else None,
        negations_after=_norm_all(lists["negations_after"]),
        negations_after_re=alternation(_norm_all(lists["negations_after"])),
        negations_after_chars=_covering_chars(_norm_all(lists["negations_after"])),
        exempt_prefixes=_norm_all(lists["exempt_prefixes"]),
        exempt_suffixes=_norm_all(lists["exempt_suffixes"]),
        exempt_clause_words=_norm_all(lists["exempt_clause_words"]),
        exempt_before=_norm_all(lists["exempt_before"]),
        exempt_terms=lists["exempt_terms"], verify=verify, detector=detector,
        overrides=lists["overrides"], patterns=patterns, keys=keys,
        examples=lists["examples"], lawful_examples=lists["lawful_examples"],
        negation_pattern=_negation_pattern(_norm_all(lists["negations"]),
                                           int(merged.get("negation_window", 4))),
        cues_before_re=alternation(_norm_all(lists["cues_before"])),
        cues_after_re=alternation(_norm_all(lists["cues_after"])),
        exempt_clause_re=alternation(_norm_all(lists["exempt_clause_words"])),
    )


def _rule_files() -> list[tuple[str, bytes]]:
    folder = resources.files("livepledge.compliance") / "rules"
    files = sorted((entry.name, entry.read_bytes()) for entry in folder.iterdir()
                   if entry.name.endswith(".toml"))
    return files


def load_rules(files: list[tuple[str, bytes]] | None = None
               ) -> tuple[tuple[Rule, ...], tuple[Family, ...], ContextWords]:
    files = _rule_files() if files is None else files
    rules: list[Rule] = []
    families: list[Family] = []
    words: ContextWords | None = None
    lexicons = load_lexicons()
    for name, data in files:
        try:
            document = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CatalogueError(f"{name}: {exc}") from exc
        if name == "_context.toml":
            words = ContextWords(**{key: _norm_all(_as_tuple(value, f"{name}.{key}"))
                                    for key, value in document.items()})
            continue
        family = document.get("family")
        if not isinstance(family, str):
            raise CatalogueError(f"{name}: missing family")
        families.append(Family(family, document.get("name", family),
                               document.get("summary", "").strip()))
        defaults = document.get("defaults", {})
        for raw in document.get("rule", []):
            where = f"{name}:{raw.get('id', '?')}"
            rules.append(_build_rule(family, _merge(defaults, raw, where), where, lexicons))
    if words is None:
        raise CatalogueError("_context.toml is missing")
    ids = [rule.id for rule in rules]
    duplicates = {rule_id for rule_id in ids if ids.count(rule_id) > 1}
    if duplicates:
        raise CatalogueError(f"duplicate rule ids {sorted(duplicates)}")
    return tuple(rules), tuple(families), words


# --- compiling -----------------------------------------------------------------------------

def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff"


def pinyin_variants(pattern: str) -> set[str]:
    """zui好, 最hao, zuihao … for a pattern of Chinese characters (a few chars at most)."""
    from pypinyin import lazy_pinyin  # compile time only

    positions = [i for i, char in enumerate(pattern) if _is_han(char)]
    if not positions or len(pattern) > 6:
        return set()
    syllables = lazy_pinyin(pattern)
    if len(syllables) != len(pattern):
        return set()
    if len(positions) <= 4:
        subsets = [c for r in range(1, len(positions) + 1)
                   for c in itertools.combinations(positions, r)]
    else:
        subsets = [(i,) for i in positions] + [tuple(positions)]
    variants = set()
    for subset in subsets:
        chars = list(pattern)
        for i in subset:
            chars[i] = syllables[i]
        variants.add("".join(chars))
    return variants


def _trigger_keys(rule: Rule, raw: dict[str, Any]) -> dict[str, str]:
    """normalised key -> canonical key (the pattern group, used when checking facts)."""
    keys: dict[str, str] = {}
    groups = [(p, p) for p in rule.patterns]
    groups += [(word, key) for key, words in rule.keys for word in words]
    for word, key in groups:
        norm = normalize_pattern(word)
        if norm:
            keys.setdefault(norm, key)
            if raw.get("pinyin"):
                for variant in pinyin_variants(norm):
                    keys.setdefault(variant, key)
    for word in raw.get("homophones", []):
        norm = normalize_pattern(word)
        if norm:
            keys.setdefault(norm, norm)
    return keys


def compile_catalogue(files: list[tuple[str, bytes]] | None = None) -> Catalogue:
    files = _rule_files() if files is None else files
    rules, families, words = load_rules(files)
    raw_by_id = _raw_rule_options(files)
    table: dict[str, list[tuple[int, int, str]]] = {}
    for index, rule in enumerate(rules):
        for norm, key in _trigger_keys(rule, raw_by_id[rule.id]).items():
            table.setdefault(norm, []).append((TRIGGER, index, key))
        pinyin = raw_by_id[rule.id]["pinyin"]
        for term in _norm_all(rule.exempt_terms):
            for form in {term} | (pinyin_variants(term) if pinyin else set()):
                table.setdefault(form, []).append((SHIELD, index, term))
    automaton = ahocorasick.Automaton()
    keys = []
    for key_id, (norm, entries) in enumerate(table.items()):
        automaton.add_word(norm, key_id)
        keys.append((len(norm), tuple(entries)))
    automaton.make_automaton()
    detectors = tuple(i for i, rule in enumerate(rules) if rule.detector)
    return Catalogue(rules=rules, families=families, words=words, automaton=automaton,
                     lexicon=tuple(table), detectors=detectors, keys=tuple(keys))


def _raw_rule_options(files: list[tuple[str, bytes]]) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for name, data in files:
        if name == "_context.toml":
            continue
        document = tomllib.loads(data.decode("utf-8"))
        defaults = document.get("defaults", {})
        for raw in document.get("rule", []):
            options[raw["id"]] = {"pinyin": raw.get("pinyin", defaults.get("pinyin", False)),
                                  "homophones": raw.get("homophones", [])}
    return options


@lru_cache(maxsize=1)
def get_catalogue() -> Catalogue:
    """The compiled catalogue singleton (compiled on first use, then shared)."""
    return compile_catalogue()
