"""Rendering: the terminal report of a check (rich), the quality report, and the Markdown
catalogue in docs/compliance.md (generated from the rule files)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from livepledge.compliance.catalogue import CATEGORY_NAMES, Catalogue, Rule
from livepledge.compliance.engine import Finding
from livepledge.compliance.evaluation import Evaluation

_STYLE = {"violation": "bold white on red", "warning": "black on yellow"}


def highlighted(text: str, findings: list[Finding] | tuple[Finding, ...]) -> Text:
    rich_text = Text(text)
    for finding in sorted(findings, key=lambda f: f.severity == "violation"):
        rich_text.stylize(_STYLE[finding.severity], finding.start, finding.end)
    return rich_text


def _line_col(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{column}"


def print_check(console: Console, name: str, text: str, findings: tuple[Finding, ...]) -> None:
    violations = sum(f.severity == "violation" for f in findings)
    warnings = len(findings) - violations
    console.print(highlighted(text, findings))
    console.print()
    if not findings:
        console.print(f"[green]✓ {name}：未发现问题 / no findings[/green]")
        return
    table = Table(show_lines=True, title=f"{name}：{violations} 处违规 / violations，"
                                         f"{warnings} 处提醒 / warnings")
    for column in ("位置 / at", "原文 / text", "级别 / severity", "规则 / rule",
                   "依据 / legal basis", "建议 / suggestion"):
        table.add_column(column, overflow="fold")
    for f in findings:
        severity = Text(f.severity, style=_STYLE[f.severity])
        rule = f"{f.rule_id} {f.title}" + (f"\n{f.note}" if f.note else "")
        table.add_row(_line_col(text, f.start), f.text, severity, rule, f.legal_basis,
                      f.suggestion)
    console.print(table)


def print_evaluation(console: Console, evaluation: Evaluation, *, show_misses: int) -> None:
    table = Table(title=f"合规检查质量 / checker quality on {evaluation.lines} lines")
    for column in ("family", "precision", "recall", "support"):
        table.add_column(column)
    for family in evaluation.families:
        tp, _, fn = evaluation._counts(family)
        table.add_row(family, f"{evaluation.precision(family):.3f}",
                      f"{evaluation.recall(family):.3f}", str(tp + fn))
    table.add_row("[bold]overall[/bold]", f"[bold]{evaluation.precision():.3f}[/bold]",
                  f"[bold]{evaluation.recall():.3f}[/bold]",
                  str(sum(evaluation._counts(None)[::2])))
    console.print(table)
    data = evaluation.to_dict()
    console.print(f"难负例误报率 / hard-negative FP rate: {data['hard_negative_fp_rate']:.3f} "
                  f"({evaluation.hard_negative_flagged}/{evaluation.hard_negatives})")
    console.print(f"规避样例检出率 / evasion recall: {data['evasion_recall']:.3f} "
                  f"({evaluation.evasions_caught}/{evaluation.evasions})")
    console.print(f"需举证提醒 / expected warnings found: {evaluation.warnings_found}/"
                  f"{evaluation.warnings_expected}")
    verdict = "[green]达标 / targets met[/green]" if evaluation.meets_targets \
        else "[red]未达标 / targets not met[/red]"
    console.print(f"目标 / targets: P ≥ 0.95, R ≥ 0.95 — {verdict}")
    for miss in evaluation.misses[:show_misses]:
        console.print(f"  [dim]{miss.id}[/dim] expected={miss.expected} got={miss.predicted} "
                      f"{miss.text}", markup=False)


# --- Markdown catalogue --------------------------------------------------------------------

_INTRO = """# 合规检查规则目录 / Compliance rule catalogue

> 本文件由规则数据文件生成，请勿手工编辑 / Generated from `src/livepledge/compliance/rules/*.toml`
> by `livepledge compliance catalogue --markdown > docs/compliance.md`; a test fails when it is
> stale.

