"""Self-contained HTML audit report with inline SVG charts (no network, no script), and JSON.

`render_html(data)` takes the dict assembled by `service.build_report` — the same dict that
`--json` writes — so the two outputs never disagree.
"""

from __future__ import annotations

from html import escape
from typing import Any

import orjson

WIDTH, HEIGHT, PAD = 760, 240, 44
COLORS = ("#c0392b", "#2471a3", "#7d3c98", "#1e8449")


def to_json(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _scale(values: list[float]) -> float:
    top = max([v for v in values if v is not None] + [0])
    return top if top > 0 else 1.0


def line_chart(title: str, labels: list[str], series: list[tuple[str, list[float]]]) -> str:
    """A line chart of one or more series over categorical x labels."""
    if not labels:
        return ""
    top = _scale([v for _, values in series for v in values])
    step = (WIDTH - 2 * PAD) / max(len(labels) - 1, 1)
    # One label (one day of data): a single point in the middle, drawn as a marker — a
    # polyline of one point would draw nothing.
    left = WIDTH / 2 if len(labels) == 1 else PAD
    parts = [_frame(title, top)]
    for index, (name, values) in enumerate(series):
        xy = [(left + i * step, HEIGHT - PAD - (v / top) * (HEIGHT - 2 * PAD))
              for i, v in enumerate(values)]
        color = COLORS[index % len(COLORS)]
        if len(xy) > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                         f'points="{points}"/>')
        if len(xy) <= 62:
            parts.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                f'<title>{escape(labels[i])} {escape(name)}: {values[i]:,.2f}</title></circle>'
                for i, (x, y) in enumerate(xy))
        parts.append(f'<text x="{WIDTH - PAD - 150}" y="{20 + 14 * index}" fill="{color}" '
                     f'font-size="12">■ {escape(name)}</text>')
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(f'<text x="{left + i * step:.1f}" y="{HEIGHT - PAD + 16}" '
                         f'font-size="10" text-anchor="middle">{escape(label)}</text>')
    return _svg(parts)


def bar_chart(title: str, items: list[tuple[str, list[float]]], names: list[str],
              percent: bool = False) -> str:
    """Grouped vertical bars: one group per item, one bar per name."""
    if not items:
        return ""
    top = 1.0 if percent else _scale([v for _, values in items for v in values])
    group = (WIDTH - 2 * PAD) / len(items)
    bar = max(group * 0.8 / max(len(names), 1), 1.0)
    parts = [_frame(title, top, percent)]
    for i, (label, values) in enumerate(items):
        for j, value in enumerate(values):
            h = (min(value, top) / top) * (HEIGHT - 2 * PAD)
            x = PAD + i * group + j * bar
            parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{bar:.1f}" '
                         f'height="{h:.1f}" fill="{COLORS[j % len(COLORS)]}">'
                         f'<title>{escape(label)} {escape(names[j])}: {value:,.3g}</title></rect>')
        if len(items) <= 30:
            parts.append(f'<text x="{PAD + (i + 0.4) * group:.1f}" y="{HEIGHT - PAD + 14}" '
                         f'font-size="9" text-anchor="middle">{escape(label[:10])}</text>')
    for j, name in enumerate(names):
        parts.append(f'<text x="{WIDTH - PAD - 150}" y="{20 + 14 * j}" '
                     f'fill="{COLORS[j % len(COLORS)]}" font-size="12">■ {escape(name)}</text>')
    return _svg(parts)


def timeline(title: str, rows: list[tuple[str, list[tuple[float, float]]]], start: float,
             end: float, start_label: str, end_label: str) -> str:
    """One lane per row, a red mark per (start, end) interval on a shared time axis."""
    if not rows or end <= start:
        return ""
    lane = 16
    height = PAD + lane * len(rows) + 30
    span = end - start
    parts = [f'<text x="{PAD}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (label, intervals) in enumerate(rows):
        y = PAD + i * lane
        parts.append(f'<text x="{PAD - 4}" y="{y + 11}" font-size="10" '
                     f'text-anchor="end">{escape(label[:12])}</text>')
        parts.append(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y + 7}" y2="{y + 7}" '
                     f'stroke="#ddd"/>')
        for lo, hi in intervals:
            x = PAD + (lo - start) / span * (WIDTH - 2 * PAD)
            w = max((hi - lo) / span * (WIDTH - 2 * PAD), 3.0)
            parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="10" '
                         f'fill="{COLORS[0]}"/>')
    parts.append(f'<text x="{PAD}" y="{height - 8}" font-size="10">{escape(start_label)}</text>')
    parts.append(f'<text x="{WIDTH - PAD}" y="{height - 8}" font-size="10" '
                 f'text-anchor="end">{escape(end_label)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img">' + "".join(parts) + "</svg>")


