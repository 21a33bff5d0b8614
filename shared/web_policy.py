"""What both web apps promise every browser: the same strict headers and no weak secret.

Plain data and checks, Flask-free like the rest of shared/; kiosk/app.py and counter/app.py
apply them. Each app adds only what differs and says why (the kiosk's Referrer-Policy and
HSTS).
"""

from __future__ import annotations

from pathlib import Path

# No inline script or style, no third-party assets, never framed: the pages show slips,
# share forms and results, so a script injected anywhere must have nowhere to run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages may show slips, shares, choices or results marked Mật: never keep them in a cache.
    "Cache-Control": "no-store",
}

# Scripts both apps' pages use (qr-camera.js: the camera's QR loop of the booth and of the
# share card), one copy in shared/; each app factory serves the folder at this path.
STATIC_FOLDER = Path(__file__).resolve().parent / "static"
STATIC_URL_PATH = "/shared"

# Session secrets a person might type by hand or leave from an example: refused everywhere.
DEFAULT_SECRETS = frozenset({"", "dev", "development", "secret", "changeme", "change-me",
                             "change_me", "default", "test", "testing", "counter", "kiosk"})
MIN_SECRET_LENGTH = 32


def weak_secret(secret_key: str) -> bool:
    """True for a missing, default or short session secret (it would let anyone forge sessions)."""
    return secret_key.strip().lower() in DEFAULT_SECRETS or len(secret_key.strip()) < MIN_SECRET_LENGTH


def local_path(target: str, fallback: str) -> str:
    """target if it is a path on this server (where a form may send the browser back), else
    fallback: another host, `//host`, a scheme or a backslash never leave the app."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback
