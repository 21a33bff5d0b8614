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

`Manifest` is the one reader and writer of a manifest: `Manifest.from_json` checks a manifest
read from a box or the database (exact fields, JSON types, encodings, the key parts through
shared/elgamal's decoders) and `to_json_dict` writes back exactly those bytes; everything
else reads its attributes.

Formats: docs/formats.md ("Election definition", "Key file") and docs/ballot-box-format.md
(the manifest).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from shared import crypto, elgamal, json_input
from shared.canonical import canonical_bytes, digest
from shared.errors import N_, InvalidInput, Label
from shared.glossary import LEVELS
from shared.json_shape import HEX, INT, LABELS, LIST, TEXT, Refusal, check_list, check_object, value_ok

DEFINITION_FORMAT = "cv-election-definition"
KEY_FORMAT = "cv-election-key"
MANIFEST_FORMAT = "cv-manifest"
VERSION = 2
GROUP = "ristretto255"
# The last build whose ballots were HPKE-encrypted (manifest and box version 1): it alone can
# close, export and count such an election (docs/ballot-box-format.md 13).
HPKE_BUILD = "2baa7f4"
# An election made by the HPKE build (manifest version 1) cannot be finished here: its ballots
# carry no proofs and its key shares cannot decrypt sums (docs/ballot-box-format.md 13).
OLD_BUILD_MESSAGE = N_("Cuộc lấy phiếu này được tạo bằng bản phần mềm cũ (phiên bản 1, mã hóa HPKE): "
                       "dùng bản cũ đó (commit %(commit)s) để kết thúc và kiểm phiếu; bản này không thay đổi gì.")
OLD_BUILD = Label(OLD_BUILD_MESSAGE, commit=HPKE_BUILD)  # the sentence, as a parameter of another
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


def _ballot_proof(value: Any) -> str:
    """The `ballot_proof` field: "one-challenge", the only value (docs/crypto-protocol.md 4.1)."""
    if value != elgamal.ONE_CHALLENGE:
        raise InvalidInput(N_("Cách ghi chứng minh của lá phiếu (ballot_proof) không đúng phiên bản 2."))
    return elgamal.ONE_CHALLENGE


# The fields a definition or manifest may carry or not (OPTIONAL_FIELDS): JSON value ->
# attribute (InvalidInput if it is not the format's), and back. Absent, the attribute is
# None: an election made before the field, still valid ("ballot_proof" absent = per-row).
OPTIONAL_CODECS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "forms": (FormWording.parse, FormWording.to_json_dict),
    "ballot_proof": (_ballot_proof, str),
}


def _optional(document: dict[str, Any]) -> dict[str, Any]:
    """The optional fields present in a definition or manifest, decoded; InvalidInput if one is wrong."""
    return {name: decode(document[name]) for name, (decode, _) in OPTIONAL_CODECS.items() if name in document}


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
    layout = _optional(definition).get("ballot_proof") or elgamal.PER_ROW
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
            or definition["ballot_length"] != elgamal.ballot_length(len(persons), layout):
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

class ManifestRefused(InvalidInput):
    """Not exactly a version-2 manifest; `reason` is the box verifier's reason id, "" if none.

    The ids are docs/ballot-box-format.md 9's: `manifest.version`, `manifest.fields`, the
    `structure.*` of a field of another JSON type or encoding, `key.commitments` and
    `point.invalid` for the key parts; "" for a value outside the format (persons, board,
    group, ballot length).
    """

    def __init__(self, detail_id: str, reason: str = "", /, **params: object) -> None:
        super().__init__(detail_id, **params)
        self.detail = str(self)
        self.reason = reason


_ELECTION_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{16}\Z")  # Crockford base32, 80 bits
_DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")
# The manifest's fields of one JSON kind each (the nested persons, board and commitments are
# checked below); the exact field set is DEFINITION_FIELDS + KEY_PARTS + OPTIONAL_FIELDS.
_SHAPE = {**{k: TEXT for k in ("format", "title", "organization", "place", "date", "profile", "election_id",
                               "group")},
          "ballot_proof": TEXT, "version": INT, "convened": INT, "encoding_base": INT, "ballot_length": INT,
          "kiosk_public_key": HEX, "election_public_key": HEX, "counter_public_key": HEX}


