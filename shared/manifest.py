"""The election definition, the key file and the manifest (format version 2): one owner.

The key is made on the counting board's laptop, not on the kiosk (the seed's Bước 2: the
Ban kiểm phiếu is elected at the meeting, then holds the key). So the manifest is built in
two halves, each written by the machine that owns it:

1. the **definition** (`kiosk election definition`): everything the kiosk knows before the
   ceremony: the meeting, the ballot rows, the board and k, the kiosk's signing key;
2. the **key file** (`counter ceremony`): only public parts: the election public key, the
   Feldman commitments and the counter's signing key, signed by that key, naming the
   definition it was made for by hash;
3. the **manifest** = the definition's fields plus the key file's three public parts. Both
   machines compute it from the same two halves, so the share cards (printed on the
   laptop) and the kiosk's box name the same manifest hash.

Formats: docs/formats.md ("Election definition", "Key file") and docs/ballot-box-format.md
(the manifest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared import crypto, elgamal, json_input
from shared.canonical import canonical_bytes, digest
from shared.errors import N_, InvalidInput

DEFINITION_FORMAT = "cv-election-definition"
KEY_FORMAT = "cv-election-key"
MANIFEST_FORMAT = "cv-manifest"
VERSION = 2
GROUP = "ristretto255"
# The last build whose ballots were HPKE-encrypted (manifest and box version 1): it alone can
# close, export and count such an election (docs/ballot-box-format.md 13).
HPKE_BUILD = "2baa7f4"
# The definition's fields, exactly (a definition with more or fewer is refused).
DEFINITION_FIELDS = frozenset({
    "format", "version", "election_id", "title", "organization", "place", "date", "profile",
    "convened", "levels", "persons", "board", "kiosk_public_key", "group", "encoding_base",
    "ballot_length"})
# Added after the first version-2 elections: a definition or manifest may carry them or not
# (an election made before them has none and still loads), never anything else. "forms" is
# the wording of Phụ lục 3/4; "ballot_proof" names the layout of the ballots' proofs
# (docs/crypto-protocol.md 4): always "one-challenge" when present, per-row when absent.
OPTIONAL_FIELDS = frozenset({"forms", "ballot_proof"})
KEY_PARTS = ("election_public_key", "share_commitments", "counter_public_key")
PERSON_FIELDS = frozenset({"number", "name", "position", "unit"})
TEXT_FIELDS = ("election_id", "title", "organization", "place", "date", "profile", "group")
MAX_FILE_BYTES = 2_000_000


def _hex32(value: Any, label: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64 or value != value.lower():
        raise InvalidInput(N_("%(label)s: phải là 64 chữ số hex viết thường."), label=label)
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise InvalidInput(N_("%(label)s: phải là 64 chữ số hex viết thường."), label=label) from exc


# --- the wording of the forms ---------------------------------------------------------

FORMS_KEYS = ("ballot_of", "ballot_for", "year", "locality", "assigned_by")
MAX_WORDING = 500


@dataclass(frozen=True)
class FormWording:
    """The blanks of the seed's Phụ lục 3 and 4 that the office fills in (the manifest's "forms")."""

    ballot_of: str     # Phụ lục 3 "của …(1)": who fills in the ballot (thành phần ghi phiếu)
    ballot_for: str    # Phụ lục 3 "đối với …(2)": the posts subject to the vote
    year: int          # Phụ lục 3 "năm …"
    locality: str      # "……, ngày … tháng … năm …": the place name of the date line, not the hall
    assigned_by: str   # Phụ lục 4 "Thực hiện nhiệm vụ do … giao"

    def to_json_dict(self) -> dict[str, Any]:
        """The "forms" object of the definition and the manifest."""
        return {"ballot_of": self.ballot_of, "ballot_for": self.ballot_for, "year": self.year,
                "locality": self.locality, "assigned_by": self.assigned_by}

    @classmethod
    def parse(cls, value: Any) -> FormWording:
        """The "forms" object as written by to_json_dict; InvalidInput otherwise."""
        if not isinstance(value, dict) or set(value) != set(FORMS_KEYS):
            raise InvalidInput(N_("Phần lời văn của mẫu phiếu (forms) thiếu hoặc thừa trường."))
        texts = [value[k] for k in FORMS_KEYS if k != "year"]
        if any(not isinstance(t, str) or len(t) > MAX_WORDING for t in texts):
            raise InvalidInput(N_("Phần lời văn của mẫu phiếu (forms): mỗi trường là chuỗi tối đa 500 ký tự."))
        if type(value["year"]) is not int or not 1900 <= value["year"] <= 2200:
            raise InvalidInput(N_("Phần lời văn của mẫu phiếu (forms): năm phải là số nguyên từ 1900 đến 2200."))
        return cls(value["ballot_of"], value["ballot_for"], value["year"], value["locality"],
                   value["assigned_by"])


def forms_of(document: dict[str, Any]) -> FormWording | None:
    """The form wording of a checked definition or manifest; None for an election made without it."""
    return FormWording.parse(document["forms"]) if "forms" in document else None


def layout_of(document: dict[str, Any]) -> str:
    """The proof layout of a definition's or manifest's ballots (docs/crypto-protocol.md 4)."""
    if "ballot_proof" not in document:
        return elgamal.PER_ROW
    if document["ballot_proof"] != elgamal.ONE_CHALLENGE:
        raise InvalidInput(N_("Cách ghi chứng minh của lá phiếu (ballot_proof) không đúng phiên bản 2."))
    return elgamal.ONE_CHALLENGE


def has_definition_fields(keys: Any) -> bool:
    """True if these are a definition's fields: all of DEFINITION_FIELDS, any of OPTIONAL_FIELDS."""
    return DEFINITION_FIELDS <= set(keys) <= DEFINITION_FIELDS | OPTIONAL_FIELDS


