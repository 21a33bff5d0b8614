"""Key share cards: what each counting-board member holds (format version 2).

A card's typed form is Crockford base32 with a check symbol, in groups of four, over
  index (1 byte) || first 8 bytes of the manifest hash || share xᵢ (32 bytes, little-endian)
(docs/crypto-protocol.md 2). The manifest-hash prefix ties the card to one election's exact
manifest (and so to the kiosk's and the counter's signing keys); the Feldman commitments in
the manifest check each card on its own: xᵢ·G must equal the member's public share key.

No function here rebuilds the election key: each card decrypts the totals on its own
(shared/tally.py), so the whole key never exists again after the ceremony.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared import codes, elgamal, json_input
from shared.canonical import digest
from shared.errors import N_, ShareError

CARD_BYTES = 1 + 8 + elgamal.SCALAR_BYTES
SHARE_FORMAT = "cv-share"
SHARE_VERSION = 2
SHARE_FIELDS = frozenset({"format", "version", "election_id", "manifest_hash", "index", "member", "code"})
MAX_SHARE_BYTES = 16 * 1024


@dataclass(frozen=True)
class ShareCard:
    """One member's share of the election key."""

    election_id: str
    manifest_hash: str
    index: int
    member: str
    share: elgamal.KeyShare

    def __repr__(self) -> str:  # never print the share
        return f"ShareCard(election_id={self.election_id!r}, index={self.index}, member={self.member!r})"

    @property
    def code(self) -> str:
        """The typed form printed on the card (also the QR content)."""
        raw = (bytes([self.index]) + bytes.fromhex(self.manifest_hash[:16])
               + self.share.value.to_bytes(elgamal.SCALAR_BYTES, "little"))
        return codes.grouped(codes.with_check(raw))

    def to_json(self) -> str:
        """The share file written by `counter ceremony --shares-dir`."""
        return json.dumps({"format": SHARE_FORMAT, "version": SHARE_VERSION, "election_id": self.election_id,
                           "manifest_hash": self.manifest_hash, "index": self.index,
                           "member": self.member, "code": self.code},
                          ensure_ascii=False, indent=2)


def parse_code(typed: str, manifest: dict[str, Any], manifest_hash: str) -> ShareCard:
    """Read a typed or scanned share code for this election's manifest; ShareError if not."""
    try:
        raw = codes.decode_checked(typed, CARD_BYTES)
    except codes.CodeError as exc:
        raise ShareError(N_("Mã mảnh khóa gõ sai (sai độ dài hoặc ký tự kiểm tra). "
                            "Vui lòng kiểm tra lại.")) from exc
    index, prefix = raw[0], raw[1:9].hex()
    if prefix != manifest_hash[:16]:
        raise ShareError(N_("Mảnh khóa này thuộc cuộc lấy phiếu khác (không khớp hòm phiếu)."))
    commitments = [elgamal.element(bytes.fromhex(c)) for c in manifest["share_commitments"]]
    try:
        share = elgamal.KeyShare(index, elgamal.scalar(raw[9:]))
        elgamal.check_share(commitments, share)
    except elgamal.ProofError as exc:
        raise ShareError(N_("Mảnh khóa số %(index)s không đúng (không khớp cam kết trong hòm phiếu)."),
                         index=index) from exc
    members = {m["index"]: m["name"] for m in manifest["board"]["members"]}
    if index not in members:
        raise ShareError(N_("Không có thành viên Ban kiểm phiếu số %(index)s."), index=index)
    return ShareCard(manifest["election_id"], manifest_hash, index, members[index], share)


def parse_share_file(text: str, manifest: dict[str, Any], manifest_hash: str) -> ShareCard:
    """Read a share file (JSON with a "code") or a bare code."""
    text = text.strip()
    if not text:
        raise ShareError(N_("Tệp mảnh khóa rỗng: không có mã mảnh khóa nào."))
    if text.startswith("{"):
        try:
            data = json_input.parse(text.encode("utf-8"), "Tệp mảnh khóa", MAX_SHARE_BYTES)
        except json_input.JsonRefused as exc:
            raise ShareError(exc.message_id, **exc.params) from None
        if not isinstance(data, dict) or data.get("format") != SHARE_FORMAT:
            raise ShareError(N_("Tệp mảnh khóa sai định dạng (không phải cv-share)."))
        if type(data.get("version")) is int and data["version"] == 1:
            raise ShareError(N_("Mảnh khóa phiên bản 1 (bản HPKE trước đây): không dùng được với "
                                "hòm phiếu phiên bản 2."))
        if set(data) != SHARE_FIELDS or type(data["version"]) is not int or data["version"] != SHARE_VERSION \
                or not isinstance(data["code"], str):
            raise ShareError(N_("Tệp mảnh khóa sai định dạng (sai phiên bản, thiếu hoặc thừa trường)."))
        text = data["code"]
    return parse_code(text, manifest, manifest_hash)


def chosen_cards(cards: Sequence[ShareCard], manifest: dict[str, Any]) -> list[ShareCard]:
    """k distinct valid cards of this exact manifest, by index; ShareError if fewer."""
    threshold = int(manifest["board"]["threshold"])
    # A card is bound to one exact manifest: a box re-signed around another manifest (other
    # names, another kiosk key) must not be counted with it, whoever parsed the card.
    if any(c.manifest_hash != digest(manifest) for c in cards):
        raise ShareError(N_("Mảnh khóa này thuộc cuộc lấy phiếu khác (không khớp hòm phiếu)."))
    distinct = {c.index: c for c in cards}
    if len(distinct) < threshold:
        raise ShareError(N_("Cần ít nhất %(threshold)s mảnh khóa khác nhau; mới có %(given)s."),
                         threshold=threshold, given=len(distinct))
    return [distinct[i] for i in sorted(distinct)[:threshold]]