def check_shape(manifest: Any) -> None:
    """Refusal(structure.*) at the first manifest field of another JSON type or not in its canonical encoding.

    Check 2 (`structure`) of docs/ballot-box-format.md 9 for the manifest; fields that are
    missing are the manifest check's (`manifest.fields`), so only those present are read.
    """
    if not isinstance(manifest, dict):
        raise Refusal("structure.types", "manifest: phải là một đối tượng JSON")
    for key, kind in _SHAPE.items():
        if key in manifest:
            ok = value_ok(manifest[key], kind)
            if not ok:
                raise Refusal("structure.encoding" if ok is None else "structure.types",
                              f"manifest: “{key}” sai kiểu hoặc không ở dạng chuẩn (cần {LABELS[kind]})")
    if isinstance(manifest.get("election_id"), str) and not _ELECTION_ID.match(manifest["election_id"]):
        raise Refusal("structure.encoding", "manifest: “election_id” không phải 16 ký tự Crockford base32")
    if isinstance(manifest.get("date"), str) and not _DATE.match(manifest["date"]):
        raise Refusal("structure.encoding", "manifest: “date” không có dạng NNNN-TT-NN")
    for number, person in enumerate(check_list(manifest.get("persons"), "manifest.persons"), start=1):
        check_object(person, {"number": INT, "name": TEXT, "position": TEXT, "unit": TEXT},
                     f"manifest.persons[{number}]")
    for number, level in enumerate(check_list(manifest.get("levels"), "manifest.levels"), start=1):
        if not isinstance(level, str):
            raise Refusal("structure.types", f"manifest.levels[{number}]: phải là chuỗi")
    board = check_object(manifest.get("board"), {"threshold": INT, "members": LIST}, "manifest.board")
    for number, member in enumerate(check_list(board["members"], "manifest.board.members"), start=1):
        check_object(member, {"index": INT, "name": TEXT}, f"manifest.board.members[{number}]")
    if "forms" in manifest:  # optional (docs/ballot-box-format.md 3); its lengths and year are FormWording's
        check_object(manifest["forms"], {k: INT if k == "year" else TEXT for k in FORMS_KEYS}, "manifest.forms")
    for number, commitment in enumerate(check_list(manifest.get("share_commitments"),
                                                   "manifest.share_commitments"), start=1):
        if value_ok(commitment, HEX) is not True:
            raise Refusal("structure.encoding", f"manifest.share_commitments[{number}]: không phải 64 chữ số "
                          "hex viết thường")


def manifest_version(manifest: Any) -> int | None:
    """The manifest's version (1 for the HPKE build's), None if it is not a manifest."""
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    version = manifest.get("version")
    return version if type(version) is int else None


@dataclass(frozen=True)
class Person:
    """One row of the ballot (người được lấy phiếu), numbered 1, 2, 3 … in ballot order."""

    number: int
    name: str
    position: str
    unit: str

    def to_json_dict(self) -> dict[str, Any]:
        """The manifest's `persons` entry."""
        return {"number": self.number, "name": self.name, "position": self.position, "unit": self.unit}


@dataclass(frozen=True)
class BoardMember:
    """A member of the counting board (Ban kiểm phiếu); `index` is the share index, 1 … n."""

    index: int
    name: str


@dataclass(frozen=True)
class Board:
    """The counting board and k, the shares needed to decrypt (1 ≤ k ≤ n ≤ 255)."""

    threshold: int
    members: tuple[BoardMember, ...]

    def to_json_dict(self) -> dict[str, Any]:
        """The manifest's `board` object."""
        return {"threshold": self.threshold, "members": [{"index": m.index, "name": m.name} for m in self.members]}