def _frame(title: str, top: float, percent: bool = False) -> str:
    label = f"{top * 100:.0f}%" if percent else f"{top:,.0f}"
    return (f'<text x="{PAD}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>'
            f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
            f'stroke="#888"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" '
            f'stroke="#888"/><text x="{PAD - 4}" y="{PAD + 4}" font-size="10" '
            f'text-anchor="end">{label}</text>')


def _svg(parts: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">' + "".join(parts) + "</svg>")


def table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p class=none>无 / none</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;
max-width:980px;color:#222;padding:0 1em}h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;
padding-bottom:.2em;margin-top:2em}table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.kpi{display:inline-block;margin:0 1.5em .8em 0}.kpi b{display:block;
font-size:1.4em}.none{color:#888}.note{color:#555;font-size:.85em}svg{max-width:100%}
"""


def label(data: dict[str, Any], kind: str, key: Any) -> str:
    """A shop, session or anchor by name when the report knows it ("name (id)"), else its id."""
    key = "" if key is None else str(key)
    name = (data.get("names") or {}).get(kind, {}).get(key)
    return f"{name} ({key})" if name and name != key else key


def render_html(data: dict[str, Any]) -> str:
    sections = [_overview(data), _brushing(data), _laundering(data), _viewers(data), _roi(data)]
    return (
        "<!DOCTYPE html><html lang=zh-CN><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>数据审计报告 / Audit report</title><style>{STYLE}</style></head><body>"
        "<h1>数据审计报告 / Integrity audit report</h1>"
        f"<p class=note>{escape(data['generated_for'])}</p>"
        + "".join(s for s in sections if s) + "</body></html>"
    )


def _kpi(label: str, value: str) -> str:
    return f"<span class=kpi>{escape(label)}<b>{escape(value)}</b></span>"


def _overview(data: dict[str, Any]) -> str:
    sales = data.get("sales")
    if not sales:
        return ""
    s = sales["summary"]
    days = sales["by_day"]
    chart = line_chart("每日 GMV：总额与净额 / Daily GMV gross vs net (¥)",
                       [d["key"][5:] for d in days],
                       [("总额 gross", [d["gross"] / 100 for d in days]),
                        ("净额 net", [d["net"] / 100 for d in days])])
    return (
        "<h2>销售：总额与净额 / Gross vs net sales</h2>"
        + _kpi("订单 / orders", f"{data['orders']['rows']:,}")
        + _kpi("总 GMV / gross", yuan(s["gross_fen"]))
        + _kpi("退款 / refunded", yuan(s["refunded_fen"]))
        + _kpi("净 GMV / net", yuan(s["net_fen"]))
        + _kpi("退款率 / return rate",
               pct(s["refunded_fen"] / s["gross_fen"] if s["gross_fen"] else None))
        + chart
    )


def _brushing(data: dict[str, Any]) -> str:
    b = data["brushing"]
    shops = b["shops"]
    lanes = [(label(data, "shop", s["shop_id"]),
              [(p["start_us"], p["end_us"]) for p in s["periods"]]) for s in shops[:25]]
    chart = timeline("刷单时段 / Brushing periods (first 25 shops)", lanes,
                     b["span"]["start_us"], b["span"]["end_us"], b["span"]["start"],
                     b["span"]["end"]) if lanes else ""
    rows = []
    for s in shops[:200]:
        periods = "; ".join(f"{p['start']} → {p['end']} ({p['orders']} 单/{p['buyers']} 人, "
                            f"≤{p['max_ratio']:.2f})" for p in s["periods"][:5])
        rows.append([label(data, "shop", s["shop_id"]), s["buyer_ids"], s["suspect_orders"],
                     s["orders_in_periods"],
                     periods, ", ".join(s["order_ids"][:12])])
    params = b["params"]
    step = params.get("step_seconds", "1")
    if step == "0":
        starts = "窗口起点任意（连续）/ windows start anywhere (continuous)"
    else:
        starts = f"窗口起点每 {step} 秒 / windows start every {step} s"
    return (
        "<h2>刷单 / Order brushing</h2>"
        f"<p>窗口 W = {params['window_seconds']} 秒，阈值 T = {params['threshold']}（订单数 ÷ "
        f"买家数）；可疑买家规则 {params['suspect_rule']}。/ Window W = "
        f"{params['window_seconds']} s, threshold T = {params['threshold']}. "
        f"{escape(starts)}.</p>"
        + _kpi("店铺 / shops", f"{b['summary']['shops']:,}")
        + _kpi("刷单店铺 / brushing shops", f"{b['summary']['brushing_shops']:,}")
        + _kpi("刷单时段订单 / orders in periods", f"{b['summary']['orders_in_periods']:,}")
        + chart
        + table(["店铺 shop", "可疑买家 suspects", "其订单 their orders", "时段订单 in periods",
                 "时段 periods (orders/buyers, max ratio)", "订单 orders"], rows)
    )


def _laundering(data: dict[str, Any]) -> str:
    sales = data.get("sales")
    if not sales:
        return ("<h2>退款洗单 / Return laundering</h2><p class=none>导出中没有金额列 / the "
                "export has no amount column</p>")
    anchors = sales["by_anchor"][:30]
    chart = bar_chart("主播退款率 / Return rate by anchor (top 30 by GMV)",
                      [(label(data, "anchor", a["key"]), [a["return_rate"]]) for a in anchors],
                      ["退款率 return rate"],
                      percent=True)
    sessions = sales["by_session"][:30]
    chart2 = bar_chart("场次退款率 / Return rate by session (top 30 by GMV)",
                       [(label(data, "session", a["key"]), [a["return_rate"]])
                        for a in sessions],
                       ["退款率 return rate"], percent=True)
    groups = [[", ".join(g["buyers"][:8]), g["orders"], yuan(g["gross"]), pct(g["refund_rate"]),
               g["late_refunds"], ", ".join(g["shared"][:3]), ", ".join(g["order_ids"][:8])]
              for g in sales["groups"][:100]]
    late = [[label(data, "anchor", a["anchor_id"]), a["late_orders"], yuan(a["late_refunded"]),
             yuan(a["commission_on_late_refunds"])] for a in sales["late_by_anchor"][:30]]
    s = sales["summary"]
    return (
        "<h2>退款洗单 / Return laundering</h2>"
        + _kpi("结算后退款 / refunded after cut-off", yuan(s["late_refunded_fen"]))
        + _kpi("已付佣金于退款销售 / commission on them",
               yuan(s["commission_on_late_refunds_fen"]))
        + _kpi("可疑买家组 / flagged groups", f"{s['groups_flagged']:,}")
        + chart + chart2
        + "<h3>可疑买家组 / Flagged buyer groups</h3>"
        + table(["买家 buyers", "订单 orders", "总额 gross", "退款率 refunded", "结算后 late",
                 "共享标识 shared", "订单 orders"], groups)
        + "<h3>结算后退款（按主播）/ Refunds after settlement by anchor</h3>"
        + table(["主播 anchor", "订单 orders", "退款 refunded", "佣金 commission"], late)
    )


def _viewers(data: dict[str, Any]) -> str:
    v = data.get("viewers")
    if not v:
        return ""
    if v.get("kind") == "minutes":
        return _minute_viewers(v, data)
    sessions = v["sessions"][:30]
    chart = bar_chart("观众与互动 / Raw vs engaged vs suspect viewers (top 30 sessions)",
                      [(label(data, "session", s["session_id"]),
                        [s["raw_viewers"], s["engaged_viewers"], s["suspect_viewers"]])
                       for s in sessions],
                      ["原始 raw", "互动 engaged", "可疑 suspect"])
    series = v.get("series") or []
    chart2 = line_chart(f"场次 {label(data, 'session', v.get('series_session'))} 在线人数 / "
                        "concurrent viewers",
                        [p["minute"] for p in series],
                        [("全部 all", [p["viewers"] for p in series]),
                         ("去除可疑 without suspects", [p["without_suspects"] for p in series])])
    rows = [[label(data, "session", s["session_id"]), s["raw_viewers"], s["engaged_viewers"],
             s["suspect_viewers"],
             s["synchronized_leave"], f"{s['interactions_per_viewer']:.2f}",
             "是 yes" if s["out_of_proportion"] else ""] for s in v["sessions"][:100]]
    m = v["summary"]
    return (
        "<h2>买量观众 / Bought viewers</h2>"
        + _kpi("原始观众 / raw viewers", f"{m['raw_viewers']:,}")
        + _kpi("互动观众 / engaged viewers", f"{m['engaged_viewers']:,}")
        + _kpi("可疑观众 / suspect viewers", f"{m['suspect_viewers']:,}")
        + chart + chart2
        + table(["场次 session", "原始 raw", "互动 engaged", "可疑 suspect", "同步离开 sync leave",
                 "人均互动 per viewer", "失衡 out of proportion"], rows)
    )


def _minute_viewers(v: dict[str, Any], data: dict[str, Any]) -> str:
    """Per-minute export: raw vs engaged viewers per session, the most affected session's
    viewers vs engagement per minute, and every finding with its evidence."""
    sessions = v["sessions"][:30]
    chart = bar_chart("平均在线与互动支撑的观众 / Avg viewers: raw vs engaged (first 30 sessions, "
                      "flagged first)",
                      [(label(data, "session", s["session_id"]),
                        [s["avg_viewers"], s["engaged_viewers"]])
                       for s in sessions], ["原始 raw", "互动支撑 engaged"])
    series = v.get("series") or []
    chart2 = line_chart(f"场次 {label(data, 'session', v.get('series_session'))}：观众与互动 / "
                        "viewers vs engagement "
                        "per minute",
                        [p["minute"] for p in series],
                        [("在线 viewers", [p["viewers"] for p in series]),
                         ("互动支撑 engaged", [p["engaged_viewers"] for p in series]),
                         ("互动/分 engagement", [p["engagement"] for p in series])])
    found = [[label(data, "session", f["session_id"]), f["kind"],
              f"{f['first_minute']} → {f['last_minute'][-5:]}",
              f["viewers"], f["engagement"], f["per_viewer"], f["peer_median"],
              "" if f["robust_z"] is None else f["robust_z"], f["engaged_viewers"], f["detail"]]
             for f in v["findings"][:200]]
    rows = [[label(data, "session", s["session_id"]), s["peer_group"], s["minutes"],
             s["avg_viewers"],
             s["peak_viewers"], s["engaged_viewers"], s["engagement_per_viewer"],
             s["peer_median"], s["robust_z"], s["steps"], "是 yes" if s["flagged"] else ""]
            for s in v["sessions"][:100]]
    m, p = v["summary"], v["params"]
    return (
        "<h2>买量观众（按分钟）/ Bought viewers (per-minute export)</h2>"
        f"<p class=note>稳健 z = (ln((互动+1)/(在线+1)) − 可比场次中位数) ÷ max(1.4826·MAD, "
        f"{p['min_scale']})；z ≤ −{p['z_threshold']} 标记。/ Robust z of log engagement per "
        f"viewer against comparable sessions (same shop with ≥ {p['min_peers']} sessions, else "
        f"all); flagged at z ≤ −{p['z_threshold']}. Steps: +{p['step_min_viewers']} viewers "
        f"within a minute that engagement backs ≤ {p['step_max_backed']:.0%}.</p>"
        + _kpi("场次 / sessions", f"{m['sessions']:,}")
        + _kpi("标记场次 / flagged sessions", f"{m['sessions_flagged']:,}")
        + _kpi("观众·分钟 / viewer-minutes", f"{m['viewer_minutes']:,}")
        + _kpi("互动支撑 / engaged viewer-minutes", f"{m['engaged_viewer_minutes']:,}")
        + _kpi("突增 / unbacked steps", f"{m['steps']:,}")
        + chart + chart2
        + "<h3>发现 / Findings</h3>"
        + table(["场次 session", "类型 kind", "分钟 minutes", "在线 viewers",
                 "互动/分 engagement", "人均 per viewer", "可比中位 peer median", "z",
                 "互动支撑 engaged", "证据 evidence"], found)
        + "<h3>场次 / Sessions</h3>"
        + table(["场次 session", "可比组 peers", "分钟 minutes", "平均在线 avg", "峰值 peak",
                 "互动支撑 engaged", "人均互动 per viewer", "可比中位 peer median", "z",
                 "突增 steps", "标记 flagged"], rows)
    )


def _roi(data: dict[str, Any]) -> str:
    r = data.get("roi")
    if not r:
        return ""
    met = "达成 / met" if r["promise_met"] else "未达成 / NOT met"
    return (
        "<h2>真实 ROI / Honest ROI</h2>"
        + table(["主播 anchor", "总额 gross", "净额 net", "已付费用 fees paid", "ROI gross",
                 "ROI net", "承诺 promised", "结论 verdict", "多付佣金 overpaid"],
                [[label(data, "anchor", r["anchor_id"]) if r["anchor_id"] else "全部 all",
                  yuan(r["gross_fen"]), yuan(r["net_fen"]),
                  yuan(r["fees_paid_fen"]), f"{r['roi_gross'] or 0:.2f}",
                  f"{r['roi_net'] or 0:.2f}", f"{r['promised_roi']:.2f}", met,
                  yuan(r["overpaid_commission_fen"])]])
    )
