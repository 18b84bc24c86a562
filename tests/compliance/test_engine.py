"""The checker judged on single sentences: table-driven, exact rule ids and spans."""

import pytest

from livepledge.compliance.engine import check
from livepledge.compliance.facts import Facts


def _summary(text, category="general", context="speech", facts=None):
    return [(f.rule_id, f.severity, f.text) for f in check(text, category, context, facts)]


@pytest.mark.parametrize(("text", "category", "expected"), [
    ("这款面霜是全网最好用的", "cosmetics", [("ABS-009", "violation", "全网最好")]),
    ("zui好用的扫地机", "appliance", [("ABS-002", "violation", "zui好")]),
    ("這款是全網最好用的精華", "cosmetics", [("ABS-009", "violation", "全網最好")]),
    ("最*好*吃的芒果干", "food", [("ABS-002", "violation", "最*好")]),
    ("没有比它更好用的面霜了", "cosmetics", [("ABS-007", "violation", "没有比")]),
    ("销量No.1的防晒喷雾", "cosmetics", [("ABS-003", "violation", "No.1"),
                                          ("MED-005", "warning", "防晒")]),
    ("国宴同款的小酥肉", "food", [("END-001", "violation", "国宴")]),
    ("大师开光的手串", "jewelry", [("END-002", "violation", "开光")]),
    ("这个茶喝了能降血压", "food", [("MED-001", "violation", "降血压")]),
    ("配方无限接近母乳", "infant_formula", [("MED-007", "violation", "母乳")]),
    ("奶粉添加益生菌，提高免疫力", "infant_formula", [("MED-006", "violation", "提高免疫力")]),
    ("外面卖的都是假货", "general", [("FC-006", "violation", "都是假货")]),
    ("全网最低价，错过不再有", "general", [("PRC-001", "violation", "全网最低价"),
                                        ("PRC-007", "violation", "错过不再有")]),
    ("收到货五星好评返现5元", "general", [("FAB-002", "violation", "五星好评返现")]),
    ("薇❤信私我", "general", [("DIV-001", "violation", "薇❤信")]),
    ("家人们+卫星详聊", "general", [("DIV-001", "violation", "+卫星")]),
    ("扣扣：一二三四五六七八", "general", [("DIV-005", "violation", "一二三四五六七八")]),
])
def test_violations_are_found_with_rule_and_span(text, category, expected):
    assert _summary(text, category) == expected


@pytest.mark.parametrize(("text", "category"), [
    ("最近天气干燥，大家要注意补水", "cosmetics"),
    ("今天是活动最后一天，最后一天发货哦", "general"),
    ("第一次用这个牌子的面霜，感觉很滋润", "cosmetics"),
    ("最好冷藏保存，开封后三天内吃完", "food"),
    ("你最好早点下单", "general"),
    ("一级能效，变频节能", "appliance"),
    ("特级初榨橄榄油，冷压工艺", "food"),
    ("我们不说最好，只说适合你的", "cosmetics"),
    ("广告法不让说“最”字，我就说这个很好用", "cosmetics"),
    ("本店最受欢迎的一款，回购率很高", "general"),
    ("唯一的缺点就是瓶子有点重", "cosmetics"),
    ("我们力争做到最好，给大家最好的服务", "general"),
    ("招财猫造型的陶瓷存钱罐", "home"),
    ("本品不能代替药物", "health_food"),
    ("支持微信支付和支付宝", "general"),
    ("平台不会让你加微信私下转账，谨防诈骗", "general"),
    ("有问题私信客服，平台全程保障", "general"),
    ("大家加入粉丝团，有专属福利", "general"),
    ("支持卫星定位，导航更精准", "appliance"),
    ("这件开衫扣扣子的时候注意别太紧", "apparel"),
    ("订单号 20240512880012 已发货了吗", "general"),
    ("我们从不刷单，销量都是平台真实统计", "general"),
])
def test_lawful_text_has_no_findings(text, category):
    assert _summary(text, category) == []


def test_claim_without_facts_is_a_warning_asking_for_evidence():
    findings = check("只剩最后3件了", "general", "speech")

    assert [(f.rule_id, f.severity) for f in findings] == [("FC-003", "warning")]
    assert findings[0].note.startswith("需要提供证据")


@pytest.mark.parametrize(("stock", "expected"), [(500, [("FC-003", "violation", "只剩")]),
                                                 (3, [])])
