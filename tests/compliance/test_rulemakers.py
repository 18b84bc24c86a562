"""Claim structures modelled from the rule-makers' categories (issue #15): comparisons with other
sellers, urgency without a time, loss and factory price labels, guaranteed outcomes, effortless
results, guaranteed returns, body-function claims for non-medical goods, infant-formula function
claims and medical-device claims against the registered use."""

from __future__ import annotations

import pytest

from livepledge.compliance.catalogue import get_catalogue, load_lexicons
from livepledge.compliance.engine import check
from livepledge.compliance.facts import Facts


def _summary(text: str, category: str, facts: Facts | None = None,
             context: str = "speech") -> list[tuple[str, str, str]]:
    return [(f.rule_id, f.severity, f.text) for f in check(text, category, context, facts)]


@pytest.mark.parametrize(("text", "category", "expected"), [
    ("比拼多多还便宜20块", "general", [("PRC-006", "violation", "拼多多")]),
    ("比专柜便宜一半", "cosmetics", [("PRC-006", "violation", "专柜")]),
    ("这个价格随时会涨，喜欢的先拍", "general", [("PRC-007", "violation", "随时会涨")]),
    ("今天亏本清仓", "apparel", [("PRC-008", "violation", "亏本清仓")]),
    ("报我们的班保证考上", "general", [("FC-014", "violation", "保证")]),
    ("加盟三个月保证回本", "general", [("FC-014", "violation", "保证")]),
    ("躺着就能瘦肚子", "food", [("FC-015", "violation", "躺着")]),
    ("项目稳赚不赔", "general", [("FC-016", "violation", "稳赚不赔")]),
    ("这款床垫能改善血液循环", "home", [("MED-010", "violation", "改善血液循环")]),
    ("戴上手串增强免疫力", "jewelry", [("MED-011", "violation", "增强免疫力")]),
    ("宝宝喝了更聪明", "infant_formula", [("MED-014", "violation", "更聪明")]),
    ("彻底告别腰椎间盘突出", "medical_device", [("MED-012", "violation", "腰椎间盘突出")]),
    ("喝这个茶对血糖高的人特别有效", "food", [("MED-002", "violation", "血糖高")]),
])
def test_rule_maker_claims_are_found(text, category, expected):
    assert _summary(text, category) == expected


@pytest.mark.parametrize(("text", "category"), [
    ("比超市的新鲜，早上刚摘的", "food"),
    ("比京东发货快，今天下单明天到", "digital"),
    ("活动到今晚12点结束，之后恢复日常价129元", "general"),
    ("这款不是亏本卖的，价格就是日常价", "general"),
    ("效果因人而异，我们不保证每个人都能瘦", "food"),
    ("保证正品，七天无理由退换", "general"),
    ("这条裤子版型好，保证显瘦", "apparel"),
    ("我们一定会在48小时内发货", "general"),
    ("懒人沙发，躺着追剧特别舒服", "home"),
    ("投资有风险，过往收益不代表未来", "general"),
    ("床垫软硬适中，透气不闷", "home"),
    ("护膝加绒保暖，冬天骑车不冷", "apparel"),
    ("净化器CADR值420，适用面积50平", "appliance"),
    ("血糖高的朋友购买前请先咨询医生", "food"),
    ("含DHA、ARA，符合食品安全国家标准", "infant_formula"),
])
def test_ordinary_words_are_not_claims(text, category):
    assert [f for f in check(text, category, "speech", None) if f.severity == "violation"] == []


def test_a_scheduled_rise_turns_open_urgency_into_a_request_for_the_time():
    scheduled = Facts(price_rise_scheduled=True)
    assert _summary("随时涨价，赶紧拍", "general", scheduled) == [
        ("PRC-007", "warning", "随时涨价")]
    assert _summary("随时涨价，赶紧拍", "general", Facts(price_rise_scheduled=False)) == [
        ("PRC-007", "violation", "随时涨价")]


def test_device_claims_are_judged_against_the_registered_use():
    text = "这个仪器能治疗糖尿病"
    assert _summary(text, "medical_device") == [("MED-013", "warning", "糖尿病")]
    registered = Facts.from_dict({"registered_uses": ["用于缓解颈肩部肌肉疼痛"]})
    assert _summary(text, "medical_device", registered) == [("MED-013", "violation", "糖尿病")]
    covered = Facts.from_dict({"registered_uses": ["用于2型糖尿病患者的辅助治疗"]})
    assert _summary(text, "medical_device", covered) == []


def test_registered_uses_must_be_a_list_of_strings():
    with pytest.raises(ValueError, match="registered_uses"):
        Facts.from_dict({"registered_uses": "用于缓解疼痛"})


def test_every_lexicon_names_its_source_and_new_lexicons_are_used():
    lexicons = load_lexicons()
    assert all(lexicon.source for lexicon in lexicons.values())
    catalogue = get_catalogue()
    used = {"other_sellers": "PRC-006", "open_urgency": "PRC-007", "price_labels": "PRC-008",
            "effortless": "FC-015", "body_functions": "MED-010",
            "infant_formula_claims": "MED-014"}
    for name, rule_id in used.items():
        patterns = set(catalogue.rule(rule_id).patterns)
        assert set(lexicons[name].terms) <= patterns, name


