"""Key share cards: what each counting-board member holds, and how k of them rebuild the key.

A card's typed form is Crockford base32 with a check symbol, in groups of four, over
  index (1 byte) || first 8 bytes of the manifest hash || share (32 bytes).
The manifest-hash prefix ties the card to one election's exact manifest (and so to the
kiosk's signing key); the share commitments in the manifest name a wrong share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from shared import codes, crypto
from shared.canonical import digest
from shared.errors import ShareError

CARD_BYTES = 1 + 8 + crypto.SHARE_LENGTH


@dataclass(frozen=True)
class ShareCard:
    """One member's share of the election key."""

    election_id: str
    manifest_hash: str
    index: int
    member: str
    share: bytes

    @property
    def code(self) -> str:
        """The typed form printed on the card (also the QR content)."""
        raw = bytes([self.index]) + bytes.fromhex(self.manifest_hash[:16]) + self.share
        return codes.grouped(codes.with_check(raw))

    def to_json(self) -> str:
        """The share file written by `kiosk election create --shares-dir`."""
        return json.dumps({"format": "cv-share", "version": 1, "election_id": self.election_id,
                           "manifest_hash": self.manifest_hash, "index": self.index,
                           "member": self.member, "code": self.code},
                          ensure_ascii=False, indent=2)


def parse_code(typed: str, manifest: dict[str, Any], manifest_hash: str) -> ShareCard:
    """Read a typed or scanned share code for this election's manifest; ShareError if not."""
    try:
        raw = codes.decode_checked(typed, CARD_BYTES)
    except codes.CodeError as exc:
        raise ShareError("Mã mảnh khóa gõ sai (sai độ dài hoặc ký tự kiểm tra). "
                         "Vui lòng kiểm tra lại.") from exc
    index, prefix, share = raw[0], raw[1:9].hex(), raw[9:]
    if prefix != manifest_hash[:16]:
        raise ShareError("Mảnh khóa này thuộc cuộc lấy phiếu khác (không khớp hòm phiếu).")
    commitments = {c["index"]: c["hash"] for c in manifest["share_commitments"]}
    election_id = manifest["election_id"]
    if commitments.get(index) != crypto.share_commitment(election_id, index, share):
        raise ShareError(f"Mảnh khóa số {index} không đúng (không khớp cam kết trong hòm phiếu).")
    members = {m["index"]: m["name"] for m in manifest["board"]["members"]}
    return ShareCard(election_id, manifest_hash, index, members.get(index, ""), share)


def parse_share_file(text: str, manifest: dict[str, Any], manifest_hash: str) -> ShareCard:
    """Read a share file (JSON with a "code") or a bare code."""
    text = text.strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text)["code"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ShareError("Tệp mảnh khóa sai định dạng.") from exc
    return parse_code(text, manifest, manifest_hash)


def rebuild_key(cards: Sequence[ShareCard], manifest: dict[str, Any]) -> bytearray:
    """The election private key from at least k distinct valid cards; ShareError if not."""
    threshold = int(manifest["board"]["threshold"])
    # A card is bound to one exact manifest: a box re-signed around another manifest (other
    # names, another kiosk key) must not be decrypted with it, whoever parsed the card.
    if any(c.manifest_hash != digest(manifest) for c in cards):
        raise ShareError("Mảnh khóa này thuộc cuộc lấy phiếu khác (không khớp hòm phiếu).")
    distinct = {c.index: c for c in cards}
    if len(distinct) < threshold:
        raise ShareError(f"Cần ít nhất {threshold} mảnh khóa khác nhau; mới có {len(distinct)}.")
    chosen = [(c.index, c.share) for c in list(distinct.values())[:threshold]]
    key = crypto.combine_shares(chosen)
    if crypto.election_public_key(key).hex() != manifest["election_public_key"]:
        crypto.wipe(key)
        raise ShareError("Các mảnh khóa không dựng lại được khóa của cuộc lấy phiếu.")
    return key
