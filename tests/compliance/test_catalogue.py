"""The catalogue data files, the generated docs, and the quality targets on the corpus."""

from pathlib import Path

from livepledge.compliance.catalogue import get_catalogue
from livepledge.compliance.evaluation import DEFAULT_CORPUS, evaluate, load_corpus
from livepledge.compliance.report import catalogue_markdown

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = {"absolute", "endorsement", "medical", "false_claim", "price", "fabricated_data",
            "diversion"}


def test_every_rule_cites_law_and_suggests_a_rewording():
    catalogue = get_catalogue()

    assert {rule.family for rule in catalogue.rules} == FAMILIES
    for rule in catalogue.rules:
        assert rule.law.startswith("《"), rule.id
        assert rule.article, rule.id
        assert rule.suggestion and rule.description, rule.id


def test_docs_catalogue_is_generated_from_the_rule_files():
    generated = catalogue_markdown(get_catalogue())

    stale = "docs/compliance.md is stale: run livepledge compliance catalogue --markdown"
    assert (ROOT / "docs" / "compliance.md").read_text(encoding="utf-8") == generated, stale


def test_corpus_size_and_quality_targets_hold():
    items = load_corpus(DEFAULT_CORPUS)

    result = evaluate(items)

    assert len(items) >= 600
    assert sum("hard_negative" in i["tags"] for i in items) >= 200
    assert sum("evasion" in i["tags"] for i in items) >= 100
    assert result.precision() >= 0.95
    assert result.recall() >= 0.95
    assert result.hard_negative_fp_rate <= 0.05