def test_a_lexicon_can_supply_cue_words():
    rule = get_catalogue().rule("FC-014")
    outcomes = load_lexicons()["outcomes"].terms + load_lexicons()["body_outcomes"].terms
    assert set(outcomes) <= set(rule.cues_after)


@pytest.mark.parametrize(("text", "category", "expected"), [
    ("钟南山院士都推荐的护目镜", "general", [("END-003", "violation", "钟南山"),
                                          ("END-003", "violation", "院士")]),
    ("市长亲自品尝过的大米", "food", [("END-003", "violation", "市长")]),
    ("研究表明，每天喝一杯能年轻五岁", "food", [("FC-017", "violation", "研究表明")]),
    ("太赫兹芯片激活细胞", "jewelry", [("FC-018", "violation", "太赫兹"),
                                      ("MED-010", "violation", "激活细胞")]),
])
def test_endorsers_evidence_and_pseudo_science(text, category, expected):
    assert _summary(text, category) == expected


def test_research_with_a_source_and_a_date_asks_for_the_evidence():
    text = "据某某检测中心2024年3月出具的报告，研究表明甲醛释放量达标"
    assert _summary(text, "home") == [("FC-017", "warning", "研究表明")]


@pytest.mark.parametrize(("text", "category"), [
    ("钟南山院士提醒，秋冬注意保暖", "general"),
    ("这款大米产自市长所在的县城", "food"),
    ("本品不能代替药物，患者请遵医嘱", "health_food"),
    ("能量满满的早餐，一杯豆浆一个蛋", "food"),
    ("负离子吹风机，出风口温度约57℃", "appliance"),
])
def test_names_and_technologies_alone_are_not_claims(text, category):
    assert [f for f in check(text, category, "speech", None) if f.severity == "violation"] == []


@pytest.mark.parametrize(("text", "category", "expected"), [
    ("这款红枣茶补血益气", "food", [("MED-015", "violation", "补血"),
                                   ("MED-015", "violation", "益气")]),
    ("这款霜涂了能丰胸", "cosmetics", [("MED-004", "violation", "丰胸")]),
    ("洗面奶还能除螨", "cosmetics", [("MED-004", "violation", "除螨")]),
    ("这款精华晒不黑", "cosmetics", [("MED-005", "warning", "晒不黑")]),
])
def test_traditional_medicine_and_cosmetic_catalogue_claims(text, category, expected):
    assert _summary(text, category) == expected


def test_a_text_stating_a_device_registration_is_judged_by_its_stated_use():
    from livepledge.compliance.service import check_text

    stated = "医疗器械注册证号见包装，适用范围：用于缓解颈椎疼痛。能缓解颈椎疼痛"
    assert [f.rule_id for f in check_text(stated, category="home", context="listing",
                                          facts=None).findings] == []
    beyond = "医疗器械注册证号见包装，适用范围：用于缓解颈椎疼痛。还能治疗糖尿病"
    assert [(f.rule_id, f.severity) for f in check_text(
        beyond, category="home", context="listing", facts=None).findings] == [
        ("MED-013", "violation")]


@pytest.mark.parametrize(("text", "category", "expected"), [
    ("用了这个理疗仪，不用吃药了", "medical_device", [("MED-016", "violation", "不用吃药")]),
    ("这款面膜是医用敷料", "cosmetics", [("MED-004", "violation", "医用敷料")]),
    ("喝了能修复胰岛", "food", [("MED-001", "violation", "修复胰岛")]),
])
def test_device_comparisons_cosmetic_wording_and_food_treatments(text, category, expected):
    assert _summary(text, category) == expected


@pytest.mark.parametrize(("text", "category", "expected"), [
    ("喝了能修复肝脏", "food", [("MED-017", "violation", "肝脏")]),
    ("这个垫子能改善肠胃", "home", [("MED-017", "violation", "肠胃")]),
    ("枕头高度可调，能保护颈椎", "home", []),
    ("护腰带宽12厘米，魔术贴调节松紧", "apparel", []),
])
def test_effects_on_organs_need_an_effect_verb_right_before(text, category, expected):
    assert _summary(text, category) == expected


@pytest.mark.parametrize(("text", "category"), [
    ("本品不适用于糖尿病患者", "food"),
    ("不适宜人群：少年儿童、孕妇、高血压患者", "health_food"),
    ("使用说明：用于家庭日常清洁，不用于治疗疾病", "home"),
    ("如出现湿疹、皮炎等不适，请立即停用并就医", "cosmetics"),
])
def test_label_warnings_naming_diseases_are_not_claims(text, category):
    assert [f for f in check(text, category, "listing", None) if f.severity == "violation"] == []


def test_the_army_and_the_space_programme_named_as_endorsers():
    assert _summary("军工品质的保温杯", "home") == [("END-001", "violation", "军工品质")]
    assert _summary("航天员专用的奶粉", "food") == [("END-001", "violation", "航天员专用")]
    assert _summary("军绿色的冲锋衣，耐脏好搭", "apparel") == []
