"""Every setting of the assistant, read once from the environment into a frozen object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storage.db import DEFAULT_URL


@dataclass(frozen=True)
class Secret:
    """A token or password; its repr never shows the value."""

    value: str

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    value = env.get(name, "").strip()
    return Secret(value) if value else None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from exc


class IncompleteSettings(ValueError):
    """A channel is configured without everything that keeps it safe; the message is one line
    naming the variable to set."""


# What Telegram accepts as a webhook's secret_token.
TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    telegram_token: Secret | None = None
    telegram_api_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_secret: Secret | None = None
    whatsapp_token: Secret | None = None
    whatsapp_phone_id: str | None = None
    whatsapp_app_secret: Secret | None = None
    whatsapp_verify_token: Secret | None = None
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_bulletin_template: str | None = None
    whatsapp_reply_template: str | None = None
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    send_rate: int = 25
    outbox_stale_seconds: int = 30
    retention_days: int = 180
    db_pool_size: int = 10
    db_max_overflow: int = 10
    log_level: str = "INFO"
    # Tries of a direct reply before it is left to the outbox (a platform outage).
    reply_attempts: int = 4
    public_url: str = "http://127.0.0.1:8080"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("SELLO_DATABASE_URL", "").strip() or DEFAULT_URL,
            telegram_token=_secret(env, "SELLO_TELEGRAM_TOKEN"),
            telegram_api_url=env.get("SELLO_TELEGRAM_API_URL", "").strip() or None,
            telegram_webhook_url=env.get("SELLO_TELEGRAM_WEBHOOK_URL", "").strip() or None,
            telegram_secret=_secret(env, "SELLO_TELEGRAM_SECRET"),
            whatsapp_token=_secret(env, "SELLO_WHATSAPP_TOKEN"),
            whatsapp_phone_id=env.get("SELLO_WHATSAPP_PHONE_ID", "").strip() or None,
            whatsapp_app_secret=_secret(env, "SELLO_WHATSAPP_APP_SECRET"),
            whatsapp_verify_token=_secret(env, "SELLO_WHATSAPP_VERIFY_TOKEN"),
            whatsapp_api_url=env.get("SELLO_WHATSAPP_API_URL", "").strip() or cls.whatsapp_api_url,
            whatsapp_bulletin_template=env.get("SELLO_WHATSAPP_BULLETIN_TEMPLATE", "").strip()
            or None,
            whatsapp_reply_template=env.get("SELLO_WHATSAPP_REPLY_TEMPLATE", "").strip() or None,
            http_host=env.get("SELLO_HTTP_HOST", "").strip() or cls.http_host,
            http_port=_int(env, "SELLO_HTTP_PORT", cls.http_port),
            send_rate=_int(env, "SELLO_SEND_RATE", cls.send_rate),
            retention_days=_int(env, "SELLO_RETENTION_DAYS", cls.retention_days),
            outbox_stale_seconds=_int(env, "SELLO_OUTBOX_STALE_SECONDS", cls.outbox_stale_seconds),
            db_pool_size=_int(env, "SELLO_DB_POOL_SIZE", cls.db_pool_size),
            db_max_overflow=_int(env, "SELLO_DB_MAX_OVERFLOW", cls.db_max_overflow),
            log_level=env.get("SELLO_LOG_LEVEL", "").strip().upper() or cls.log_level,
            reply_attempts=max(1, _int(env, "SELLO_REPLY_ATTEMPTS", cls.reply_attempts)),
            public_url=env.get("SELLO_PUBLIC_URL", "").strip().rstrip("/") or cls.public_url,
        )

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def whatsapp_enabled(self) -> bool:
        return self.whatsapp_token is not None and self.whatsapp_phone_id is not None

    def check_channels(self) -> None:
        """Fail closed: a channel started without its secrets would accept forged events
        (an HMAC over an empty key) or answer 403 to the real platform. Raises
        IncompleteSettings naming the first missing or invalid variable."""
        whatsapp = {
            "SELLO_WHATSAPP_TOKEN": self.whatsapp_token,
            "SELLO_WHATSAPP_PHONE_ID": self.whatsapp_phone_id,
            "SELLO_WHATSAPP_APP_SECRET": self.whatsapp_app_secret,
            "SELLO_WHATSAPP_VERIFY_TOKEN": self.whatsapp_verify_token,
        }
        given = [name for name, value in whatsapp.items() if value]
        missing = [name for name, value in whatsapp.items() if not value]
        if given and missing:
            raise IncompleteSettings(
                f"WhatsApp is configured ({given[0]} is set) but {missing[0]} is not: "
                "set it, or unset every SELLO_WHATSAPP_* variable"
            )
        webhook = self.telegram_webhook_url
        if webhook and not self.telegram_token:
            raise IncompleteSettings(
                "SELLO_TELEGRAM_WEBHOOK_URL is set but SELLO_TELEGRAM_TOKEN is not"
            )
        if not webhook:
            return
        if not webhook.lower().startswith("https://"):
            raise IncompleteSettings(
                "SELLO_TELEGRAM_WEBHOOK_URL must be an https:// address (Telegram requires it)"
            )
        if not self.telegram_secret:
            raise IncompleteSettings(
                "Telegram webhook mode needs SELLO_TELEGRAM_SECRET (the secret token "
                "Telegram sends with every update)"
            )
        if not TELEGRAM_SECRET.fullmatch(self.telegram_secret.value):
            raise IncompleteSettings(
                "SELLO_TELEGRAM_SECRET must be 1 to 256 characters among A-Z, a-z, 0-9, _ and -"
            )


def cache_directory(env: Mapping[str, str] | None = None) -> Path | None:
    """Where the trained matcher is kept between starts: SELLO_CACHE_DIR, else the user's
    cache directory (XDG_CACHE_HOME or ~/.cache) / sello-bot; SELLO_CACHE_DIR=off disables it."""
    env = os.environ if env is None else env
    raw = env.get("SELLO_CACHE_DIR", "").strip()
    if raw.lower() in ("off", "none", "0"):
        return None
    if raw:
        return Path(raw)
    base = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "sello-bot"
