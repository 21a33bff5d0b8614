"""QR codes: drawn as SVG data URIs (no script, allowed by the page CSP), and read back
from a camera frame for booths whose browser has no BarcodeDetector."""

from __future__ import annotations

import base64
import io
from typing import BinaryIO

import qrcode
import qrcode.image.svg

# A camera frame is at most a few megapixels; anything bigger is not a frame (and Pillow's
# own decompression-bomb limit is far higher than a booth ever needs).
MAX_FRAME_PIXELS = 4096 * 4096


def qr_data_uri(text: str) -> str:
    """An <img src> for a QR code of text (error correction M: survives a crease)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(text)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def decode_qr_image(data: BinaryIO) -> str | None:
    """The text of the first QR code in an image (JPEG, PNG, WebP...), or None.

    zxing-cpp finds the code at any rotation and size; a picture that is not an image,
    or too large to be a camera frame, is simply "no code". Callers never log the text.
    """
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(data) as image:
            if image.width * image.height > MAX_FRAME_PIXELS:
                return None
            gray = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    for barcode in zxingcpp.read_barcodes(gray, formats=qr_only):
        if barcode.valid and barcode.text:
            return str(barcode.text)
    return None
