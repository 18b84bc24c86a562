from __future__ import annotations

from pydantic import AwareDatetime, Field

from livepledge.accounts.schemas import Id, Int64, Strict


class SessionCreate(Strict):
    title: str = Field(max_length=500)
    anchor_id: Id
    scheduled_at: AwareDatetime
    playback_url: str | None = Field(default=None, max_length=2000)


class LineupCreate(Strict):
    sku_id: Id
    live_price: Int64
    stock_allocated: Int64
    per_buyer_limit: Int64 = 1
    sale_starts_at: AwareDatetime
    sale_ends_at: AwareDatetime


class LineupUpdate(Strict):
    live_price: Int64 | None = None
    sale_ends_at: AwareDatetime | None = None


class PinRequest(Strict):
    item_id: Id


# Texts are checked stripped: at least one non-space character (`pattern`) is declared.
class ChatRequest(Strict):
    text: str = Field(min_length=1, max_length=10000, pattern=r"\S")


class ModerationRequest(Strict):
    reason: str = Field(min_length=2, max_length=1000, pattern=r"\S")


class MuteRequest(Strict):
    user_id: Id
    muted: bool = True


class SlowModeRequest(Strict):
    seconds: Int64


# Staff texts are checked by the compliance engine: the same bounds as live/oversight.py, stated
# in the schema so that the API document tells them and a longer body is refused while parsing.
SCRIPT_MAX_CHARS = 20_000
TRANSCRIPT_MAX_CHARS = 2_000


class ScriptRequest(Strict):
    text: str = Field(min_length=1, max_length=SCRIPT_MAX_CHARS, pattern=r"\S")


class TranscriptRequest(Strict):
    text: str = Field(min_length=1, max_length=TRANSCRIPT_MAX_CHARS, pattern=r"\S")
    spoken_at: AwareDatetime | None = None
    source: str = Field(default="asr", max_length=64)


class CorrectionRequest(Strict):
    text: str = Field(min_length=2, max_length=10_000, pattern=r"\S")
    segment_id: Id | None = None
