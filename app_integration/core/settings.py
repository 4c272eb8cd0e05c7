"""Typed settings, read from the environment and an env file.

The original bridge's variable names (REDMINE_HOST, ADMIN_REDMINE_KEY_API, ...) keep
working, so an existing `.docker.env` needs no edits. The URL forms win where both
are given.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ENV_FILE = ".docker.env"
ENV_FILE_VARIABLE = "BRIDGE_ENV_FILE"

LinkMode = Literal["rewrite", "reply", "card", "off"]


class Settings(BaseSettings):
    """Every setting the bridge reads. Field names are the variables' names, lower-cased."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, env_file_encoding="utf-8")

    # Redmine: the original parts, or one URL.
    redmine_protocol: Literal["http", "https"] = "http"
    redmine_host: str | None = None
    redmine_port: int | None = Field(default=None, ge=1, le=65535)
    redmine_url: str | None = None
    admin_redmine_key_api: SecretStr = Field(min_length=1)
    redmine_connect_timeout: float = Field(default=3.0, gt=0, le=3.0)
    redmine_read_timeout: float = Field(default=10.0, gt=0, le=10.0)
    redmine_cache_ttl: float = Field(default=300.0, ge=0)
    redmine_concurrency: int = Field(default=4, ge=1, le=16)  # one batch's creates in flight at once
    # Redmine requests in flight in one process, whatever sent them (batches, lists, the feed, the listener):
    # gunicorn's threads share it, so a burst of batches queues in the bridge instead of at Redmine.
    redmine_max_calls: int = Field(default=8, ge=1, le=64)
    # Redmine's changes back into the chat: polled every so many seconds (0 stops polling), and, on
    # Redmine 7, also pushed to POST /webhooks/redmine, signed with this secret.
    redmine_poll_seconds: float = Field(default=30.0, ge=0)
    redmine_webhook_secret: SecretStr | None = None

    # Mattermost: the original parts, or one URL.
    mattermost_protocol: Literal["http", "https"] = "http"
    mattermost_host: str | None = None
    mattermost_port: int | None = Field(default=None, ge=1, le=65535)
    mattermost_url: str | None = None
    mattermost_websocket_url: str | None = None
    redmine_mattermost_bridge_app_token: SecretStr | None = None
    admin_mattermost_token: SecretStr | None = None

    # The bridge's own web app.
    python_bot_app_host: str = "localhost"
    python_bot_app_port: int = Field(default=8090, ge=1, le=65535)
    # ROOT_URL is the original bridge's name for it.
    app_root_url: str | None = Field(default=None, validation_alias=AliasChoices("app_root_url", "root_url"))
    bind_host: str = "127.0.0.1"
    web_workers: int = Field(default=2, ge=1, le=64)
    web_threads: int = Field(default=8, ge=1, le=256)
    # Commands waiting for a worker in one web process, past those at work; beyond it a person is told at once
    # that Redmine is slow (a slow Redmine drains the queue slowly, and Mattermost stops showing late answers).
    work_queue_limit: int = Field(default=32, ge=0, le=10_000)

    # Inbound request verification.
    mattermost_slash_tokens: SecretStr | None = None
    app_jwt_secret: SecretStr | None = None
    request_signing_key: SecretStr | None = None
    signed_state_max_age: int = Field(default=3600, ge=60)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # Prometheus' /metrics: on the bind address only with this bearer token; and/or on 127.0.0.1:METRICS_PORT.
    metrics_token: SecretStr | None = Field(default=None, min_length=16)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # State, behaviour, logs.
    database_url: str = "sqlite:///bridge.sqlite3"
    idempotency_ttl_hours: int = Field(default=24, ge=24)
    ticket_list_limit: int = Field(default=50, ge=1, le=100)
    link_mode: LinkMode = "rewrite"
    link_on_edit: bool = False
    link_show_subject: bool = False
    default_locale: Literal["en", "ru"] = "en"  # for what a whole channel reads, unless it chose
    create_from_reaction_emoji: str = Field(default="ticket", min_length=1, max_length=64)
    user_map: str | None = None
    user_map_file: Path | None = None
    # Self-service linking (`connect`): by a matching email, or by a personal API key kept encrypted.
    connect_by_email: bool = True
    connect_by_key: bool = True
    link_encryption_keys: SecretStr | None = None
    # Off: nobody acts through the admin key; personal keys are the only way to act.
    redmine_impersonation: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False

    @field_validator("mattermost_websocket_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("ws://", "wss://")):
            raise ValueError("expected a ws:// or wss:// URL")
        return value or None

    @field_validator("link_encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Each key is what Fernet.generate_key() gives: 32 bytes in URL-safe base64."""
        if value is None or not value.get_secret_value().strip():
            return None
        for number, key in enumerate(value.get_secret_value().split(","), start=1):
            try:
                raw = base64.urlsafe_b64decode(key.strip().encode())
            except (ValueError, binascii.Error):
                raw = b""
            if len(raw) != 32:
                raise ValueError(f"key {number} is not a Fernet key (make one: python -m app_integration new-key)")
        return value

    @field_validator("redmine_url", "mattermost_url", "app_root_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def redmine_base_url(self) -> str:
        return self.redmine_url or _join_url(self.redmine_protocol, self.redmine_host, self.redmine_port)

    @property
    def mattermost_base_url(self) -> str:
        return self.mattermost_url or _join_url(self.mattermost_protocol, self.mattermost_host, self.mattermost_port)

    @property
    def websocket_url(self) -> str:
        if self.mattermost_websocket_url:
            return self.mattermost_websocket_url
        base = self.mattermost_base_url
        return "ws" + base.removeprefix("http") + "/api/v4/websocket"

    @property
    def root_url(self) -> str:
        return self.app_root_url or f"http://{self.python_bot_app_host}:{self.python_bot_app_port}"

    @property
    def slash_tokens(self) -> tuple[str, ...]:
        raw = self.mattermost_slash_tokens.get_secret_value() if self.mattermost_slash_tokens else ""
        return tuple(token.strip() for token in raw.split(",") if token.strip())

    def problems(self, role: str) -> list[str]:
        """What is missing for a role ("core", "serve", "listen"); one line per problem."""
        found: list[str] = []
        if not (self.redmine_url or self.redmine_host):
            found.append("REDMINE_URL: required (or REDMINE_HOST with REDMINE_PORT), e.g. http://redmine:3000")
        if role in {"serve", "listen", "run"}:
            if not (self.mattermost_url or self.mattermost_host):
                found.append("MATTERMOST_URL: required (or MATTERMOST_HOST), e.g. http://mattermost:8065")
            if self.redmine_mattermost_bridge_app_token is None:
                found.append("REDMINE_MATTERMOST_BRIDGE_APP_TOKEN: required, the bot account's access token")
        if role in {"serve", "run"}:
            if not self.slash_tokens and self.app_jwt_secret is None:
                found.append(
                    "MATTERMOST_SLASH_TOKENS or APP_JWT_SECRET: at least one is required, "
                    "or no inbound request could be verified"
                )
            if self.request_signing_key is None or len(self.request_signing_key.get_secret_value()) < 32:
                found.append("REQUEST_SIGNING_KEY: required, at least 32 random characters")
        return found


def _join_url(protocol: str, host: str | None, port: int | None) -> str:
    if not host:
        return ""
    return f"{protocol}://{host}" + (f":{port}" if port else "")


@dataclass(frozen=True)
class SettingsError(Exception):
    """Settings that cannot be used; each line names a variable and what it expects."""

    lines: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join(self.lines)


def env_file_path(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get(ENV_FILE_VARIABLE) or DEFAULT_ENV_FILE)


def known_variable_names() -> frozenset[str]:
    return frozenset(name.upper() for name in Settings.model_fields)


def load_settings(env_file: Path | None = None, role: str = "core") -> Settings:
    """Reads the settings or raises SettingsError with one line per problem."""
    path = env_file if env_file is not None else env_file_path()
    try:
        settings = Settings(_env_file=path if path.is_file() else None)  # type: ignore[call-arg]
    except ValidationError as error:
        raise SettingsError(tuple(_describe(error.errors()))) from None
    problems = settings.problems(role)
    if problems:
        raise SettingsError(tuple(problems))
    return settings


def _describe(errors: Iterable[object]) -> Iterable[str]:
    for error in errors:
        assert isinstance(error, dict)
        name = ".".join(str(part) for part in error.get("loc", ())).upper() or "SETTINGS"
        if error.get("type") == "missing":
            yield f"{name}: required"
        else:
            yield f"{name}: {error.get('msg', 'invalid')}"
