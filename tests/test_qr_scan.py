"""The booth's camera fallback: frames decoded on the kiosk with zxing-cpp.

Slips are rendered with the project's own QR settings (kiosk/qr.py: error correction M,
quiet zone 4) through qrcode's PIL image factory, at several sizes and rotations, as a
tablet camera would see them; then posted to /booth/scan as the page does.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from kiosk.qr import decode_qr_image
from shared import voting, web_policy
from shared.models import NO_HASH, Ballot, Token
from tests.factories import election_spec
from tests.kiosk_client import CSRF_RE, Meeting, make_app
from tests.qr_images import encoded, slip_image

SIZES = (2, 3, 5, 8, 12)  # pixels per QR module
ROTATIONS = (0, 9, 30, 45, 90, 135, 180, 270)


@pytest.mark.parametrize("box_size", SIZES)
def test_slip_qr_decodes_at_every_size_and_rotation(box_size: int) -> None:
    _token, code = voting.new_token_code()
    for rotation in ROTATIONS:
        for fmt in ("JPEG", "PNG"):
            data = encoded(slip_image(code, box_size, rotation), fmt)
            assert decode_qr_image(io.BytesIO(data)) == code, (box_size, rotation, fmt)


def test_pictures_without_a_slip_decode_to_nothing() -> None:
    blank = encoded(Image.new("RGB", (640, 480), (90, 90, 90)))
    assert decode_qr_image(io.BytesIO(blank)) is None
    assert decode_qr_image(io.BytesIO(b"not an image at all")) is None
    assert decode_qr_image(io.BytesIO(b"")) is None
    huge = encoded(Image.new("L", (5000, 4000), 255), "PNG")  # bigger than any camera frame
    assert decode_qr_image(io.BytesIO(huge)) is None


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def scan(tablet, data: bytes):  # type: ignore[no-untyped-def]
    """POST one frame as kiosk.js does: the body is the JPEG, the CSRF token in a header."""
    match = CSRF_RE.search(tablet.get("/booth/").get_data(as_text=True))
    assert match
    return tablet.post("/booth/scan", data=data, content_type="image/jpeg",
                       headers={"X-CSRFToken": match.group(1)})


def test_a_scanned_slip_opens_the_ballot_and_the_code_is_never_logged(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    tablet = meeting.booth()
    codes = [meeting.slip(f"V{i:03d}") for i in range(1, 4)]
    meeting.chair_action("open")
    caplog.set_level(logging.DEBUG)
    response = scan(tablet, encoded(slip_image(codes[0], 4, 30)))
    assert response.get_json() == {"status": "ok", "next": "/booth/ballot"}
    assert tablet.get("/booth/ballot").status_code == 200  # the voter's session is open
    assert codes[0] not in response.get_data(as_text=True)
    assert codes[0] not in caplog.text and codes[0].replace("-", "") not in caplog.text
    # Nothing was spent by scanning; the ballot is cast as usual afterwards.
    assert meeting.scalar(select(func.count()).select_from(Token).where(Token.state == "spent")) == 0


def test_a_scanned_used_slip_gets_its_message_and_changes_nothing(app: Flask) -> None:
    from tests.test_kiosk_web import vote

    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    tablet = meeting.booth()
    codes = [meeting.slip(f"V{i:03d}") for i in range(1, 4)]
    meeting.chair_action("open")
    # Cast on another tablet: the one that cast it answers "recorded" for a while.
    vote(meeting.booth(), codes[0], [0, 1])
    response = scan(tablet, encoded(slip_image(codes[0], 5, 0)))
    assert response.get_json()["status"] == "error"
    assert "đã được sử dụng" in response.get_json()["message"]
    assert scan(tablet, encoded(Image.new("RGB", (320, 240)))).get_json() == {"status": "none"}
    assert meeting.scalar(select(func.count()).select_from(Ballot).where(Ballot.fingerprint != NO_HASH)) == 1


def test_scan_needs_a_paired_booth_and_a_csrf_token(app: Flask) -> None:
    from tests.kiosk_client import client

    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    tablet = meeting.booth()
    frame = encoded(slip_image(meeting.slip("V001"), 4, 0))
    assert tablet.post("/booth/scan", data=frame, content_type="image/jpeg").status_code == 400
    stranger = client(app)  # an unpaired browser: refused for its missing token, then for not being paired
    assert stranger.post("/booth/scan", data=frame, content_type="image/jpeg").status_code == 400
    token = CSRF_RE.search(stranger.get("/booth/pair").get_data(as_text=True))
    assert token
    assert stranger.post("/booth/scan", data=frame, content_type="image/jpeg",
                         headers={"X-CSRFToken": token.group(1)}).status_code == 403


def test_the_start_page_loads_the_camera_loop_the_counter_serves_too(app: Flask) -> None:
    meeting = Meeting(app, election_spec(persons=2, voters=3))
    meeting.ceremony()
    tablet = meeting.booth()
    page = tablet.get("/booth/").get_data(as_text=True)
    assert 'id="camera" hidden' in page and 'src="/shared/qr-camera.js"' in page
    served = tablet.get("/shared/qr-camera.js")
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    assert served.get_data() == (web_policy.STATIC_FOLDER / "qr-camera.js").read_bytes()
    assert served.headers["Content-Security-Policy"] == web_policy.CONTENT_SECURITY_POLICY


SLIP_RE = re.compile(r'<article class="slip".*?<img src="([^"]+)".*?class="code slip-code"[^>]*>([^<]+)<',
                     re.DOTALL)
CELL = 160  # px per slip QR in the test sheet: 4 px per module (33 with the quiet zone), padded


@pytest.mark.sqlite_only  # a browser test: the database plays no part in drawing the codes
def test_every_qr_on_a_real_500_slip_sheet_decodes_to_the_code_printed_beside_it(app: Flask) -> None:
    """The desk's own 500-slip page, its SVGs drawn by Chromium, read back by the booth's decoder."""
    from tests.browser import chromium_page
    from tests.kiosk_client import post

    meeting = Meeting(app, election_spec(persons=1, voters=500))
    meeting.ceremony()
    page = post(meeting.desk, f"/desk/{meeting.id}/batch", f"/desk/{meeting.id}",
                {"voter_id": [f"V{i:03d}" for i in range(1, 501)]})
    slips = SLIP_RE.findall(page.get_data(as_text=True))
    assert len(slips) == 500 and len({code for _src, code in slips}) == 500
    assert all(src.startswith("data:image/svg+xml;base64,") for src, _code in slips)
    side = 10  # Chromium draws the codes 10 x 10 a screenshot, as big as a printed sheet
    unread = []
    with chromium_page() as browser:
        browser.set_viewport_size({"width": CELL * side, "height": CELL * side})
        for first in range(0, len(slips), side * side):
            chunk = slips[first:first + side * side]
            browser.set_content('<body style="margin:0;background:#fff">' + "".join(
                f'<img src="{src}" style="position:absolute;left:{CELL * (i % side) + 14}px;'
                f'top:{CELL * (i // side) + 14}px;width:132px;height:132px">'
                for i, (src, _code) in enumerate(chunk)) + "</body>")
            sheet = Image.open(io.BytesIO(browser.screenshot(timeout=120_000))).convert("L")
            for i, (_src, code) in enumerate(chunk):
                x, y = CELL * (i % side), CELL * (i // side)
                frame = encoded(sheet.crop((x, y, x + CELL, y + CELL)), "PNG")
                if decode_qr_image(io.BytesIO(frame)) != code:
                    unread.append(first + i)
    assert unread == []