# --- the definition -------------------------------------------------------------------

def check_definition(definition: Any) -> dict[str, Any]:
    """The definition if it is a version-2 election definition; InvalidInput otherwise."""
    if not isinstance(definition, dict) or definition.get("format") != DEFINITION_FORMAT:
        raise InvalidInput(N_("Không phải tệp định nghĩa cuộc lấy phiếu (cv-election-definition)."))
    if type(definition.get("version")) is not int or definition["version"] != VERSION:
        raise InvalidInput(N_("Tệp định nghĩa thuộc phiên bản khác (cần phiên bản 2)."))
    if not has_definition_fields(definition):
        raise InvalidInput(N_("Tệp định nghĩa thiếu hoặc thừa trường."))
    forms_of(definition)
    board = definition["board"]
    persons = definition["persons"]
    if not isinstance(persons, list) or not persons or not isinstance(board, dict) \
            or not isinstance(board.get("members"), list) or type(board.get("threshold")) is not int \
            or not 1 <= board["threshold"] <= len(board["members"]) <= 255:
        raise InvalidInput(N_("Tệp định nghĩa: danh sách người được lấy phiếu hoặc Ban kiểm phiếu không hợp lệ."))
    # Exact JSON types: `true` must not pass as the index 1 or as a number convened.
    if any(not isinstance(m, dict) or set(m) != {"index", "name"} or type(m["index"]) is not int
           or not isinstance(m["name"], str) for m in board["members"]) \
            or [m["index"] for m in board["members"]] != list(range(1, len(board["members"]) + 1)):
        raise InvalidInput(N_("Tệp định nghĩa: thành viên Ban kiểm phiếu phải đánh số từ 1."))
    if any(not isinstance(p, dict) or set(p) != PERSON_FIELDS or type(p["number"]) is not int
           or not all(isinstance(p[k], str) for k in ("name", "position", "unit")) for p in persons):
        raise InvalidInput(N_("Tệp định nghĩa: mỗi người được lấy phiếu phải có đúng số thứ tự, họ tên, chức vụ, "
                              "đơn vị."))
    if any(not isinstance(definition[k], str) for k in TEXT_FIELDS) \
            or type(definition["convened"]) is not int or definition["convened"] < 1:
        raise InvalidInput(N_("Tệp định nghĩa: trường văn bản hoặc số người được triệu tập sai kiểu."))
    if definition["group"] != GROUP or definition["encoding_base"] != elgamal.BASE \
            or definition["ballot_length"] != elgamal.ballot_length(len(persons), layout_of(definition)):
        raise InvalidInput(N_("Tệp định nghĩa: nhóm mật mã hoặc độ dài lá phiếu không đúng phiên bản 2."))
    _hex32(definition["kiosk_public_key"], "Khóa ký của máy kiosk")
    return definition


def definition_hash(definition: dict[str, Any]) -> str:
    """D(definition): what the key file names."""
    return digest(definition)


# --- the key file -----------------------------------------------------------------------

