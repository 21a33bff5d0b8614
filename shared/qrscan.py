"""Read a QR code from a camera frame: the booth's slips and the counter's share cards.

Both apps take the same fallback where the browser has no BarcodeDetector: the page
posts video frames and the server decodes them with zxing-cpp (a maintained C++ decoder
with wheels; Pillow reads the frame). Callers never log or echo the decoded text.
"""

from __future__ import annotations

from typing import BinaryIO

# A camera frame is at most a few megapixels; anything bigger is not a frame (and Pillow's
# own decompression-bomb limit is far higher than a camera ever needs).
MAX_FRAME_PIXELS = 4096 * 4096


def decode_qr_image(data: BinaryIO) -> str | None:
    """The text of the first QR code in an image (JPEG, PNG, WebP...), or None.

    zxing-cpp finds the code at any rotation and size; a picture that is not an image,
    or too large to be a camera frame, is simply "no code". Callers never log the text.
    """
    # Loaded at the first frame, not at start-up: zxing-cpp and Pillow are heavy, and only a
    # camera scan without a BarcodeDetector in the browser needs them.
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
