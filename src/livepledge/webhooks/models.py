from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

# A shop's webhook endpoint. `secret` signs every delivery (whsec_..., shown to the shop once);
# after a rotation the previous one signs too until `previous_secret_until`, so receivers can
# switch without losing a delivery. Disabled endpoints get no new deliveries.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("description", String(200), nullable=False),
    Column("event_types", JSON, nullable=False),  # webhook types (rules.CATALOGUE)
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(200), nullable=True),
    Column("secret", String(100), nullable=False),
    Column("previous_secret", String(100), nullable=True),
    Column("previous_secret_until", UTCDateTime, nullable=True),
    Column("created_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_webhook_endpoints_shop", "shop_id", "id"),
)

# One message to one endpoint: the body is fixed when the event is read (what is signed and
# sent on every attempt). `message_id` is the Standard Webhooks `webhook-id`, kept by retries
# and by replays (a replay is a new delivery row of the same message). A due delivery has
# `status = 'pending'` and `next_attempt_at <= now`; a worker sending it holds it until
# `leased_until` (a dead worker's lease runs out and another sends it again).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("endpoint_id", BigId, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("shop_id", BigId, nullable=False),
    Column("event_id", BigId, nullable=False),
    Column("event_type", String(48), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("dedupe", String(64), nullable=True),  # the event's deliveries: one per endpoint
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | expired
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("leased_until", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("replay_of", BigId, nullable=True),
    UniqueConstraint("endpoint_id", "dedupe"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
)

# Every attempt, as it went: the answer's status (or the error), how long it took and the
# first bytes of the answer.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigId, ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(200), nullable=True),
    Column("response_excerpt", String(1024), nullable=True),
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)
