"""QR codes: drawn as SVG data URIs (no script, allowed by the page CSP), and read back
from a camera frame for booths whose browser has no BarcodeDetector (shared/qrscan.py,
which the counter uses for share cards too)."""

from __future__ import annotations

import base64
import itertools

import qrcode

from shared.qrscan import decode_qr_image

__all__ = ["decode_qr_image", "qr_data_uri"]

QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 asks


def qr_data_uri(text: str) -> str:
    """An <img src> for a QR code of text (error correction M: survives a crease)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    qr.add_data(text)
    qr.make(fit=True)
    return "data:image/svg+xml;base64," + base64.b64encode(_svg(qr.modules).encode()).decode()


def _svg(modules: list[list[bool | None]]) -> str:
    """The code as one SVG path, in module units, with its quiet zone on white.

    One rectangle per horizontal run of dark modules: qrcode's own SVG factories draw a
    square per module, which made most of a 500-slip sheet's time and a third of its size.
    """
    size = len(modules) + 2 * QUIET_ZONE
    runs = []
    for y, row in enumerate(modules, start=QUIET_ZONE):
        x = QUIET_ZONE
        for dark, group in itertools.groupby(row):
            length = sum(1 for _ in group)
            if dark:
                runs.append(f"M{x},{y}h{length}v1h-{length}z")
            x += length
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
            f'shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path d="{"".join(runs)}"/></svg>')
