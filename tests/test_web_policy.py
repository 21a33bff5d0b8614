"""Both web apps refuse the same weak session secrets and send the same strict headers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from counter import config as counter_config
from kiosk import config as kiosk_config
from shared.web_policy import DEFAULT_SECRETS, MIN_SECRET_LENGTH, SECURITY_HEADERS, weak_secret

WEAK = sorted(DEFAULT_SECRETS) + ["ChangeMe", " changeme ", "x" * (MIN_SECRET_LENGTH - 1)]


def _put_secret(path: Path, value: str) -> None:
    path.write_text(value, encoding="utf-8")
    os.chmod(path, 0o600)


@pytest.mark.parametrize("secret", WEAK)
def test_a_weak_secret_is_refused_by_the_kiosk_and_the_counter(tmp_path: Path, secret: str) -> None:
    assert weak_secret(secret)
    kiosk_home = tmp_path / "kiosk"
    kiosk_config.ensure_home(kiosk_home)
    _put_secret(kiosk_home / kiosk_config.SECRET_FILE, secret)
    with pytest.raises(kiosk_config.ConfigError):
        kiosk_config.load_config(kiosk_home)
    counter_home = counter_config.ensure_home(tmp_path / "counter")
    _put_secret(counter_home / counter_config.SECRET_FILE, secret)
    with pytest.raises(counter_config.ConfigError):
        counter_config.load_config(counter_home)


def test_a_random_secret_is_accepted_by_both(tmp_path: Path) -> None:
    kiosk_home = tmp_path / "kiosk"
    kiosk_config.ensure_home(kiosk_home)
    assert kiosk_config.load_config(kiosk_home).secret_key
    assert counter_config.load_config(counter_config.ensure_home(tmp_path / "counter")).secret_key


def test_the_shared_headers_forbid_inline_code_framing_and_caching() -> None:
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert SECURITY_HEADERS["Cache-Control"] == "no-store" and SECURITY_HEADERS["X-Frame-Options"] == "DENY"
