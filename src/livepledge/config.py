"""One typed settings object.

Every setting has a default that runs embedded (SQLite, one process).

Every field is documented in docs/settings.md (tests/unit/test_settings_documented.py checks).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVEPLEDGE_", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the system of record. Empty: a SQLite file in data_dir.",
    )
    database_pool_size: int = Field(
        default=20, ge=1, le=500,
        description="PostgreSQL connections per worker. A burst beyond it waits for a free "
        "connection instead of opening more.",
    )
    redis_url: str = Field(
        default="",
        description="Redis URL for the scale-out shape (fan-out, stock gate, presence). "
        "Empty: embedded in-process adapters.",
    )
    redis_timeout_seconds: float = Field(
        default=5.0, gt=0, le=300,
        description="How long a Redis command may go unanswered before its connection is dropped "
        "and the request answered 503 (a hung Redis must not stall buys).",
    )
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="Where the SQLite file lives.")
    media_dir: Path | None = Field(
        default=None, description="Where uploaded images are stored, by content hash. Unset: "
        "data_dir/media. For S3-compatible storage, mount the bucket here (docs/media.md).")
    upload_max_bytes: int = Field(
        default=10_485_760, ge=65_536, le=104_857_600,
        description="Largest image upload accepted (bytes); other request bodies stay at 1 MiB.")
    web_packages_dir: Path | None = Field(
        default=None,
        description="The node_modules folder holding the pages' npm packages (hls.js, for HLS in "
        "browsers without native HLS). Unset: the checkout's node_modules, if there is one.",
    )
    environment: str = Field(
        default="development",
        description="development or production. Production refuses the development secret.",
    )
    secret_key: str = Field(
        default="dev-only-insecure-secret",
        description="Signs CSRF tokens. Must be set (32+ chars) in production.",
    )
    order_payment_timeout_seconds: int = Field(
        default=900, ge=5, description="Unpaid orders expire after this many seconds."
    )
    compensation_percent: int = Field(
        default=30, ge=1, le=100,
        description="Compensation for a shop's cancellation the buyer did not ask for, or a "
                    "missed shipping promise: this share of the order's amount...")
    compensation_floor_fen: int = Field(
        default=500, ge=1, le=10_000_00, description="...at least this much (fen)...")
    compensation_cap_fen: int = Field(
        default=5000, ge=1, le=100_000_00, description="...and at most this much (fen).")
    aftersales_merchant_response_hours: int = Field(
        default=48, ge=1, le=720,
        description="After-sales: the shop answers a case within this many hours, or the "
                    "buyer wins.")
    aftersales_buyer_answer_hours: int = Field(
        default=48, ge=1, le=720,
        description="After-sales: the buyer answers a partial offer within this, or the case "
                    "closes.")
    aftersales_buyer_ship_return_hours: int = Field(
        default=168, ge=1, le=720,
        description="After-sales: the buyer ships an approved return within this, or the case "
                    "closes.")
    aftersales_merchant_confirm_return_hours: int = Field(
        default=168, ge=1, le=720,
        description="After-sales: the shop confirms returned goods within this, or the buyer "
                    "is refunded.")
    aftersales_escalation_hours: int = Field(
        default=168, ge=1, le=720,
        description="After-sales: a refused case may be escalated within this, then closes.")
    platform_commission_bp: int = Field(
        default=0, ge=0, le=10_000,
        description="The platform's commission on a shop's released sales, in basis points "
                    "(500 = 5 %); 0: none (docs/money.md).")
    auto_receive_days: int = Field(
        default=10, ge=1, le=90,
        description="Receipt is deemed this many days after shipping if the buyer has not "
                    "confirmed it; the escrow is released when the no-reason return window "
                    "after it has closed too (docs/money.md).")
    min_deposit_fen: int = Field(
        default=0, ge=0, le=100_000_000_00,
        description="A shop whose deposit (保证金) is below this (fen) cannot start a live "
                    "session; 0: no minimum.")
    aftersales_operator_decision_hours: int = Field(
        default=72, ge=1, le=720,
        description="After-sales: the platform's operators decide an escalated case within "
        "this, or the buyer is refunded.")
    consumer_poll_seconds: float = Field(
        default=0.5, gt=0, le=60,
        description="How often each worker looks for new events for the event consumers.")
    consumers: str = Field(
        default="all",
        description="Which event consumers this server runs: all, none, or a comma-separated "
                    "list of names (docs/events.md). Every consumer must run somewhere: none is "
                    "for benchmarks and for servers whose consumers run in another group of "
                    "workers.")
    deadline_poll_seconds: float = Field(
        default=1.0, gt=0, le=60,
        description="How often each worker looks for deadlines that have come due.")
    expiry_sweep_interval_seconds: float = Field(
        default=2.0, gt=0, description="How often the unpaid-order sweeper runs."
    )
    write_batch_max: int = Field(
        default=256, ge=1, description="Most orders made durable in one commit."
    )
    stock_gate: str = Field(
        default="batched",
        description="batched (the design) or naive (SELECT ... FOR UPDATE per request; "
        "only for the benchmark baseline).",
    )
    gate_lease_seconds: float = Field(
        default=60.0, gt=0, description="Scale-out: a Redis stock reservation older than this "
        "whose order is not in the database is given back (its worker is taken to be dead).")
    chat_max_length: int = Field(default=200, ge=1, description="Longest chat message (chars).")
    chat_min_interval_seconds: float = Field(
        default=1.0, ge=0, description="Per-user chat rate limit: one message per interval."
    )
    comment_min_interval_seconds: float = Field(
        default=5.0, ge=0, description="Per-fan limit on fan-group comments: one comment per "
        "interval in a shop's feed (the shop's staff are not limited).")
    room_tick_ms: int = Field(
        default=100, ge=10, description="Chat/likes/viewer counts are coalesced into ticks."
    )
    presence_ttl_seconds: int = Field(
        default=30, ge=2, description="A viewer counts while its last heartbeat is this recent."
    )
    room_client_queue: int = Field(
        default=64, ge=4, description="Messages queued per WebSocket client before it is dropped."
    )
    room_direct_frames: bool = Field(
        default=True, description="The live room writes each encoded frame straight to every "
        "socket (live/wsserver.py); off: one ASGI send per viewer (the slower path, kept for "
        "comparison and for other ASGI servers)."
    )
    room_port: int = Field(
        default=0, ge=0, le=65535, description="The live room's own WebSocket listener "
        "(live/roomserver.py): each worker also listens on this port (shared by the workers) "
        "for /ws/sessions/{id} only; 0: off, the room's sockets go through the main port."
    )
    room_host: str = Field(
        default="127.0.0.1", description="Address of the room listener (LIVEPLEDGE_ROOM_PORT)."
    )
    room_public_url: str = Field(
        default="", description="Where the live page opens the room's sockets when the room "
        "listener is on, e.g. wss://live.example.com (a proxy in front of LIVEPLEDGE_ROOM_PORT); "
        "empty: ws(s)://<the page's host>:LIVEPLEDGE_ROOM_PORT."
    )
    ws_per_message_deflate: bool = Field(
        default=False, description="Offer permessage-deflate on WebSockets (costs CPU and memory "
        "per viewer; see docs/decisions.md)."
    )
    token_cache_seconds: float = Field(
        default=30.0, ge=0, description="How long a validated API token is cached in-process."
    )
    session_cookie_secure: bool = Field(
        default=False, description="Set the Secure flag on cookies (enable behind HTTPS)."
    )
    forwarded_allow_ips: str = Field(
        default="", description="Comma-separated addresses of load balancers whose "
        "X-Forwarded-For / X-Forwarded-Proto headers are believed (uvicorn's "
        "forwarded_allow_ips). Empty: none; every client is the peer address of its connection.")
    metrics_token: str = Field(
        default="", description="Bearer token Prometheus sends to scrape /metrics. Empty: "
        "/metrics answers 404 (business counters are not public).")
    login_throttle_window_seconds: float = Field(
        default=900.0, gt=0, le=86400,
        description="Window over which failed logins and registrations are counted; a "
        "throttled account or address is free again when its window ends.")
    login_failures_per_account: int = Field(
        default=10, ge=1, description="Failed logins per account within the window before "
        "further attempts are answered 429.")
    login_failures_per_address: int = Field(
        default=50, ge=1, description="Failed logins per client address within the window "
        "before further attempts are answered 429.")
    registrations_per_address: int = Field(
        default=20, ge=1, description="Registrations per client address within the window.")
    password_time_cost: int = Field(
        default=3, ge=1, le=20, description="argon2id passes for new password hashes."
    )
    password_memory_kib: int = Field(
        default=65536, ge=1024, description="argon2id memory (KiB) for new password hashes."
    )
    timezone: str = Field(default="Asia/Shanghai", description="Default display time zone.")
    log_level: str = Field(default="info", description="Log level (debug, info, warning).")
    log_format: str = Field(default="text", description="text, or json for one JSON object "
                            "per line (structured logs).")
    compliance_check_max_chars: int = Field(
        default=20_000, ge=1, le=100_000, description="Characters one anonymous "
        "POST /api/v1/compliance/check may carry (all texts of a batch together); more is "
        "answered 413.")
    compliance_checks_per_address: int = Field(
        default=60, ge=1, description="Compliance checks per client address within "
        "LIVEPLEDGE_COMPLIANCE_CHECK_WINDOW_SECONDS; more are answered 429 with Retry-After.")
    compliance_check_window_seconds: float = Field(
        default=60.0, gt=0, le=86400, description="Window over which compliance checks are "
        "counted per client address.")
    gate_worker_ttl_seconds: float = Field(
        default=5.0, gt=0, description="Scale-out: a worker's liveness key in Redis expires "
        "this long after its last heartbeat; then its pending stock reservations are given back "
        "(by the next retry of the same order, or the reclaim loop), instead of after the lease.")
    gate_heartbeat_seconds: float = Field(
        default=1.0, gt=0, description="Scale-out: how often each worker refreshes its liveness "
        "key (from a thread, so a busy event loop is not taken for a dead worker) and looks for "
        "dead workers' reservations. At most half of LIVEPLEDGE_GATE_WORKER_TTL_SECONDS (the "
        "server refuses to start otherwise).")
    record_key_file: Path | None = Field(
        default=None, description="The session record's Ed25519 signing key (a note signer key "
        "file, PRIVATE+KEY+name+id+key). Unset: data_dir/record.key. Development and demo "
        "generate one there on first start; production refuses to start without it "
        "(docs/record.md).")
    record_name: str = Field(
        default="livepledge.localhost", min_length=1, max_length=200, pattern=r"^[^\s+]+$",
        description="The deployment's name in the session record: the log key's name when a "
        "key is generated, and the prefix of every session log's origin "
        "(<name>/session/<id>). A schema-less URL such as shop.example.com/livepledge.")
    record_buyer_salt: str = Field(
        default="", description="Secret salt of the buyer hashes in the public session record "
        "(HMAC-SHA256). Empty: derived from LIVEPLEDGE_SECRET_KEY. Changing it changes every "
        "later buyer hash; keep it for the record's lifetime.")
    record_checkpoint_seconds: float = Field(
        default=2.0, gt=0, le=60, description="How often each worker signs a checkpoint for "
        "every session log that grew (and at a session's end, within this).")
    record_audit_seconds: float = Field(
        default=3600.0, gt=0, description="How often the server recomputes every session "
        "log's tree from its stored entries and compares it with the signed checkpoints; a "
        "difference is an alert (log line, metric, record_alerts row).")
    test_clock: bool = Field(
        default=False, description="Tests and demos only: POST /api/v1/test/clock moves the "
        "server's clock forward (after-sales deadlines, cooling-off, ...), one process's clock. "
        "Refused in production.")
    clock_offset_seconds: int = Field(
        default=0, ge=0, le=10 * 365 * 86400, description="Tests only: start with the clock "
        "this many seconds ahead of the wall clock (a crash test restarting a server past a "
        "deadline). Refused in production.")
    fault_points: str = Field(
        default="", description="Tests only: comma-separated fault points at which the process "
        "kills itself with SIGKILL (e.g. aftersales.after_provider_refund: between a "
        "deadline's refund at the provider and its commit). Refused in production.")
    sandbox_journal: Path | None = Field(
        default=None, description="Tests only: a file where the sandbox payment provider "
        "records every charge, refund and transfer it makes (one JSON line each) and reloads "
        "them at start, so its idempotency keys survive a restart like a real provider's.")
    bench_noop_endpoint: bool = Field(
        default=False, description="Benchmark only: answer POST /api/v1/sessions/{id}/lineup/"
        "{id}/noop with an empty 200, dispatched exactly like the buy endpoint "
        "(bench/flash_sale.py's baseline). Refused in production.")

    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Webhooks: how long one delivery attempt may "
        "take (connect, send, first bytes of the answer) before it counts as failed.")
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="Webhooks: how often each worker looks for "
        "deliveries that have come due.")
    webhook_endpoint_concurrency: int = Field(
        default=2, ge=1, le=50, description="Webhooks: attempts in flight at once to one "
        "endpoint, per worker (a slow endpoint holds only these, never the others').")
    webhook_allow_http: bool = Field(
        default=False, description="Webhooks: accept http:// endpoint URLs in production "
        "(otherwise https only there; development accepts both).")
    webhook_blocked_networks: str = Field(
        default="", description="Webhooks: comma-separated networks (CIDR) no webhook may be "
        "sent to, beyond the loopback, private, link-local and reserved ranges always refused: "
        "the server's own public addresses, the cloud's private ranges.")
    webhook_allow_private: bool = Field(
        default=False, description="Tests only: let webhooks go to loopback and private "
        "addresses (a test's local receiver). Refused in production.")

    @field_validator("webhook_blocked_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        import ipaddress

        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad one
        return value

    @field_validator("consumers")
    @classmethod
    def _consumer_names(cls, value: str) -> str:
        value = value.strip()
        if not value or (value in {"all", "none"}):
            return value or "all"
        names = [n.strip() for n in value.split(",")]
        if not all(n.replace("_", "").isalnum() for n in names):
            raise ValueError("consumers must be all, none or a comma-separated list of names")
        return ",".join(names)

    @field_validator("stock_gate")
    @classmethod
    def _known_gate(cls, value: str) -> str:
        if value not in {"batched", "naive"}:
            raise ValueError("stock_gate must be 'batched' or 'naive'")
        return value

    @model_validator(mode="after")
    def _heartbeat_within_ttl(self) -> Settings:
        if self.gate_heartbeat_seconds * 2 > self.gate_worker_ttl_seconds:
            raise ValueError("LIVEPLEDGE_GATE_HEARTBEAT_SECONDS must be at most half of "
                             "LIVEPLEDGE_GATE_WORKER_TTL_SECONDS (a live worker would look dead)")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'livepledge.db').as_posix()}"

    @property
    def effective_media_dir(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @property
    def effective_record_key_file(self) -> Path:
        return self.record_key_file or self.data_dir / "record.key"

    @property
    def record_salt(self) -> bytes:
        import hashlib
        import hmac

        if self.record_buyer_salt:
            return self.record_buyer_salt.encode()
        return hmac.new(self.secret_key.encode(), b"livepledge record buyer salt",
                        hashlib.sha256).digest()

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def check_production(self) -> None:
        if self.environment == "production" and (
            self.secret_key == "dev-only-insecure-secret" or len(self.secret_key) < 32
        ):
            raise SystemExit(
                "LIVEPLEDGE_SECRET_KEY must be set to 32+ random characters in production"
            )
        if self.environment == "production" and not self.effective_record_key_file.exists():
            raise SystemExit(f"the session record's signing key {self.effective_record_key_file} "
                             "is missing: create it with `livepledge record-key` and set "
                             "LIVEPLEDGE_RECORD_KEY_FILE (docs/record.md)")
        if self.environment == "production" and (self.test_clock or self.clock_offset_seconds
                                                 or self.fault_points):
            raise SystemExit("LIVEPLEDGE_TEST_CLOCK, LIVEPLEDGE_CLOCK_OFFSET_SECONDS and "
                             "LIVEPLEDGE_FAULT_POINTS are for tests; they are refused in "
                             "production")
        if self.environment == "production" and self.webhook_allow_private:
            raise SystemExit("LIVEPLEDGE_WEBHOOK_ALLOW_PRIVATE is for tests; it is refused in "
                             "production")
        if self.environment == "production" and self.bench_noop_endpoint:
            raise SystemExit("LIVEPLEDGE_BENCH_NOOP_ENDPOINT is for benchmarks; it is refused "
                             "in production")


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    apply(settings)
    return settings


def apply(settings: Settings) -> None:
    """Process-wide effects of settings (password hashing cost)."""
    from livepledge.infra.security import configure_password_hashing

    configure_password_hashing(time_cost=settings.password_time_cost,
                               memory_kib=settings.password_memory_kib)
    from livepledge.infra.logs import configure

    configure(settings.log_level, settings.log_format)
    from datetime import timedelta

    from livepledge.infra import clock, faults

    clock.set_offset(timedelta(seconds=settings.clock_offset_seconds))
    faults.configure(settings.fault_points)