The checker (features F15–F17) reviews pre-live scripts (话术脚本), listings, live transcript
segments and chat. It is a pure function, `check(text, category, context, facts) -> findings`;
each finding has the span in the original text, the rule id, the family, a severity
(`violation` blocks, `warning` asks for evidence), the legal basis and a suggested rewording.

## 如何归一化 / How the checker normalises

Before matching, the text is folded character by character with one translation table, keeping an
index back to the original offsets (spans are code-point offsets in the original text):

- full-width → half-width (ＶＸ → vx), upper → lower case, pinyin tone marks dropped (zuì → zui);
- traditional → simplified (OpenCC `t2s`, per character, so offsets are kept: 最後一天發貨);
- emoji that stand for characters are read as them: 🍑 → 桃, 🐂 → 牛, ✌ → v, enclosed and
  regional-indicator letters (🆅🆇, 🇻🇽, Ⓥ) → vx; emoji that stand for a word (🐧 → 企鹅,
  📞/☎ → 电话, 📱 → 手机, 💯 → 百分百) are written out before folding and the spans mapped back,
  so 加🐧号 and 去🍑宝 keep their meaning;
- other spaces, symbols, emoji (❤, 🔥, 👍 used as padding) and zero-width characters
  inserted between characters are removed (最 好, 薇❤信, V-X, 微.信, 全网🔥最低🔥价);
  weak punctuation (，、：；) is removed for matching but still ends a
  clause for context checks; sentence ends (。！？ newline) are kept, so no match crosses them;
- circled digits and ➕/＋ are folded (①→1, ➕→+);
- the rule patterns are expanded at compile time with pinyin spellings (zui好, 最hao, weixin) and
  listed homophones (薇信, 威信, 卫星, 扣扣, 绿泡泡), so the text is never converted to pinyin;
- phone and QQ numbers are found as runs of digits, Chinese numerals (一三八…, 壹贰叁, 幺) or
  both, spaced or dashed, after the normalisation above.

One Aho-Corasick pass over the normalised text finds both candidate terms and exemption terms;
the context checks below run only around candidates.

## 如何判断语境 / How context is judged

- **Exemption terms** covering a candidate cancel it: 最近, 最快明天发货, 第一次, 一级能效 are never
  candidates; 招财猫, 转运珠 are object names; 微信支付, 卫星定位, 企鹅玩偶 are not contact handles.
- **Word boundaries**: a Latin candidate inside a longer word (vx in `vxyz`, v in `vip`) or a
  digit candidate inside a longer number is not a match.
- **Cue words**: ambiguous terms need a cue nearby in the same clause (第一 needs 销量/品质/是…;
  微信 needs 加/私/号/群…; 母乳 needs 接近/媲美/替代…; a disease needs 治/预防/告别…). For rules
  marked `word_cues` (最好, the diversion rules) a one-character cue or exempting suffix counts
  only as a word of its own: the clause around the candidate is cut into words (rjieba, dictionary
  only, and only when such a cue is found), so 来 is no cue in 来源/原来, 发 none in 发货, and 看 is
  advice in 最好看一下 but part of the claim 好看 in 最好看的.
- **Open-ended superlatives**: besides the listed stems, 最 + a word of one to three characters +
  的/了 (最抗冻的, 最跟脚了) is a claim; time, order, logistics and quantity words (最近, 最后,
  最早, 最新, 最多), preference (我最喜欢的), features and moments (最大的特点是, 最冷的时候) are
  not.
- **Prefixes, suffixes**: 最好 followed by 冷藏/别/用温水 or preceded by 你/大家 is advice, not a
  claim; 最好的服务 is a service attitude; 力争做到最好 is a goal.
- **Negation** within a few characters before the term, in the same clause (我们不说最好, 不能代替
  药物, 不要加微信私下交易), but not 不错/不仅/不得不说; and, for claims, a negation or distancing
  word starting within four characters after the term, past the claim word (全网最低不敢说,
  最好用谈不上, 史上最强不算), but not 不是吹的/不是吗/不算夸张, which assert the claim.
