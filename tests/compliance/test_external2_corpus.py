"""The second external evaluation set (corpus/external2, issue #15) loads and is well formed.

It is a measuring set: this test checks its shape only and never scores it, so that nobody tunes
the rules against it by watching a test.
"""

import re
from pathlib import Path

from livepledge.compliance.catalogue import CATEGORIES, CONTEXTS
from livepledge.compliance.evaluation import load_corpus
from livepledge.compliance.facts import Facts

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "corpus" / "external2"
FAMILIES = {"absolute", "diversion", "endorsement", "fabricated_data", "false_claim", "medical",
            "price"}


def _normalised(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def test_the_set_loads_with_enough_lines_and_hard_negatives():
    items = load_corpus(FOLDER)

    assert len(items) >= 300
    assert sum("hard_negative" in item["tags"] for item in items) >= 100


def test_every_line_cites_its_source_and_has_a_unique_id():
    items = load_corpus(FOLDER)

    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    for item in items:
        source = item["source"]
        assert source["url"].startswith(("http://", "https://")), item["id"]
        assert source["title"].strip(), item["id"]


def test_every_line_uses_the_engines_categories_families_and_facts():
    for item in load_corpus(FOLDER):
        assert item["text"].strip(), item["id"]
        assert item["category"] in CATEGORIES, item["id"]
        assert item["context"] in CONTEXTS, item["id"]
        assert set(item["expected"]) <= FAMILIES, item["id"]
        if "hard_negative" in item["tags"]:
            assert item["expected"] == [], item["id"]
        else:
            assert item["expected"], item["id"]
        Facts.from_dict(item.get("facts"))


def test_no_line_repeats_the_first_external_set_or_the_development_corpus():
    other = {_normalised(item["text"])
             for folder in ("external", "compliance")
             for item in load_corpus(ROOT / "corpus" / folder)}
    own = [_normalised(item["text"]) for item in load_corpus(FOLDER)]

    assert len(own) == len(set(own))
    assert not set(own) & other
