"""Service configuration, read once from `OKTOPUS_*` environment variables and `.env`."""

import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32


class Settings(BaseSettings):
    """Every knob of the service; no secret has a hard-coded default."""

    model_config = SettingsConfigDict(
        env_prefix="OKTOPUS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    mongo_url: str | None = Field(
        default=None,
        description="mongodb:// or mongodb+srv:// for MongoDB; memory:// for tests; unset for the "
        "embedded store in data_dir.",
    )
    mongo_db: str = "oktopus"
    data_dir: Path = Path("data")
    secret_key: SecretStr | None = None
    access_token_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    admin_username: str = "admin"
    admin_password: SecretStr | None = None
    cors_origins: str = Field(default="", description="Comma-separated allowed origins.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    audit_retention_days: int = Field(
        default=400, ge=1, le=100 * 366, description="Audit entries older than this are deleted."
    )
    login_failure_retention_days: int = Field(
        default=1,
        ge=1,
        le=366,
        description="Failed-login rows older than this are deleted (the limit looks back minutes).",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks of the reverse proxy whose "
        "X-Forwarded-For/-Proto are believed. Empty: forwarded headers are ignored.",
    )

    @field_validator("mongo_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("mongodb://", "mongodb+srv://", "memory://")):
            raise ValueError(
                "OKTOPUS_MONGO_URL must start with mongodb://, mongodb+srv:// or memory://"
            )
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"OKTOPUS_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters"
            )
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"OKTOPUS_FORWARDED_ALLOW_IPS: {entry!r} is not an IP address or network "
                    "(or '*' to trust every peer, only when nothing but the proxy can connect)"
                ) from None
        return ",".join(entries)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper() if isinstance(value, str) else value

    @property
    def data_path(self) -> Path:
        """Absolute data directory (litemongo mangles relative paths)."""
        return self.data_dir.expanduser().absolute()

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @cached_property
    def signing_key(self) -> str:
        """The JWT key: the configured one, or one generated once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _stored_secret_key(self.data_path)


def _stored_secret_key(data_dir: Path) -> str:
    """Read the generated key, creating it with mode 0600 the first time so tokens survive restarts.

    The key is written to a private temporary file and linked into place, so a second worker
    starting at the same moment reads either no file or the whole key, never an empty one.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: it holds the key
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        temporary = data_dir / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(8)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            temporary.unlink()
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise RuntimeError(f"{path} holds a key that is too short; delete it to regenerate")
    return key
