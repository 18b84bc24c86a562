"""Pure live-session rules: transitions, sale windows, lineup limits. No I/O, no clock."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlparse

TRANSITIONS = {
    "start": ({"scheduled"}, "live"),
    "end": ({"live"}, "ended"),
}
MAX_PER_BUYER_LIMIT = 1000
MAX_SALE_DAYS = 30


def transition(status: str, action: str) -> str | None:
    """The status after `action`, or None if the action is not allowed from `status`."""
    allowed_from, target = TRANSITIONS[action]
    return target if status in allowed_from else None


def sale_state(
    *, session_status: str, starts_at: datetime, ends_at: datetime, now: datetime
) -> str:
    """upcoming | open | ended. A sale is open only while the session is live and the window
    (both ends included) contains `now`."""
    if session_status == "ended" or now > ends_at:
        return "ended"
    if session_status != "live" or now < starts_at:
        return "upcoming"
    return "open"


def playback_url_error(url: str | None) -> str | None:
    if url in (None, ""):
        return None
    assert url is not None
    if len(url) > 500:
        return "播放地址最长 500 字符 / the playback URL is at most 500 characters"
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return None  # a path on this server (the demo's test pattern: /demo/stream.webm)
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        return ("播放地址须为 http(s) URL 或本站路径（HLS/WebRTC/MP4/WebM）/ playback URL must "
                "be http(s) or a path on this server")
    return None


def lineup_error(
    *, live_price: int, allocated: int, per_buyer_limit: int, starts_at: datetime,
    ends_at: datetime, now: datetime,
) -> str | None:
    if not 1 <= live_price <= 100_000_000_00:
        return "直播价须大于 0 / live price must be positive"
    if allocated < 1:
        return "分配库存须至少为 1 / allocated stock must be at least 1"
    if not 1 <= per_buyer_limit <= MAX_PER_BUYER_LIMIT:
        return f"每人限购须为 1–{MAX_PER_BUYER_LIMIT} / per-buyer limit must be 1-" \
               f"{MAX_PER_BUYER_LIMIT}"
    if ends_at <= starts_at:
        return "结束时间须晚于开始时间 / the sale must end after it starts"
    if ends_at <= now:
        return "结束时间已过 / the sale window is already over"
    if (ends_at - starts_at).days > MAX_SALE_DAYS:
        return f"售卖窗口不能超过 {MAX_SALE_DAYS} 天 / window longer than {MAX_SALE_DAYS} days"
    return None
