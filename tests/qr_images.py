"""QR slips as a tablet camera sees them, for the decoder tests of the booth and the counter."""

from __future__ import annotations

import io

import qrcode
from PIL import Image, ImageFilter
from qrcode.image.pil import PilImage


def slip_image(code: str, box_size: int, rotation: float, background: int = 110) -> Image.Image:
    """A slip's QR as the camera sees it: turned, on a darker table, a little blurred."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4,
                       image_factory=PilImage)
    qr.add_data(code)
    qr.make(fit=True)
    image = qr.make_image().get_image().convert("L").rotate(rotation, expand=True, fillcolor=255)
    frame = Image.new("L", (image.width + 120, image.height + 80), background)
    frame.paste(image, (60, 40))
    return frame.filter(ImageFilter.GaussianBlur(0.6)).convert("RGB")


def encoded(image: Image.Image, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, quality=85) if fmt == "JPEG" else image.save(buffer, fmt)
    return buffer.getvalue()