def test_stock_claim_is_checked_against_real_stock(stock, expected):
    assert _summary("只剩3件了", facts=Facts(stock_remaining=stock)) == expected


@pytest.mark.parametrize(("lowest_7d_fen", "severity"), [(9900, "violation"), (29900, None)])
def test_reference_price_is_checked_against_7_day_lowest(lowest_7d_fen, severity):
    findings = check("原价299，今天只要99", "general", "speech",
                     Facts(lowest_price_7d_fen=lowest_7d_fen))

    assert [f.severity for f in findings] == ([severity] if severity else [])


@pytest.mark.parametrize(("facts", "expected"), [
    (None, [("MED-005", "warning", "美白淡斑")]),
    (Facts(special_cosmetic_uses=()), [("MED-005", "violation", "美白淡斑")]),
    (Facts(special_cosmetic_uses=("美白",)), []),
])
def test_special_use_cosmetics_need_registration(facts, expected):
    assert _summary("这款精华美白淡斑", "cosmetics", "listing", facts) == expected


def test_health_food_may_claim_its_approved_function_only():
    facts = Facts(has_health_food_approval=True, approved_health_functions=("有助于增强免疫力",))

    assert _summary("增强免疫力", "health_food", facts=facts) == []
    expected = [("MED-006", "violation", "改善睡眠")]
    assert _summary("改善睡眠", "health_food", facts=facts) == expected


def test_advertising_claims_in_viewer_chat_are_warnings_but_diversion_is_not():
    assert _summary("最好吃的坚果", "food", "chat") == [("ABS-002", "warning", "最好")]
    assert _summary("加我vx", "general", "chat") == [("DIV-001", "violation", "vx")]


def test_dated_and_sourced_ranking_is_a_warning():
    text = "据2024年某机构发布的榜单，本品销量第一"

    assert _summary(text) == [("ABS-003", "warning", "销量第一")]


def test_category_decides_which_rules_apply():
    assert _summary("防晒衣UPF50+，面料透气", "apparel") == []
    assert _summary("燕麦片能降脂刮油", "food") == [("MED-006", "violation", "降脂"),
                                                   ("MED-006", "violation", "刮油")]


def test_unknown_category_or_context_is_refused():
    with pytest.raises(ValueError):
        check("你好", "cars", "speech")
    with pytest.raises(ValueError):
        check("你好", "general", "radio")


# --- engine gaps found on the blind corpus (issue 3 review) -------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    # a shop or brand scope anywhere earlier in the clause limits the comparison
    ("这是我们店里目前卖得最好的一款", []),
    ("本店今年卖得最火的一款", []),
    ("自家这么多款里头卖得最火的就是它", []),
    ("咱家店里今年卖得最好的就是这件", []),
    # an earlier clause naming a range in the shop scopes the comparison too
    ("本店上新的二十多款里，这款口碑最好", []),
    ("我们家这么多颜色里面，卖得最好的是奶白", []),
    ("全网那么多店里，我们家卖得最好", [("ABS-002", "violation", "最好")]),
    # ... but not when the clause widens it to the market
    ("我们店里卖的是全网最好的", [("ABS-009", "violation", "全网最好")]),
    ("本店这款是行业里卖得最火的", [("ABS-001", "violation", "最火")]),
    # a possessive shop word names the product's owner, not the comparison's scope
    ("我们家的面霜是最好用的", [("ABS-002", "violation", "最好")]),
    # a time word scopes only when it stands right before the superlative
    ("今天给大家带来最好吃的芒果干", [("ABS-002", "violation", "最好")]),
])
def test_self_scope_anywhere_earlier_in_the_clause(text, expected):
    assert _summary(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("全网最低不敢说，但是真的很划算", []),
    ("全网最便宜谈不上，性价比还可以", []),
    ("最好用谈不上，但是性价比不错", []),
    ("行业最高不敢讲，反正我们自己测过", []),
    ("史上最强不算，但是够用了", []),
    # assertions that only look like negations
    ("全网最便宜不是吹的", [("PRC-001", "violation", "全网最便宜")]),
    ("这个是最好的不是吗", [("ABS-009", "violation", "是最好")]),
    ("说它行业最强一点都不算夸张", [("ABS-011", "violation", "行业最强")]),
])
def test_negation_after_the_whole_phrase(text, expected):
    assert _summary(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("加🐧号详聊", [("DIV-001", "violation", "加🐧号")]),
    ("想要的加🐧私聊", [("DIV-001", "violation", "加🐧")]),
    ("去🍑宝搜同名店", [("DIV-004", "violation", "🍑宝")]),
    ("想要的加✌详聊", [("DIV-001", "violation", "加✌")]),
    ("家人们加🆅🆇详聊", [("DIV-001", "violation", "🆅🆇")]),
    ("有事打📞联系我", [("DIV-003", "violation", "📞联系")]),
    ("这款真的是最🐂的", [("ABS-009", "violation", "是最🐂")]),
    # emoji that stand for characters make no claim of their own
    ("🐧企鹅玩偶超可爱，抱着睡很舒服", []),
    ("今天的🍑子特别甜，汁水很多", []),
    ("👍👍质量很好，已经回购", []),
])
def test_emoji_standing_for_characters(text, expected):
    assert _summary(text) == expected


