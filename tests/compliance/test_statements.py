"""Facts stated in the text, and sentences that state the rules (compliance/statements.py)."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from livepledge.compliance.catalogue import load_lexicons
from livepledge.compliance.cli import app
from livepledge.compliance.facts import Facts
from livepledge.compliance.service import check_text


def _violations(text: str, category: str = "cosmetics", facts: Facts | None = None) -> set[str]:
    result = check_text(text, category=category, context="listing", facts=facts)
    return {f.rule_id for f in result.findings if f.severity == "violation"}


def _warnings(text: str, category: str = "cosmetics") -> set[str]:
    result = check_text(text, category=category, context="listing")
    return {f.rule_id for f in result.findings if f.severity == "warning"}


def test_special_use_claim_without_stated_facts_asks_for_evidence() -> None:
    assert _warnings("这款精华美白淡斑") == {"MED-005"}
    assert _violations("这款精华美白淡斑") == set()


def test_text_stating_an_ordinary_cosmetic_makes_a_special_use_claim_a_violation() -> None:
    for text in ("这款是普通化妆品，美白淡斑效果很好", "妆字号的面霜，也能美白",
                 "我们没有特证，但是美白效果很好", "普通备案产品，防脱发"):
        assert _violations(text) == {"MED-005"}, text


def test_stated_fact_keeps_spans_and_text_of_the_original() -> None:
    text = "没有特证也能美白"
    finding = next(f for f in check_text(text, category="cosmetics", context="listing").findings)
    assert (finding.start, finding.end, finding.text) == (6, 8, "美白")
    assert finding.severity == "violation"


def test_facts_given_decide_over_the_text() -> None:
    facts = Facts(special_cosmetic_uses=("美白",))
    assert _violations("这款是普通化妆品，美白淡斑", facts=facts) == set()


def test_stated_fact_applies_to_cosmetics_only() -> None:
    assert _violations("普通化妆品美白", category="general") == set()


def test_a_sentence_stating_the_rule_is_not_a_claim() -> None:
    assert _violations("普通化妆品宣称具有祛斑美白等特殊功效均为违法") == set()
    assert _violations("我国规定化妆品不得宣称具有治疗、杀菌抑菌等功效") == set()
    assert _violations("普通食品不能宣称保健功能，不得涉及疾病预防治疗功效", "food") == set()


def test_a_contrast_after_the_rule_keeps_the_claim() -> None:
    assert _violations("广告法规定不能说，但是这个面霜能消炎") == {"MED-001"}


def test_lexicons_name_their_source_and_extend_rules() -> None:
    lexicons = load_lexicons()
    assert {"diseases", "cosmetic_medical_terms", "cosmetic_special_uses", "health_functions",
            "efficacy_evidence"} <= set(lexicons)
    assert all(lexicon.source for lexicon in lexicons.values())
    assert "帕金森" in lexicons["diseases"].terms
    assert _violations("帕金森的妈妈用了都好了", "apparel") == {"MED-002"}
    assert _violations("抑菌洁面乳") == {"MED-004"}


def test_jsonl_line_with_facts_object_is_judged_with_them() -> None:
    lines = [{"text": "这款精华美白淡斑", "category": "cosmetics", "context": "listing"},
             {"text": "这款精华美白淡斑", "category": "cosmetics", "context": "listing",
              "facts": {"special_cosmetic_uses": []}}]
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    result = CliRunner().invoke(app, ["check", "--jsonl", "-"], input=body)
    outputs = [orjson.loads(line) for line in result.stdout.splitlines()]
    severities = [[f["severity"] for f in out["findings"]] for out in outputs]
    assert severities == [["warning"], ["violation"]]


def test_vouching_by_institutions_and_spokespersons() -> None:
    assert _violations("教育部推荐使用", "general") == {"END-003"}
    assert _violations("请在医生指导下使用", "medical_device") == set()
    assert _violations("日加满品牌挚友 潘粤明", "health_food") == {"END-004"}
    assert _violations("品牌代言人同款零食", "food") == set()
    assert _violations("质量免检", "general") == {"END-001"}
    assert _violations("风水宝地", "home") == {"END-002"}


def test_a_platform_after_bi_is_a_price_comparison_not_diversion() -> None:
    result = check_text("比京东便宜200", category="digital", context="speech")
    assert not any(f.family == "diversion" for f in result.findings)
    result = check_text("去京东搜同名店更便宜", category="digital", context="speech")
    assert any(f.family == "diversion" for f in result.findings)


def _findings(text: str, category: str = "general") -> list[tuple[str, str, str]]:
    result = check_text(text, category=category, context="speech")
    return [(f.rule_id, f.severity, f.text) for f in result.findings]


def test_reference_price_the_text_says_was_never_charged_is_a_violation() -> None:
    assert _findings("原价399，今天99") == [("PRC-003", "warning", "原价")]
    assert _findings("原价399，其实从来没卖过这个价，今天99") == [("PRC-003", "violation", "原价")]
    assert _findings("吊牌价899，从没按吊牌价卖过") == [("PRC-003", "violation", "吊牌价")]
    # the never-sold statement is about a later, different price
    assert _findings("原价399，今天99，这个价以前没卖过") == [("PRC-003", "warning", "原价")]


def test_first_n_orders_when_every_order_gets_it_is_false_scarcity() -> None:
    assert _findings("只有前100单送赠品，其实每一单都送") == [
        ("FC-003", "violation", "只有前100单")]
    assert _findings("前50名下单送杯子，拍了都有") == [("FC-003", "violation", "前50名")]
    assert _findings("前50名下单就送杯子") == []
    assert _findings("不限量，前50名还送杯子") == []


def test_a_clause_opening_with_a_prohibition_to_the_buyer_is_a_warning_not_diversion() -> None:
    text = ("拒绝向陌生人转账、代付款项，不要在陌生链接中付款，"
            "不要接受陌生文件或随意扫描陌生二维码付款")
    assert _violations(text, "general") == set()
    assert _violations("别在直播间拍加我微信私下转账更便宜", "general") != set()
    assert _violations("不要下单，扫二维码付款更便宜", "general") != set()


def test_codes_shelf_life_and_ingredient_negation_are_not_claims() -> None:
    assert _violations("色号No.1是正红色") == set()
    assert _violations("型号：TOP1-X200", "digital") == set()
    assert _violations("No.1号链接是杯子", "general") == set()
    assert _violations("我们是全网No.1", "general") == {"ABS-003"}
    assert _violations("销量TOP1的杯子", "general") == {"ABS-003"}
    assert _violations("最佳食用期为开封后7天", "food") == set()
    assert _violations("不含激素，不添加抗生素") == set()
    assert _violations("含抗生素，消炎快") != set()


def test_specific_cosmetic_claims_ask_for_the_efficacy_evaluation() -> None:
    assert _warnings("专为敏感肌研发") == {"MED-009"}
    assert _violations("专为敏感肌研发") == set()
    assert _warnings("这款面霜很滋润") == set()


def test_a_sentence_reporting_a_case_is_not_a_claim() -> None:
    assert _violations("某公司宣称其床垫能促进血液循环，被罚款5万元", "home") == set()
    assert _violations("该床垫宣称能促进血液循环，涉嫌虚假宣传", "home") == set()
    assert _violations("这个床垫能促进血液循环，睡一晚就知道", "home") == {"MED-010"}