- **Quotation**: a quoted term in a sentence about wording (广告法不让说"最"字) is a mention.
- **Self-comparison**: 本店/我们家/本系列/今天 right before the superlative, with no market-wide
  word (全网/行业/同类) in the sentence, compares within the seller's own range. A shop or brand
  word (我们店里, 自家, 本品牌 …) may stand anywhere earlier in the clause (这是我们店里目前卖得最好
  的一款), or in an earlier clause that names a range (本店上新的二十多款里，这款口碑最好), unless
  it owns the product (我们家的面霜是最好用的) or the sentence has a market-wide word. Scope words
  are found overlapping, longest first.
- **Anti-fraud warnings**: diversion and brushing terms in a sentence that warns buyers (谨防,
  诈骗, 平台不会…) are not diversion.
- **Dated and sourced facts**: a ranking claim with a date and a source becomes a warning asking to
  keep the evidence (《广告法》第十一条).
- **Brand and model names**: a term followed by ® or ™, or inside a brand name given in the facts.
- **Product category**: health-function claims are judged against the category (ordinary food may
  claim none; health food only its approved functions); special-use claims apply to cosmetics.
- **Facts** (F17): price history, real stock, real sales, scheduled price rises, registrations.
  Figures are read after the claim word (卖了两千单) or before it (两千单都卖出去了,
  三万多个家庭都在用, 10万宝妈的选择; Arabic or Chinese numerals with 万/千/百, 多, w/k):
  claimed sales or users above the real sales count are a violation, within it clean. A claim
  that needs a fact which is not given is reported as a **warning** asking for evidence.
- **Chat**: viewers are not advertisers, so advertising-claim families in chat are reported as
  warnings; diversion and fabricated data stay violations.

## 质量报告 / Quality report

```
livepledge compliance evaluate                 # corpus/compliance/*.jsonl
livepledge compliance evaluate --json          # machine-readable
python bench/compliance.py                     # speed, beside a bare Aho-Corasick scan
```

The labelled corpus in `corpus/compliance/` holds realistic live-selling speech, scripts,
listings and chat, with hard negatives and evasion attempts. Precision and recall count families
reported as violations; the targets are P ≥ 0.95 and R ≥ 0.95 (a test asserts them).

### Text the rules were not written beside / 外部评测集

```
livepledge compliance evaluate corpus/external   # lines collected from published cases
livepledge compliance evaluate --json corpus/external
python bench/compliance_context.py               # cost of the context layer beside the engine
```