@dataclass(frozen=True)
class KeyFile:
    """The public result of a key ceremony, signed by the counter that ran it."""

    election_id: str
    definition_hash: str
    election_public_key: bytes
    share_commitments: tuple[bytes, ...]
    counter_public_key: bytes
    signature: bytes

    def body(self) -> dict[str, Any]:
        """Everything but the signature: what the signature covers (canonical JSON)."""
        return {"format": KEY_FORMAT, "version": VERSION, "election_id": self.election_id,
                "definition_hash": self.definition_hash,
                "election_public_key": self.election_public_key.hex(),
                "share_commitments": [c.hex() for c in self.share_commitments],
                "counter_public_key": self.counter_public_key.hex()}

    def to_json(self) -> str:
        """KEY.json as written by `counter ceremony`."""
        return json.dumps({**self.body(), "signature": self.signature.hex()}, indent=2) + "\n"

    @classmethod
    def signed(cls, definition: dict[str, Any], public_key: bytes, commitments: tuple[bytes, ...],
               counter_signing_key: bytes) -> KeyFile:
        """The key file for `definition`, signed with the counter's Ed25519 key."""
        unsigned = cls(definition["election_id"], definition_hash(definition), public_key, commitments,
                       crypto.signing_public_key(counter_signing_key), b"")
        signature = crypto.sign(counter_signing_key, canonical_bytes(unsigned.body()))
        return cls(unsigned.election_id, unsigned.definition_hash, public_key, commitments,
                   unsigned.counter_public_key, signature)

    @classmethod
    def parse(cls, text: str | bytes, definition: dict[str, Any]) -> KeyFile:
        """Read KEY.json for this definition; InvalidInput naming what is wrong."""
        data = json_input.parse(text.encode("utf-8") if isinstance(text, str) else text, "Tệp khóa",
                                MAX_FILE_BYTES)
        fields = {"format", "version", "election_id", "definition_hash", "election_public_key",
                  "share_commitments", "counter_public_key", "signature"}
        if not isinstance(data, dict) or data.get("format") != KEY_FORMAT:
            raise InvalidInput(N_("Không phải tệp khóa cuộc lấy phiếu (cv-election-key)."))
        if type(data.get("version")) is not int or data["version"] != VERSION or set(data) != fields:
            raise InvalidInput(N_("Tệp khóa sai phiên bản hoặc thiếu/thừa trường."))
        if data["election_id"] != definition["election_id"]:
            raise InvalidInput(N_("Tệp khóa này của cuộc lấy phiếu khác."))
        if data["definition_hash"] != definition_hash(definition):
            raise InvalidInput(N_("Tệp khóa được tạo cho một định nghĩa khác: cuộc lấy phiếu đã sửa sau khi "
                                  "xuất định nghĩa. Xuất lại định nghĩa và làm lại lễ tạo khóa."))
        commitments = data["share_commitments"]
        if not isinstance(commitments, list):
            raise InvalidInput(N_("Tệp khóa: cam kết mảnh khóa không hợp lệ."))
        signature = data["signature"]
        if not isinstance(signature, str) or len(signature) != 128 or signature != signature.lower():
            raise InvalidInput(N_("Tệp khóa: chữ ký không hợp lệ."))
        key_file = cls(data["election_id"], data["definition_hash"],
                       _hex32(data["election_public_key"], "Khóa công khai"),
                       tuple(_hex32(c, "Cam kết mảnh khóa") for c in commitments),
                       _hex32(data["counter_public_key"], "Khóa ký của máy kiểm phiếu"),
                       bytes.fromhex(signature))
        try:
            elgamal.check_commitments(key_file.election_public_key, key_file.share_commitments,
                                      definition["board"]["threshold"])
        except elgamal.ProofError as exc:
            raise InvalidInput(N_("Tệp khóa: khóa công khai hoặc cam kết không hợp lệ (%(reason)s)."),
                               reason=exc.reason) from exc
        if not crypto.verify_signature(key_file.counter_public_key, key_file.signature,
                                       canonical_bytes(key_file.body())):
            raise InvalidInput(N_("Tệp khóa: chữ ký của máy kiểm phiếu không đúng."))
        return key_file


# --- the manifest ---------------------------------------------------------------------------

def build_manifest(definition: dict[str, Any], key_file: KeyFile) -> dict[str, Any]:
    """The manifest: the definition's fields (format renamed) plus the key's public parts."""
    return {**definition, "format": MANIFEST_FORMAT,
            "election_public_key": key_file.election_public_key.hex(),
            "share_commitments": [c.hex() for c in key_file.share_commitments],
            "counter_public_key": key_file.counter_public_key.hex()}


def manifest_version(manifest: Any) -> int | None:
    """The manifest's version (1 for the HPKE build's), None if it is not a manifest."""
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    version = manifest.get("version")
    return version if type(version) is int else None


def context_of(manifest: dict[str, Any]) -> elgamal.ElectionContext:
    """What every proof of the election binds to, from a version-2 manifest."""
    return elgamal.ElectionContext(
        election_id=manifest["election_id"], manifest_hash=bytes.fromhex(digest(manifest)),
        public_key=elgamal.element(bytes.fromhex(manifest["election_public_key"])),
        commitments=tuple(elgamal.element(bytes.fromhex(c)) for c in manifest["share_commitments"]),
        layout=layout_of(manifest))
