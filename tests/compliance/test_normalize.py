"""Normalisation keeps an exact map back to the original text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.compliance.engine import check
from livepledge.compliance.normalize import EMOJI_WORDS, expand, normalize

_ALPHABET = st.sampled_from(
    [*"最好用的加微信薇VXvx扣QQ第一次近后 ❤*-_.，。！“”１２3８國宴開光全網低價", "😀", "🐧", "🍑",
     "📞", "✌", "🆅", "☎"])


def test_folding_joins_padded_and_disguised_text():
    view = normalize("最 好，ＶＸ：薇❤信。國宴")

    assert view.norm == "最好vx薇信。国宴"
    assert view.original_span(0, 2) == (0, 3)
    assert view.original_span(2, 4) == (4, 6)


def test_traditional_and_full_width_are_folded():
    assert normalize("全網最低價ＮＯ．１").norm == "全网最低价no1"


@given(st.text(_ALPHABET, max_size=40))
def test_index_maps_every_normalised_character_to_the_same_character_origin(text):
    view = normalize(text)
    for i in range(len(view.norm)):
        start, end = view.original_span(i, i + 1)
        assert end == start + 1
        assert view.folded[start] == view.norm[i]


@settings(deadline=None)  # the first example compiles the catalogue
@given(st.text(_ALPHABET, max_size=40), st.sampled_from(["speech", "chat", "listing"]))
def test_finding_spans_always_lie_inside_the_original_text(text, context):
    for finding in check(text, "general", context):
        assert 0 <= finding.start < finding.end <= len(text)
        assert text[finding.start:finding.end] == finding.text


def test_emoji_standing_for_one_character_are_folded_in_place():
    view = normalize("加✌去🍑宝🆅🆇")

    assert view.norm == "加v去桃宝vx"
    assert view.original_span(3, 5) == (3, 5)


@given(st.text(_ALPHABET, max_size=40))
def test_emoji_expansion_maps_every_character_back(text):
    expansion = expand(text)
    for i in range(len(expansion.text)):
        start, end = expansion.original_span(i, i + 1)
        assert end == start + 1
        char = text[start]
        assert char == expansion.text[i] or expansion.text[i] in EMOJI_WORDS.get(char, "")


def test_control_characters_in_a_text_are_noise_not_markers():
    # Found by the OpenAPI conformance run (a 500): a literal "\x03" is the EXPAND marker, and
    # checking it recursed without end. The markers a text may carry are plain noise.
    from livepledge.compliance.engine import check as check_text
    from livepledge.compliance.normalize import EXPAND, NOISE, QUOTE, WEAK, fold

    folded = fold(f"a{EXPAND}b{WEAK}c{QUOTE}d{NOISE}e\x1f")
    assert folded == f"a{NOISE}b{NOISE}c{NOISE}d{NOISE}e{NOISE}"
    assert check_text("\x08¢ô(\x03", "general", "script") == []
    assert [f.rule_id for f in check_text("全网最\x03低价", "general", "script")] == ["PRC-001"]