`corpus/external/` holds 301 lines collected from public sources — regulators' published cases
of illegal live-commerce and advertising, news reports of those cases, platform rules and police
and platform anti-fraud notices — each with its source URL and title (see its README): 204
violating (207 family labels), 97 hard negatives. It is for measurement: rules are not written
from its lines. Targets on it (issue #15): precision ≥ 0.95, recall ≥ 0.90, hard-negative false
positives ≤ 3 %, no family below 0.80 recall.

Recall per family (support), then overall, measured on the whole set at each step: main before
this work (7c6cfe0), rule-maker lexicons, stated facts and rule statements, endorsement
lexicons (广告法 categories), stated prices and offers, warnings to buyers, codes and shelf-life:

| family (support) | before | lexicons | statements | endorsers | prices | warnings | codes |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| absolute (11) | 0.727 | 0.727 | 0.727 | 0.727 | 0.727 | 0.727 | 0.727 | 0.727 |
| diversion (1) | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 |
| endorsement (28) | 0.179 | 0.179 | 0.179 | 0.643 | 0.643 | 0.643 | 0.643 |
| fabricated_data (1) | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 |
| false_claim (39) | 0.359 | 0.359 | 0.359 | 0.359 | 0.359 | 0.359 | 0.359 |
| medical (113) | 0.398 | 0.504 | 0.504 | 0.504 | 0.504 | 0.504 | 0.504 |
| price (20) | 0.200 | 0.200 | 0.200 | 0.200 | 0.200 | 0.200 | 0.200 |
| **recall** | 0.361 | 0.418 | 0.418 | 0.479 | 0.479 | 0.479 | 0.479 |
| **precision** | 0.906 | 0.917 | 0.937 | 0.953 | 0.962 | 0.971 | 0.971 |
| hard-negative FP (of 97) | 6.2 % | 6.2 % | 4.1 % | 4.1 % | 3.1 % | 2.1 % | 2.1 % |

On `corpus/compliance/` (1,030 lines, 408 hard negatives) every step keeps precision 1.000,
recall 1.000 and 0 % hard-negative false positives.

The second pass (issue #15 again, branch `recall`) modelled the rule-makers' categories as claim
structures and lexicons, measuring on the external set only by its per-family figures. Steps:
the start of the pass (the `codes` column above), claim structures (price comparisons with other
sellers, urgency with no time, loss and factory prices; guaranteed outcomes, effortless results,
guaranteed returns; body-function and device-use claims, infant-formula claims, devices against
their registered use), endorsers II (officials, professionals, patients, misused experts' names;
unsourced research; pseudo-science), food and cosmetics (traditional-medicine efficacy, the
cosmetic catalogue's wording, stated device registrations), devices (comparisons with drugs and
surgery; more treatment words; medical wording for cosmetics), organs (an effect verb right
before an organ or body system, MED-017):

| family (support) | start | structures | endorsers II | food, cosmetics | devices | organs |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| absolute (11) | 0.727 | 0.727 | 0.727 | 0.727 | 0.727 | 0.727 |
| diversion (1) | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 |
| endorsement (28) | 0.643 | 0.643 | 0.679 | 0.679 | 0.679 | 0.679 |
| fabricated_data (1) | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 |
| false_claim (39) | 0.359 | 0.436 | 0.436 | 0.436 | 0.436 | 0.436 |
| medical (113) | 0.504 | 0.602 | 0.602 | 0.620 | 0.620 | 0.628 |
| price (20) | 0.200 | 0.400 | 0.400 | 0.400 | 0.400 | 0.400 |
| **recall** | 0.479 | 0.563 | 0.568 | 0.578 | 0.578 | 0.582 |
| **precision** | 0.971 | 0.968 | 0.968 | 0.969 | 0.969 | 0.969 |
| hard-negative FP (of 97) | 2.1 % | 3.1 % | 3.1 % | 3.1 % | 3.1 % | 3.1 % |

Three later steps (narrower evidence and traditional-medicine lexicons after a smoke test of
ordinary shop talk; sentences reporting a case and label warnings as context; the army and the
space programme named as endorsers) leave these figures unchanged. On `corpus/compliance/`
(1,122 lines, 459 hard negatives, with 92 new lines in
`rulemakers.jsonl`, each positive beside a hard negative) every step keeps precision 1.000,
recall 1.000 and 0 % hard-negative false positives.

Targets on the external set after the second pass: precision ≥ 0.95 **met** (0.969);
hard-negative false positives ≤ 3 % **not met** (3.1 %, 3 of 97 lines; one is a body-function
term, 促进血液循环, new in this pass); recall ≥ 0.90 **not met** (0.582); no family below 0.80
**not met** (only fabricated_data, with one line). Most of the remaining misses find no catalogue
word at all (counted, not read: 37 of the 42 medical misses, 21 of the 22 false_claim misses,
9 of the 12 price misses); a few are warnings that need facts the line does not carry. Several
structures added in this pass (guaranteed outcomes and returns, effortless results, pseudo-science,
unsourced research, infant-formula and device rules) change nothing on this set: they are there
for text it does not hold, and are tested on the lines written here.

Caveats, so the figures are read right: for the second pass, the brief named the claim structures
to model (comparisons with other platforms, urgency without a deadline, named endorsers, return
guarantees, effortless slimming, device uses), and that list came from the first pass's reading of
this set's misses, so the gains in those families are not independent of it; the first evaluation
of the second pass also printed nine missed lines before the figures were taken from `--json` only.
Four of those nine are caught now, and words from three of them are in the new lexicons (钟南山 in
the misused-names list, 降血粘/溶血栓 in `body_functions`, 新冠 in the disease list; the fourth is
caught by MED-002's wider cues): about two points of the recall gain (4 of 213 labels) are not
independent of this set. A set collected by someone else (`corpus/external2`) is the real check.
For the first pass: the set was collected and labelled by the same session that changed the rules,
and its misses were looked at when choosing which rule-makers' lists to add (the endorsement
lexicon came after its 0.18 recall on this set; its words come from the categories of
广告法第九条、第十六条、第十八条, not from the lines). A second labelling pass applied the README's
rules uniformly to nine lines (stock scarcity is `false_claim` in the engine's taxonomy; ordinary
food naming a health function is also `medical`). Lines whose illegality needed an investigation
(日产80万瓶) were left out. A set collected by someone else would be the next check.

### The independent set / 独立评测集 (`corpus/external2`)

```
livepledge compliance evaluate --json corpus/external2
```

307 lines from 136 public sources none of which the first set used (see its README), collected
and labelled by an engineer who did not read or change the rules, and measured twice: on main
before the recall work above, and after it. Nobody tuned on it; its misses were not read for
rule development.

| family (support) | before | after the recall work |
| --- | ---: | ---: |
| absolute (17) | 0.647 | 0.647 |
| diversion (8) | 0.375 | 0.375 |
| endorsement (17) | 0.235 | 0.235 |
| fabricated_data (15) | 0.467 | 0.467 |
| false_claim (31) | 0.161 | 0.194 |
| medical (91) | 0.495 | 0.571 |
| price (10) | 0.000 | 0.100 |
| **recall** | 0.397 | 0.444 |
| **precision** | 0.743 | 0.757 |
| hard-negative FP (of 120) | 13.3 % | 13.3 % |

This is the honest measure of the engine on text it has never seen, and **every target is far
from met**: recall 0.44 (target 0.90), precision 0.76 (0.95), 13 % of lawful lines flagged (3 %).
The first external set overstated the engine (0.58 recall, 3 % false positives after its own
tuning); the gain the recall work made there carried over only in part (+0.05 recall here,
+0.10 there). What it says about the approach: a catalogue of words and claim structures keeps
finding the phrasing its authors thought of; real sellers' claims are mostly phrased otherwise
(most misses on the first set contained no catalogue word at all), and ordinary shop talk trips
words that are claims elsewhere.

Cost: the context layer (`compliance/statements.py`) adds 25 % CPU per line to the engine
(`python bench/compliance_context.py --rounds 21`: 23.7 → 29.7 µs per line over 1,331 lines,
same run, shared machine). The lexicons make the automaton larger for the engine and for the bare
Aho-Corasick scan alike; `bench/compliance.py --rounds 8`, alternating main and this branch in one
session, gave CPU ratios to the bare scan of 7.3 / 7.3 (main) and 7.1 / 7.0 (branch) on the corpus
mix and 5.0 / 5.0 (main) and 4.5 / 4.8 (branch) on the chat mix: no worse. (The issue's ≤ 3 ×
target is not met by the engine on main either; speed is another change's work.)

Cost of the second pass: the automaton grows from 24,967 to 33,241 keys. `bench/compliance.py
--rounds 5`, main's engine and this branch's run one after the other on the same 976 lines (the
branch's corpus), load average 5.0: CPU per line 11.2 → 11.7 µs (corpus mix) and 8.5 → 8.6 µs
(chat mix); CPU ratio to the bare scan 6.05 → 6.04 and 4.56 → 4.03; 1 MiB adversarial text
0.78 → 0.77 s CPU (its text is drawn from each side's own lexicon). Earlier runs in the same
session under load 7–8 spread by ±20 % either way; no material change. The check stays linear:
rules add patterns and cue words, not passes.

### Lexicons / 词表

Word lists from the rule-makers live in `src/livepledge/compliance/rules/lexicons/*.toml`, each
with its `source`; a rule names the lexicons it uses (`lexicons = ["diseases"]`) and their terms
(`groups`) or keyed words (`keys`) are added to its own when the catalogue is compiled:

- `diseases`: disease and symptom vocabulary by body system (GB/T 14396 chapters, colloquial
  forms), for MED-002 (needs a cure or prevention cue);
- `cosmetic_medical_terms`: medical wording a cosmetic may not use (《化妆品命名指南》,
  《化妆品标签管理办法》), for MED-004;
- `cosmetic_special_uses`: special-use categories and their catalogue wording
  (《化妆品监督管理条例》第十六条, 《化妆品分类规则和分类目录》), for MED-005;
- `health_functions`: the 24 functions a health food may be approved for (2023 catalogue), for
  MED-006;
- `efficacy_evidence`: claims that need evidence under 《化妆品功效宣称评价规范》; its specific
  claims (敏感肌适用, 无泪配方, 温和无刺激) are MED-009 warnings asking for the evaluation report.
- `endorsers`: state organs, hospitals, institutes, experts and media that may not vouch for goods
  (《广告法》第九条第（二）项、第十六条、第十八条), for END-003 (needs 推荐/指定/认证/合作 …);
- `quality_exemption`: 免检 and its variants (《产品质量法》第十五条; exemption abolished 2008), for
  END-001;
- `superstition`: 风水 wording (《广告法》第九条第（八）项, 《房地产广告发布规定》第八条), for
  END-002.

- `other_sellers`: platforms, channels and other sellers a price may be compared with
  (《明码标价和禁止价格欺诈规定》第十三条、第十九条第（三）项), for PRC-006 (needs 比 before and
  便宜/低/省 after);
- `open_urgency`: rises and ends announced with no time (随时涨价, 错过就没有了; 第十九条第（四）
  （五）项, 《价格违法行为行政处罚规定》第七条), for PRC-007 (a violation unless `facts` say a
  rise is scheduled, then a warning asking for the time);
- `price_labels`: loss, cost and factory prices (亏本清仓, 成本价卖, 出厂价), for PRC-008;
- `outcomes` and `body_outcomes`: outcomes that may not be guaranteed — exams (第二十四条),
  returns (第二十五条), yields (第二十七条), body and health results (第十六条、第十八条、
  第二十八条) — used as cue words after a guarantee (保证, 包你, 一定能) by FC-014; `effortless`
  (不节食, 不运动, 躺着) followed by a body outcome is FC-015; FC-016 lists return guarantees
  (稳赚不赔, 保本, 只涨不跌);
- `evidence_claims`: research, tests and surveys cited as proof (《广告法》第十一条、第二十八条),
  for FC-017 (a warning when the sentence gives a source and a date);
- `pseudo_science`: quantum, terahertz, "energy", negative ions, far infrared …, for FC-018 (needs
  a body effect after them);
- `body_functions`: effects only drugs and registered devices may claim (改善血液循环, 疏通经络,
  净化血液, 理疗; 《医疗器械分类目录》09、20类, 《广告法》第十七条), for MED-010 on general goods
  and food; MED-011 reports health-food functions (调节血压, 增强免疫力) claimed by goods that are
  not food;
- `infant_formula_claims`: functional claims an infant formula may not make (益智, 保护肠道,
  防过敏; 《婴幼儿配方乳粉产品配方注册管理办法》第三十五条), for MED-014;
- `body_systems`: organs and body systems (GB/T 14396 chapters), for MED-017 (needs an effect verb
  right before: 修复肝脏, 改善肠胃);
- `tcm_functions`: traditional-medicine efficacy (清热解毒, 补血益气, 润肺止咳;
  《中国药典》功能与主治 wording, 《食品安全法》第三十八条、第七十三条), for MED-015 on food.

A rule may also take a lexicon's terms as cue words (`cue_lexicons_after`, `cue_lexicons_before`).
END-004 (no lexicon) reports spokespersons (代言人, 品牌挚友, 明星推荐) in health-food and
medical-device texts (《广告法》第十六条、第十八条). For medical devices, MED-012 reports efficacy
assertions (颈椎病全好了), MED-016 comparisons with drugs, surgery and hospitals (不用吃药,
代替手术; 第十六条第一款第（三）项), and MED-013 disease claims, checked against
`registered_uses`.

### Facts the text states / 文本自述的事实

`compliance/statements.py` runs around the engine (linear in the text).

- A cosmetic text that says it is an ordinary cosmetic (普通化妆品, 妆字号, 普通备案, 非特殊化妆品,
  没有特证) is judged as if `facts` said `special_cosmetic_uses: []`: its special-use claims are
  violations, not warnings (facts given decide over the text).
- A sentence that states a rule before the term (不得宣称…, 严禁…, …均为违法, 规定…) is a
  mention, unless a contrast (但是, 不过) comes between; so is a sentence that reports a case
  (被罚款, 涉嫌, 立案, 违反《…》: regulators' and news wording, never a seller's pitch).
- Label warnings that name a disease (不适用于糖尿病患者, 不适宜人群：高血压患者) are not claims:
  不适用, 不适宜 and 不宜 negate medical terms.
- A reference price (原价, 吊牌价) that the same sentence says was never charged
  (从来没卖过这个价) is a violation; 只有前N单 in a text that says every order gets it
  (每一单都送) is false scarcity (FC-003).
- A contact or payment term in a clause that opens with a prohibition to the buyer (不要…,
  请勿…, 拒绝…) is the shop's warning, unless the speaker offers their own handle.
- A ranking word inside an identifier (色号No.1, TOP1-X200, No.1号链接) names a shade or model;
  最佳食用期 and similar consumer tips are exempt (《广告绝对化用语执法指南》); 不含/不添加 negate
  medical terms.

- A text in another category that names a medical-device registration (医疗器械注册证, 械备, 械注准)
  and states the intended use (适用范围：…) is judged as a medical device whose registered use is
  the one it states.

`check --jsonl` takes an optional `facts` object on each line (same fields as `--facts`); a bad
facts object is an error naming the line, like an unknown category. `registered_uses` (a list of
strings: the intended uses on a medical device's registration or filing certificate) decides
MED-013: a disease the uses do not name is a violation; without it the claim is a warning.

## 命令行 / Command line

```
livepledge compliance check script.txt --category cosmetics --context speech
livepledge compliance check --jsonl - < items.jsonl > results.jsonl
```

Exit status: 0 no violation, 1 a violation (with `--jsonl`: in any line), 2 bad input. Bad input
is an empty file, a file of only NUL bytes (a binary file), text that is not UTF-8, an unknown
category or context, and with `--jsonl` an input without any line or any bad line (each bad line
still gets an output line with an `error` field, and its number on stderr).

## 限制与速度 / Limits and speed

- **Work is linear in the text.** One Aho-Corasick pass finds every candidate; the context
  checks look at a bounded window around each; overlaps are resolved with maps from positions
  to the shields, longer matches, overriding families and merged findings that cover them, so
  each candidate costs as many steps as it has characters, never a comparison with every other
  candidate (a line with only a few is still resolved pairwise, the cheapest then). (The
  pairwise resolution before issue #16 was quadratic: 100,000 characters of
  `全网最低价加微信` took about two minutes of CPU; now under a second.) A test counts the engine's
  executed lines on dense overlapping matches at two sizes; `bench/compliance.py` times 1 MB of
  such text beside a bare scan ([benchmarks.md](benchmarks.md)): 0.80 s of CPU for 1 MiB
  (486,663 characters, 276,549 matches, 64,295 findings; 1.78 s before the long-text path), a
  quarter of it 0.19 s, 19 × a bare Aho-Corasick scan of the same normalised text. The < 1 s
  target is **met**; ≤ 3 × the bare scan is not: the cost left is the context checks around
  each match (a few µs each). Texts over 256 normalised characters take a long-text path with
  the same checks and flat integer bookkeeping (packed candidates, bytearray covers, parallel
  lists of claims); its findings are pinned equal to the short-text path's
  (tests/compliance/test_engine_equivalence.py).
  Chat lines: 13 µs of CPU per line on the chat mix, 5.1 × the bare scan (target 3 ×, not met).
- **`POST /api/v1/compliance/check`** is open to anyone, so it is bounded: at most 20,000
  characters per request, a batch's texts counted together (`LIVEPLEDGE_COMPLIANCE_CHECK_MAX_CHARS`;
  more is `413 payload_too_large`), and at most 60 requests per client address per minute
  (`LIVEPLEDGE_COMPLIANCE_CHECKS_PER_ADDRESS`, `LIVEPLEDGE_COMPLIANCE_CHECK_WINDOW_SECONDS`; more
  is `429 rate_limited` with `Retry-After`), counted in the same throttle as logins (shared by
  all workers through Redis when scaled out). A refused request is not checked; an oversized one
  is not counted.
- **Staff texts**: a pre-live script at most 20,000 characters, a transcript segment 2,000, a
  correction 2,000; the command line and the engine itself accept up to 100,000 characters.
- **Startup**: the catalogue is compiled when the server starts (about 0.5–1.5 s), not on the
  first chat message of a live session.

## 商品类目 / Categories

"""


def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _rule_markdown(rule: Rule) -> list[str]:
    categories = "全部 / all" if len(rule.categories) >= 10 else \
        "、".join(CATEGORY_NAMES[c].split(" / ")[0] for c in sorted(rule.categories))
    lines = [f"### {rule.id} {rule.title}", "", rule.description, "",
             f"- 依据 / legal basis: {rule.legal_basis}",
             f"- 级别 / severity: `{rule.severity}`"
             + (f" (chat: `{rule.chat_severity}`)" if rule.chat_severity else ""),
             f"- 类目 / categories: {categories}"]
    if rule.verify:
        lines.append(f"- 用事实核对 / checked against facts: `{rule.verify}`")
    terms = list(rule.patterns[:24]) + [w for _, words in rule.keys for w in words][:24]
    if terms:
        more = " …" if len(rule.patterns) > 24 else ""
        lines.append(f"- 词条 / terms: {'、'.join(terms)}{more}")
    if rule.exempt_terms:
        lines.append(f"- 不算 / exempt: {'、'.join(rule.exempt_terms[:16])}")
    lines.append(f"- 建议改写 / suggestion: {rule.suggestion}")
    lines += [f"- 例（违规）/ example: 「{e}」" for e in rule.examples]
    lines += [f"- 例（合规）/ lawful: 「{e}」" for e in rule.lawful_examples]
    lines.append("")
    return lines


def catalogue_markdown(catalogue: Catalogue) -> str:
    lines = [_INTRO.rstrip("\n"), ""]
    lines += [f"- `{code}`: {name}" for code, name in CATEGORY_NAMES.items()]
    lines += ["", "## 规则 / Rules", ""]
    for family in catalogue.families:
        lines += [f"## {family.name} (`{family.id}`)", "", family.summary, ""]
        for rule in catalogue.rules:
            if rule.family == family.id:
                lines += _rule_markdown(rule)
    return "\n".join(lines).rstrip("\n") + "\n"
