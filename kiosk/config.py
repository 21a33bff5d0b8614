"""Kiosk configuration: an instance folder with the database, the secrets and config.json.

Secrets (Flask secret key, the kiosk's Ed25519 signing key) live in the instance folder
with mode 0600; the app refuses to start without them. The election's private key is
never here: the kiosk only ever holds the public key.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import crypto, holder_keys, json_input
from shared.db import BUSY_TIMEOUT_MS
from shared.web_policy import weak_secret

DEFAULT_HOME = "./instance"
SECRET_FILE = "secret_key"
SIGNING_KEY_FILE = "signing_key"
CONFIG_FILE = "config.json"
OPTIONAL_INT_KEYS = ("booth_idle_seconds", "booth_warning_seconds", "staff_idle_minutes",
                     "db_busy_timeout_ms")


class ConfigError(RuntimeError):
    """The instance folder is missing, incomplete or unsafe."""


@dataclass(frozen=True)
class KioskConfig:
    """Everything the kiosk app needs, read once at start."""

    home: Path
    database_url: str
    secret_key: str
    signing_key: bytes
    booth_idle_seconds: int = 120
    booth_warning_seconds: int = 30
    staff_idle_minutes: int = 30
    db_busy_timeout_ms: int = BUSY_TIMEOUT_MS  # then 503 "busy, try again" (shared/db.py)
    csrf_enabled: bool = True
    testing: bool = False
    # The in-memory directory of the desk's holder keys (shared/holder_keys.py): config.json
    # "holder_key_dir", else $KIOSK_HOLDER_KEY_DIR, else /dev/shm/cv-kiosk-<hash of home>.
    holder_key_dir: Path | None = None
    # The address tablets open (https://192.168.1.10:8443): the pairing and CA pages name it,
    # since the chair's own browser may be on 127.0.0.1. config.json "public_url", else
    # $KIOSK_PUBLIC_URL; unset: the address the request came in on.
    public_url: str | None = None

    def session_info(self) -> dict[str, Any]:
        """What every database session of this kiosk carries (shared.db.session_factory)."""
        return {holder_keys.SESSION_INFO_KEY: str(self.holder_key_dir or
                                                  holder_keys.default_directory(str(self.home)))}


def home_from(value: str | None) -> Path:
    """The instance folder: --home, else KIOSK_HOME, else ./instance."""
    return Path(value or os.environ.get("KIOSK_HOME") or DEFAULT_HOME).resolve()


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ensure_home(home: Path, database_url: str | None = None) -> None:
    """Create the instance folder and any missing secret (0600) and config.json."""
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    if not (home / SECRET_FILE).exists():
        _write_secret(home / SECRET_FILE, secrets.token_hex(32).encode())
    if not (home / SIGNING_KEY_FILE).exists():
        _write_secret(home / SIGNING_KEY_FILE, crypto.generate_signing_key().hex().encode())
    config_path = home / CONFIG_FILE
    if not config_path.exists() or database_url:
        url = database_url or f"sqlite:///{home / 'kiosk.db'}"
        config_path.write_text(json.dumps({"database_url": url}, indent=2) + "\n", encoding="utf-8")


def _read_secret(path: Path) -> str:
    if not path.exists():
        raise ConfigError(f"Thiếu tệp bí mật {path}; chạy `kiosk init` trước.")
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"Tệp bí mật {path} phải chỉ chủ sở hữu đọc được (chmod 600).")
    value = path.read_text(encoding="utf-8").strip()
    if weak_secret(value):
        raise ConfigError(f"Tệp bí mật {path} rỗng hoặc là giá trị mặc định.")
    return value


def load_config(home: Path, **overrides: object) -> KioskConfig:
    """Read the instance folder; ConfigError if anything is missing or unsafe."""
    config_path = home / CONFIG_FILE
    if not config_path.exists():
        raise ConfigError(f"Không tìm thấy {config_path}; chạy `kiosk init` trước.")
    try:
        settings = json_input.read_file(config_path, f"Tệp cấu hình {config_path}", 1024 * 1024)
    except json_input.JsonRefused as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(settings, dict) or not isinstance(settings.get("database_url"), str):
        raise ConfigError(f"{config_path}: phải là một đối tượng JSON có “database_url”.")
    values: dict[str, object] = {
        "home": home,
        "database_url": os.environ.get("KIOSK_DATABASE_URL") or settings["database_url"],
        "secret_key": _read_secret(home / SECRET_FILE),
        "signing_key": bytes.fromhex(_read_secret(home / SIGNING_KEY_FILE)),
    }
    # Optional tuning keys (idle limits, for rehearsals and tests); anything else is ignored.
    for key in OPTIONAL_INT_KEYS:
        if key in settings:
            value = settings[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{config_path}: “{key}” phải là số nguyên không âm.")
            values[key] = value
    directory = settings.get("holder_key_dir") or os.environ.get(holder_keys.ENV_DIR)
    if directory is not None:
        if not isinstance(directory, str) or not directory:
            raise ConfigError(f"{config_path}: “holder_key_dir” phải là đường dẫn thư mục.")
        values["holder_key_dir"] = Path(directory)
    public_url = settings.get("public_url") or os.environ.get("KIOSK_PUBLIC_URL")
    if public_url is not None:
        if not isinstance(public_url, str) or not public_url.startswith(("https://", "http://")) \
                or any(c in public_url for c in "?#\"'<> "):
            raise ConfigError(f"{config_path}: “public_url” phải là địa chỉ dạng https://192.168.1.10:8443.")
        values["public_url"] = public_url.rstrip("/")
    values.update(overrides)
    return KioskConfig(**values)  # type: ignore[arg-type]