def test_emoji_expansion_keeps_spans_in_the_original_text():
    text = "家人们：加🐧号 138 0013 8000"
    for finding in check(text, "general", "chat"):
        assert text[finding.start:finding.end] == finding.text
    assert [f.text for f in check(text, "general", "chat")] == ["加🐧号", "138 0013 8000"]


@pytest.mark.parametrize(("text", "sales", "expected"), [
    ("三万多个家庭都在用", 100, [("FC-013", "violation", "个家庭都在用")]),
    ("三万多个家庭都在用", 50_000, []),
    ("三万多个家庭都在用", None, [("FC-013", "warning", "个家庭都在用")]),
    ("10万宝妈的选择", 2000, [("FC-013", "violation", "万宝妈的选择")]),
    ("10万宝妈的选择", 200_000, []),
    ("1.2w位宝妈都在用", 5000, [("FC-013", "violation", "位宝妈都在用")]),
    ("两千单都卖出去了", 100, [("FC-002", "violation", "卖出去")]),
    ("两千单都卖出去了", 5000, []),
    ("两千单都卖出去了", None, [("FC-002", "warning", "卖出去")]),
    ("卖了两千单", 100, [("FC-002", "violation", "卖了")]),
    ("卖了两千单", 5000, []),
    # a price before the verb is no sales figure
    ("99元卖了，赶紧拍", None, []),
])
def test_numbers_before_the_claim_word_are_checked_against_sales(text, sales, expected):
    facts = None if sales is None else Facts(sales_count=sales)
    assert _summary(text, facts=facts) == expected


@pytest.mark.parametrize(("text", "category", "expected"), [
    ("数据来源于淘宝", "general", []),
    ("原来淘宝也有卖，不过我们更便宜", "general", []),
    ("发货后微信通知您", "general", []),
    ("这个视频最好看到最后再下单", "general", []),
    ("这条裙子最好看", "apparel", [("ABS-002", "violation", "最好")]),
    ("最好看的裙子就是这条", "apparel", [("ABS-002", "violation", "最好")]),
    ("来淘宝下单更便宜", "general", [("DIV-004", "violation", "淘宝")]),
    ("加我微信发你优惠券", "general", [("DIV-002", "violation", "微信")]),
])
def test_cue_words_are_matched_as_words(text, category, expected):
    assert _summary(text, category) == expected


@pytest.mark.parametrize(("text", "category", "expected"), [
    ("这款最抗冻的羽绒服", "apparel", [("ABS-013", "violation", "最抗冻")]),
    ("这双鞋最跟脚了", "apparel", [("ABS-013", "violation", "最跟脚")]),
    ("这是同价位里最能扛的一台", "appliance", [("ABS-013", "violation", "最能扛")]),
    # time, order, logistics and quantity words
    ("最近的快递站就在楼下", "general", []),
    ("最后的三件给新来的家人", "general", []),
    ("最早的一批已经发出去了", "general", []),
    ("最新款的手机壳到货了", "digital", []),
    ("最多的时候一天发两千单", "general", []),
    # preference, features, advice: not a claim about the product
    ("我最喜欢的颜色是这个奶白", "apparel", []),
    ("这款最大的特点是轻", "appliance", []),
    ("最简单的办法是先用温水泡一下", "home", []),
    ("最冷的时候穿这件就够了", "apparel", []),
    # the 2023 SAMR lawful cases still hold
    ("本店最抗冻的一款，回购很多", "apparel", []),
    ("我们不说最抗冻的，只说实测数据", "apparel", []),
])
def test_open_ended_superlatives(text, category, expected):
    assert _summary(text, category) == expected
