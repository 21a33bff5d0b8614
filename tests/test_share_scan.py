"""Share cards scanned with the counter laptop's camera: frames decoded on the counter.

The card's QR is drawn as the kiosk's card printer draws it (kiosk/qr.py: the share code,
error correction M, quiet zone 4), through qrcode's PIL image factory, at several sizes and
rotations, as a laptop camera would see it; frames are posted as share-camera.js posts them.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from counter.config import CounterConfig, ensure_home, load_config
from counter.presenting import NO_CODE
from shared import web_policy
from shared.qrscan import decode_qr_image
from tests.counter_support import Browser, counter_home, share_forms
from tests.documents_support import KnownBox, known_box
from tests.qr_images import encoded, slip_image
from tests.test_documents_web import import_box, make_app, results_of

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> KnownBox:
    return known_box(tmp_path_factory.mktemp("known"))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> KnownBox:
    return known_box(tmp_path_factory.mktemp("foreign"))


@pytest.fixture
def config(tmp_path: Path) -> CounterConfig:
    return load_config(ensure_home(counter_home(tmp_path / "home")))


@pytest.fixture
def browser(config: CounterConfig) -> Browser:
    return Browser(make_app(config).test_client())


def card_frame(code: str, box_size: int = 4, rotation: float = 0, fmt: str = "JPEG") -> bytes:
    return encoded(slip_image(code, box_size, rotation), fmt)


def post_frame(browser: Browser, election_id: str, frame: bytes, csrf: bool = True) -> dict[str, str]:
    match = CSRF.search(browser.get(f"/boxes/{election_id}").get_data(as_text=True))
    assert match
    response = browser.post(f"/boxes/{election_id}/shares/scan", data=frame, content_type="image/jpeg",
                            headers={"X-CSRFToken": match.group(1)} if csrf else {})
    if not csrf:
        assert response.status_code == 400
        return {}
    assert response.status_code == 200 and response.mimetype == "application/json"
    answer: dict[str, str] = response.get_json()
    return answer


@pytest.mark.parametrize("box_size", (2, 4, 7, 11))
def test_share_card_qr_decodes_to_the_share_at_every_size_and_rotation(election: KnownBox, box_size: int) -> None:
    code = election.cards[0].code
    for rotation in (0, 15, 45, 90, 180, 250):
        for fmt in ("JPEG", "PNG"):
            assert decode_qr_image(io.BytesIO(card_frame(code, box_size, rotation, fmt))) == code


def test_scanned_cards_count_up_then_the_kth_counts_the_box(
        browser: Browser, config: CounterConfig, election: KnownBox) -> None:
    eid = election.election_id
    import_box(browser, election.box)
    first = post_frame(browser, eid, card_frame(election.cards[2].code, 5, 30))
    assert first == {"status": "ok", "next": f"/boxes/{eid}"}
    page = browser.get(f"/boxes/{eid}").get_data(as_text=True)
    assert "Đã nhận mảnh khóa số 3 (Lê Văn Kiểm 3). Đã có 1/2 mảnh khóa; cần thêm 1." in page
    second = post_frame(browser, eid, card_frame(election.cards[0].code, 3, 270, "PNG"))
    assert second["status"] == "ok" and second["next"] == f"/boxes/{eid}/report"
    document = results_of(config, eid)
    assert document is not None and document["ballots_collected"] == 7
    leaked = [form for card in election.cards for form in share_forms(card)]
    for response in browser.responses:  # never echoed: not in a body, a header or a URL
        seen = response.get_data(as_text=True) + str(response.headers) + response.request.url
        assert not any(secret in seen for secret in leaked), response.request.path


def test_a_scanned_card_of_another_election_is_named_and_not_taken(
        browser: Browser, config: CounterConfig, election: KnownBox, foreign: KnownBox) -> None:
    eid = election.election_id
    import_box(browser, election.box)
    answer = post_frame(browser, eid, card_frame(foreign.cards[1].code, 4, 90))
    assert answer["status"] == "error"
    assert answer["message"] == ("Mảnh khóa vừa nhập bị từ chối: Mảnh khóa này thuộc cuộc lấy phiếu khác "
                                 "(không khớp hòm phiếu).")
    assert "<strong>0/2</strong>" in browser.get(f"/boxes/{eid}").get_data(as_text=True)
    assert results_of(config, eid) is None


def test_a_repeated_card_is_named_by_its_number(browser: Browser, election: KnownBox) -> None:
    eid = election.election_id
    import_box(browser, election.box)
    assert post_frame(browser, eid, card_frame(election.cards[1].code))["status"] == "ok"
    answer = post_frame(browser, eid, card_frame(election.cards[1].code, 6, 45))
    assert answer["status"] == "error" and "Mảnh khóa số 2 đã được nhập rồi" in answer["message"]


@pytest.mark.parametrize("frame", [
    b"",
    b"not an image at all",
    encoded(slip_image("", 4, 0).convert("L").point(lambda _: 128).convert("RGB")),  # a grey frame
    json.dumps({"share": "x"}).encode(),
])
def test_a_frame_without_a_code_says_no_code_found_and_changes_nothing(
        browser: Browser, config: CounterConfig, election: KnownBox, frame: bytes) -> None:
    eid = election.election_id
    import_box(browser, election.box)
    assert post_frame(browser, eid, frame) == {"status": "none", "message": NO_CODE}
    assert "<strong>0/2</strong>" in browser.get(f"/boxes/{eid}").get_data(as_text=True)


def test_a_frame_needs_the_csrf_token(browser: Browser, election: KnownBox) -> None:
    import_box(browser, election.box)
    post_frame(browser, election.election_id, card_frame(election.cards[0].code), csrf=False)
    assert "<strong>0/2</strong>" in browser.get(f"/boxes/{election.election_id}").get_data(as_text=True)


def test_the_share_page_offers_the_camera_from_a_file_script(browser: Browser, election: KnownBox) -> None:
    import_box(browser, election.box)
    page = browser.get(f"/boxes/{election.election_id}").get_data(as_text=True)
    assert 'id="share-camera" hidden' in page and "Quét thẻ bằng camera" in page
    assert f'data-scan-url="/boxes/{election.election_id}/shares/scan"' in page
    assert 'src="/static/share-camera.js"' in page and "<script>" not in page
    # The camera loop itself is the one file of shared/static that the kiosk's booth loads too.
    assert 'src="/shared/qr-camera.js"' in page
    served = browser.get("/shared/qr-camera.js")
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    assert served.get_data() == (web_policy.STATIC_FOLDER / "qr-camera.js").read_bytes()
    assert served.headers["Content-Security-Policy"] == web_policy.CONTENT_SECURITY_POLICY


def test_frames_for_an_unknown_box_are_not_found(browser: Browser, election: KnownBox) -> None:
    import_box(browser, election.box)
    match = CSRF.search(browser.get(f"/boxes/{election.election_id}").get_data(as_text=True))
    assert match
    for path in ("/boxes/KHONGCO123/shares/scan", "/boxes/..%2Fboxes/shares/scan"):
        response = browser.post(path, data=card_frame(election.cards[0].code), content_type="image/jpeg",
                                headers={"X-CSRFToken": match.group(1)})
        assert response.status_code == 404