@dataclass(frozen=True)
class Manifest:
    """A checked version-2 manifest (docs/ballot-box-format.md 3): its one parser and writer.

    `from_json` refuses anything but exactly the format; `to_json_dict` gives back exactly
    the object it read (so the canonical bytes, the hash and every signature are unchanged).
    """

    election_id: str
    title: str
    organization: str
    place: str
    date: str
    profile: str
    convened: int
    levels: tuple[str, ...]
    persons: tuple[Person, ...]
    board: Board
    kiosk_public_key: bytes
    group: str
    encoding_base: int
    ballot_length: int
    election_public_key: bytes
    share_commitments: tuple[bytes, ...]
    counter_public_key: bytes
    forms: FormWording | None = None
    ballot_proof: str | None = None

    @classmethod
    def from_json(cls, obj: Any) -> Manifest:
        """The manifest of a parsed JSON object; ManifestRefused naming the first thing wrong."""
        version = manifest_version(obj)
        if version == 1:
            raise ManifestRefused(OLD_BUILD, "manifest.version")
        if version != VERSION:
            raise ManifestRefused(N_("không phải manifest phiên bản 2 (phiên bản %(version)s)"), "manifest.version",
                                  version=repr(version))
        if not set(KEY_PARTS) <= set(obj) or not has_definition_fields(set(obj) - set(KEY_PARTS)):
            raise ManifestRefused(N_("manifest thiếu hoặc thừa trường"), "manifest.fields")
        try:
            check_shape(obj)
        except Refusal as refusal:
            raise ManifestRefused(refusal.detail, refusal.reason) from None
        # The definition's own checks (board, persons, group, length, the kiosk key, forms).
        try:
            check_definition({k: v for k, v in obj.items() if k not in KEY_PARTS} | {"format": DEFINITION_FORMAT})
        except InvalidInput as exc:
            raise ManifestRefused(exc.message_id, "", **exc.params) from None
        persons = obj["persons"]
        if [p["number"] for p in persons] != list(range(1, len(persons) + 1)):
            raise ManifestRefused(N_("danh sách người được lấy phiếu phải đánh số 1, 2, 3… theo thứ tự"))
        if obj["levels"] != list(LEVELS):
            raise ManifestRefused(N_("các mức tín nhiệm không đúng thứ tự cao, tín nhiệm, thấp"))
        board = obj["board"]
        commitments = tuple(bytes.fromhex(c) for c in obj["share_commitments"])
        public_key = bytes.fromhex(obj["election_public_key"])
        try:
            elgamal.check_commitments(public_key, commitments, board["threshold"])
        except elgamal.ProofError as exc:
            raise ManifestRefused(N_("khóa công khai hoặc cam kết không hợp lệ (%(reason)s)"), exc.reason,
                                  reason=exc.reason) from None
        optional = _optional(obj)  # checked above, by check_definition
        return cls(
            election_id=obj["election_id"], title=obj["title"], organization=obj["organization"],
            place=obj["place"], date=obj["date"], profile=obj["profile"], convened=obj["convened"],
            levels=tuple(obj["levels"]),
            persons=tuple(Person(p["number"], p["name"], p["position"], p["unit"]) for p in persons),
            board=Board(board["threshold"], tuple(BoardMember(m["index"], m["name"]) for m in board["members"])),
            kiosk_public_key=bytes.fromhex(obj["kiosk_public_key"]), group=obj["group"],
            encoding_base=obj["encoding_base"], ballot_length=obj["ballot_length"],
            election_public_key=public_key, share_commitments=commitments,
            counter_public_key=bytes.fromhex(obj["counter_public_key"]), **optional)

    def to_json_dict(self) -> dict[str, Any]:
        """The manifest object exactly as the kiosk writes it into the box."""
        document: dict[str, Any] = {
            "format": MANIFEST_FORMAT, "version": VERSION, "election_id": self.election_id,
            "title": self.title, "organization": self.organization, "place": self.place, "date": self.date,
            "profile": self.profile, "convened": self.convened, "levels": list(self.levels),
            "persons": [p.to_json_dict() for p in self.persons], "board": self.board.to_json_dict(),
            "kiosk_public_key": self.kiosk_public_key.hex(), "group": self.group,
            "encoding_base": self.encoding_base, "ballot_length": self.ballot_length,
            "election_public_key": self.election_public_key.hex(),
            "share_commitments": [c.hex() for c in self.share_commitments],
            "counter_public_key": self.counter_public_key.hex()}
        for name, (_, encode) in OPTIONAL_CODECS.items():
            value = getattr(self, name)
            if value is not None:
                document[name] = encode(value)
        return document

    @cached_property
    def manifest_hash(self) -> str:
        """D(manifest): printed on the share cards, bound by every proof, named by the close record."""
        return digest(self.to_json_dict())

    @property
    def layout(self) -> str:
        """The proof layout of the ballots (docs/crypto-protocol.md 4): per-row without `ballot_proof`."""
        return self.ballot_proof or elgamal.PER_ROW

    @property
    def threshold(self) -> int:
        """k: the shares needed to decrypt the totals."""
        return self.board.threshold

    @property
    def member_names(self) -> list[str]:
        """The counting board's names, by member index."""
        return [m.name for m in self.board.members]

    def context(self) -> elgamal.ElectionContext:
        """What every proof of the election binds to."""
        return elgamal.ElectionContext(
            election_id=self.election_id, manifest_hash=bytes.fromhex(self.manifest_hash),
            public_key=self.election_public_key, commitments=self.share_commitments, layout=self.layout)


def build_manifest(definition: dict[str, Any], key_file: KeyFile) -> Manifest:
    """The manifest: the definition's fields (format renamed) plus the key's public parts."""
    return Manifest.from_json({**definition, "format": MANIFEST_FORMAT,
                               "election_public_key": key_file.election_public_key.hex(),
                               "share_commitments": [c.hex() for c in key_file.share_commitments],
                               "counter_public_key": key_file.counter_public_key.hex()})
