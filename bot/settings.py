"""Runtime settings from the environment (and an optional ``.env`` file).

Every value has an embedded default so that ``make run`` works on a fresh machine;
``.env.example`` documents each variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy.engine import url as sa_url

from bot.limits import Limits

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"config error: {name}={raw!r} is not a whole number") from None
    if value < 1:
        raise SystemExit(f"config error: {name}={value} must be at least 1")
    if value > 65535 and name.endswith("_PORT"):
        raise SystemExit(f"config error: {name}={value} is not a valid port")
    return value


def _path(name: str, default: Path) -> Path:
    """A path setting; relative values are relative to the project root, like the defaults."""
    return _optional_path(name) or default


def _optional_path(name: str) -> Path | None:
    raw = os.environ.get(name, "").strip()
    return PROJECT_ROOT / raw if raw else None


@dataclass(frozen=True)
class Settings:
    gateway_host: str
    gateway_port: int
    rasa_host: str
    rasa_port: int
    action_host: str
    action_port: int
    rasa_auth_token: str | None
    rasa_restart_wait_seconds: int  # how long a message in flight when Rasa stopped waits for it
    data_dir: Path
    max_message_chars: int
    limits: Limits
    kb_articles_dir: Path
    kb_index_dir: Path
    kb_model_dir: Path
    kb_feedback_db: str
    kb_drafts_dir: Path  # knowledge-gap drafts for editors (bot/analytics/gaps.py)
    reporting_capture_seconds: int  # how often a gateway records new conversations for the dashboard
    profile_db: str
    tracker_db: str  # SQLAlchemy URL of Rasa's tracker store, which the reporting reads
    redis_url: str | None  # several gateway replicas share live state through it (``bot.replicas``)
    demo_staff_password: str  # given to demo staff without a console password (README: agent console)
    wechat_app_id: str | None
    wechat_token: str | None
    wechat_aes_key: str | None  # EncodingAESKey; without it only plaintext mode is accepted
    wechat_app_secret: str | None
    wechat_api_base: str

    web_token_algorithm: str
    web_token_public_key_file: Path | None
    web_token_issuer: str | None
    web_token_audience: str | None

    @property
    def pseudonym_key_file(self) -> Path:
        return self.data_dir / "pseudonym.key"

    @property
    def handle_key_file(self) -> Path:
        return self.data_dir / "handle.key"

    @property
    def otp_key_file(self) -> Path:
        return self.data_dir / "otp.key"

    @property
    def web_token_secret_file(self) -> Path:
        return self.data_dir / "web-token.key"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.action_host}:{self.action_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_host}:{self.gateway_port}"


def _tracker_db(data_dir: Path) -> str:
    """The tracker store as endpoints.yml configures it: PostgreSQL when ``TRACKER_DB_HOST`` is set."""
    host = os.environ.get("TRACKER_DB_HOST", "").strip()
    if not host:
        return f"sqlite:///{os.environ.get('TRACKER_DB') or data_dir / 'tracker.db'}"
    url = sa_url.URL.create(
        "postgresql",
        username=os.environ.get("TRACKER_DB_USER") or None,
        password=os.environ.get("TRACKER_DB_PASSWORD") or None,
        host=host,
        port=_int("TRACKER_DB_PORT", 5432),
        database=os.environ.get("TRACKER_DB_NAME") or None,
    )
    return url.render_as_string(hide_password=False)


def load_settings() -> Settings:
    """Read settings; a ``.env`` in the project root fills variables not already set."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    data_dir = _path("BANKBOT_DATA_DIR", PROJECT_ROOT / "var")
    return Settings(
        gateway_host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
        gateway_port=_int("GATEWAY_PORT", 8000),
        rasa_host=os.environ.get("RASA_HOST", "127.0.0.1"),
        rasa_port=_int("RASA_PORT", 5005),
        action_host=os.environ.get("ACTION_HOST", "127.0.0.1"),
        action_port=_int("ACTION_PORT", 5055),
        rasa_auth_token=os.environ.get("RASA_AUTH_TOKEN") or None,
        rasa_restart_wait_seconds=_int("RASA_RESTART_WAIT_SECONDS", 90),
        data_dir=data_dir,
        max_message_chars=_int("MAX_MESSAGE_CHARS", 2000),
        limits=Limits(
            per_customer=_int("RATE_LIMIT_PER_CUSTOMER", Limits.per_customer),
            per_address=_int("RATE_LIMIT_PER_ADDRESS", Limits.per_address),
            window_seconds=_int("RATE_LIMIT_WINDOW_SECONDS", Limits.window_seconds),
            sockets_per_address=_int("MAX_SOCKETS_PER_ADDRESS", Limits.sockets_per_address),
        ),
        kb_articles_dir=_path("KB_ARTICLES_DIR", PROJECT_ROOT / "knowledge_base" / "articles"),
        kb_index_dir=_path("KB_INDEX_DIR", PROJECT_ROOT / "models" / "kb"),
        kb_model_dir=_path("KB_MODEL_DIR", PROJECT_ROOT / "models" / "embeddings" / "multilingual-e5-small"),
        kb_feedback_db=os.environ.get("KB_FEEDBACK_DB") or f"sqlite:///{data_dir / 'kb_feedback.db'}",
        kb_drafts_dir=_path("KB_DRAFTS_DIR", PROJECT_ROOT / "knowledge_base" / "drafts"),
        reporting_capture_seconds=_int("REPORTING_CAPTURE_SECONDS", 30),
        profile_db=os.environ.get("PROFILE_DB") or f"sqlite:///{data_dir / 'profile.db'}",
        tracker_db=_tracker_db(data_dir),
        redis_url=os.environ.get("REDIS_URL", "").strip() or None,
        demo_staff_password=os.environ.get("BANKBOT_DEMO_STAFF_PASSWORD") or "xinghai-demo",
        wechat_app_id=os.environ.get("WECHAT_APP_ID") or None,
        wechat_token=os.environ.get("WECHAT_TOKEN") or None,
        wechat_aes_key=os.environ.get("WECHAT_ENCODING_AES_KEY") or None,
        wechat_app_secret=os.environ.get("WECHAT_APP_SECRET") or None,
        wechat_api_base=os.environ.get("WECHAT_API_BASE") or "https://api.weixin.qq.com",
        web_token_algorithm=os.environ.get("WEB_TOKEN_ALGORITHM", "").strip() or "HS256",
        web_token_public_key_file=_optional_path("WEB_TOKEN_PUBLIC_KEY_FILE"),
        web_token_issuer=os.environ.get("WEB_TOKEN_ISSUER", "").strip() or None,
        web_token_audience=os.environ.get("WEB_TOKEN_AUDIENCE", "").strip() or None,
    )
