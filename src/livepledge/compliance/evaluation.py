"""Quality report on the labelled corpus: precision and recall per rule family and overall, and
the false-positive rate on hard negatives.

A corpus line is JSON: {"id", "text", "category", "context", "expected": [families that must be
reported as violations], "warnings"?: [families expected as warnings], "facts"?: {...},
"tags": ["hard_negative" | "evasion" | ...]}. Scoring counts violation findings only; warnings
are compared separately (they ask for evidence and block nothing).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from livepledge.compliance.facts import Facts
from livepledge.compliance.service import check_text

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "corpus" / "compliance"
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.95


@dataclass(slots=True)
class Miss:
    id: str
    text: str
    expected: list[str]
    predicted: list[str]


@dataclass(slots=True)
class Evaluation:
    lines: int = 0
    true_positive: Counter[str] = field(default_factory=Counter)
    false_positive: Counter[str] = field(default_factory=Counter)
    false_negative: Counter[str] = field(default_factory=Counter)
    hard_negatives: int = 0
    hard_negative_flagged: int = 0
    evasions: int = 0
    evasions_caught: int = 0
    warnings_expected: int = 0
    warnings_found: int = 0
    misses: list[Miss] = field(default_factory=list)

    def precision(self, family: str | None = None) -> float:
        tp, fp = self._counts(family)[:2]
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, family: str | None = None) -> float:
        tp, _, fn = self._counts(family)
        return tp / (tp + fn) if tp + fn else 1.0

    def _counts(self, family: str | None) -> tuple[int, int, int]:
        if family is None:
            return (sum(self.true_positive.values()), sum(self.false_positive.values()),
                    sum(self.false_negative.values()))
        return (self.true_positive[family], self.false_positive[family],
                self.false_negative[family])

    @property
    def families(self) -> list[str]:
        return sorted(set(self.true_positive) | set(self.false_positive) | set(self.false_negative))

    @property
    def hard_negative_fp_rate(self) -> float:
        return self.hard_negative_flagged / self.hard_negatives if self.hard_negatives else 0.0

    @property
    def meets_targets(self) -> bool:
        return self.precision() >= TARGET_PRECISION and self.recall() >= TARGET_RECALL

    def to_dict(self) -> dict[str, Any]:
        per_family = {
            family: {"precision": round(self.precision(family), 4),
                     "recall": round(self.recall(family), 4),
                     "support": self.true_positive[family] + self.false_negative[family]}
            for family in self.families}
        return {
            "lines": self.lines,
            "overall": {"precision": round(self.precision(), 4), "recall": round(self.recall(), 4)},
            "families": per_family,
            "hard_negatives": self.hard_negatives,
            "hard_negative_fp_rate": round(self.hard_negative_fp_rate, 4),
            "evasions": self.evasions,
            "evasion_recall": (round(self.evasions_caught / self.evasions, 4)
                               if self.evasions else 1.0),
            "warnings_expected": self.warnings_expected,
            "warnings_found": self.warnings_found,
            "targets": {"precision": TARGET_PRECISION, "recall": TARGET_RECALL,
                        "met": self.meets_targets},
        }


def load_corpus(path: Path) -> list[dict[str, Any]]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    items = []
    for file in files:
        for number, line in enumerate(file.read_bytes().splitlines(), start=1):
            if line.strip():
                try:
                    items.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"{file.name}:{number}: invalid JSON ({exc})") from exc
    return items


def _score(evaluation: Evaluation, item: dict[str, Any]) -> None:
    result = check_text(item["text"], category=item["category"], context=item["context"],
                        facts=Facts.from_dict(item.get("facts")))
    predicted = {f.family for f in result.findings if f.severity == "violation"}
    warned = {f.family for f in result.findings if f.severity == "warning"}
    expected = set(item.get("expected", []))
    for family in predicted & expected:
        evaluation.true_positive[family] += 1
    for family in predicted - expected:
        evaluation.false_positive[family] += 1
    for family in expected - predicted:
        evaluation.false_negative[family] += 1
    tags = item.get("tags", [])
    if "hard_negative" in tags:
        evaluation.hard_negatives += 1
        evaluation.hard_negative_flagged += bool(predicted)
    if "evasion" in tags:
        evaluation.evasions += 1
        evaluation.evasions_caught += expected <= predicted
    expected_warnings = set(item.get("warnings", []))
    evaluation.warnings_expected += len(expected_warnings)
    evaluation.warnings_found += len(expected_warnings & (warned | predicted))
    if predicted != expected:
        evaluation.misses.append(Miss(str(item.get("id")), item["text"], sorted(expected),
                                      sorted(predicted)))


def evaluate(items: list[dict[str, Any]]) -> Evaluation:
    evaluation = Evaluation()
    for item in items:
        evaluation.lines += 1
        _score(evaluation, item)
    return evaluation
