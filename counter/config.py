"""The counter's configuration and its home folder (COUNTER_HOME).

COUNTER_HOME holds:
  secret_key   Flask session/CSRF secret (mode 0600), never shared with the kiosk
  signing_key  the counter's Ed25519 private key, hex (mode 0600): signs the results
  boxes/       imported sealed boxes, <election_id>.json
  results/     signed results, <election_id>.json
  counting/    a running count's lock and progress, <election_id>.lock/.json (no secrets)
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from shared import crypto
from shared.web_policy import MIN_SECRET_LENGTH, weak_secret

HOME_ENV = "COUNTER_HOME"
COUNT_WAIT_ENV = "COUNTER_COUNT_WAIT"  # set by `counter serve --count-wait`
DEFAULT_HOME = "counter-home"
SECRET_FILE = "secret_key"
SIGNING_KEY_FILE = "signing_key"
BOXES_DIR = "boxes"
RESULTS_DIR = "results"
# Secrets that tutorials and sample configs ship with; a counter must never run on one.
# A large election's box (audit chain of thousands of events) stays well under this.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
# A count still running after this long is watched on its progress page instead.
COUNT_WAIT_SECONDS = 3.0


class ConfigError(Exception):
    """The counter home is missing, incomplete or holds an unsafe secret."""


@dataclass(frozen=True)
class CounterConfig:
    """Everything the counter app and CLI need, read once from COUNTER_HOME."""

    home: Path
    secret_key: str = field(repr=False)
    signing_key: bytes = field(repr=False)
    csrf_enabled: bool = True
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    count_wait_seconds: float = COUNT_WAIT_SECONDS

    @property
    def boxes_dir(self) -> Path:
        """Where imported boxes live."""
        return self.home / BOXES_DIR

    @property
    def results_dir(self) -> Path:
        """Where signed results live."""
        return self.home / RESULTS_DIR


def home_path(cli_home: str | None = None) -> Path:
    """COUNTER_HOME from --home, else the environment, else ./counter-home."""
    return Path(cli_home or os.environ.get(HOME_ENV) or DEFAULT_HOME)


def _write_secret(path: Path, text: str) -> None:
    # O_EXCL + 0600 at creation: the secret is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")


def ensure_home(path: Path) -> Path:
    """Create the home folders and any missing secret (0600); existing secrets are kept."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    (path / BOXES_DIR).mkdir(mode=0o700, exist_ok=True)
    (path / RESULTS_DIR).mkdir(mode=0o700, exist_ok=True)
    if not (path / SECRET_FILE).exists():
        _write_secret(path / SECRET_FILE, secrets.token_hex(32))
    if not (path / SIGNING_KEY_FILE).exists():
        _write_secret(path / SIGNING_KEY_FILE, crypto.generate_signing_key().hex())
    return path


def _read_secret(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"Thiếu tệp bí mật {path}. Chạy một lệnh `counter` để tạo, "
                          "hoặc chỉ đúng thư mục bằng --home / COUNTER_HOME.")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(f"Tệp bí mật {path} đọc được bởi người khác; cần quyền 0600 "
                          f"(chmod 600 {path}).")
    return path.read_text(encoding="ascii").strip()


def check_secret(secret_key: str) -> None:
    """Refuse a missing, default or short session secret (shared/web_policy.py: no default secrets)."""
    if weak_secret(secret_key):
        raise ConfigError("Khóa bí mật của ứng dụng kiểm phiếu bị thiếu, quá ngắn hoặc là giá trị "
                          f"mặc định; cần ít nhất {MIN_SECRET_LENGTH} ký tự ngẫu nhiên.")


def load_config(path: Path, csrf_enabled: bool = True) -> CounterConfig:
    """Read COUNTER_HOME; ConfigError if a secret is missing, unsafe or malformed."""
    secret_key = _read_secret(path / SECRET_FILE)
    check_secret(secret_key)
    try:
        signing_key = bytes.fromhex(_read_secret(path / SIGNING_KEY_FILE))
    except ValueError as exc:
        raise ConfigError(f"Khóa ký {path / SIGNING_KEY_FILE} sai định dạng (cần 64 ký tự hex).") from exc
    if len(signing_key) != 32:
        raise ConfigError(f"Khóa ký {path / SIGNING_KEY_FILE} sai độ dài (cần 32 byte).")
    return CounterConfig(home=path, secret_key=secret_key, signing_key=signing_key,
                         csrf_enabled=csrf_enabled, count_wait_seconds=_count_wait())


def _count_wait() -> float:
    text = os.environ.get(COUNT_WAIT_ENV, "")
    if not text:
        return COUNT_WAIT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 600:
        raise ConfigError(f"{COUNT_WAIT_ENV} phải là số giây từ 0 đến 600.")
    return seconds
