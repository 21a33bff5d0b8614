"""The LAN certificate authority page: lets a tablet install the kiosk's CA certificate.

`kiosk tls --out $KIOSK_HOME/tls` writes tls/ca.pem into the instance folder; this page
(public: a tablet must install it before anyone logs in) offers it with a QR code of the
download address and the SHA-256 fingerprint to compare before trusting it.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, send_file

from kiosk import lan
from kiosk.qr import qr_data_uri

bp = Blueprint("ca", __name__)
CA_MIMETYPE = "application/x-x509-ca-cert"


def ca_path() -> Path:
    """Where `kiosk tls --out $KIOSK_HOME/tls` puts the CA certificate."""
    home: Path = current_app.extensions["kiosk_config"].home
    return home / "tls" / "ca.pem"


def ca_fingerprint(pem: str) -> str:
    """SHA-256 of the certificate (DER), grouped as browsers and phones show it."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@bp.get("/ca")
def page() -> Any:
    path = ca_path()
    if not path.is_file():
        return render_template("ca.html", url=None, qr=None, fingerprint=None), 404
    url = lan.external_url("ca.download")
    return render_template("ca.html", url=url, qr=qr_data_uri(url),
                           fingerprint=ca_fingerprint(path.read_text(encoding="ascii")))


@bp.get("/ca.pem")
def download() -> Any:
    path = ca_path()
    if not path.is_file():
        return render_template("ca.html", url=None, qr=None, fingerprint=None), 404
    return send_file(path, mimetype=CA_MIMETYPE, as_attachment=True,
                     download_name="kiosk-ca.crt", max_age=0)
