"""No copy of the kiosk's files links a ballot to its voter (docs/storage-secrecy.md).

The attack of the storage design's section 1, run on raw bytes: 40 voters check in in one
random order and cast in another (the real check-in and cast paths, one transaction each, a
SQLite file database). Copies of the database file, with its -journal and any -wal, are
taken during the vote, at the end of the casts, after close, after export, and the file
`kiosk backup` writes. Each copy is read with the parser below, not with SQLite: the page
size from the header, every b-tree of every table and index from sqlite_master's root
pages, each page's cell pointer array and the content offset of every cell, overflow chains
for long records, and WAL frames replayed up to the last commit.

A cell is recognised by its content (a fingerprint, a ballot id, a token hash, a slot
key: anything that names one row only). On each b-tree the intruder orders the recognised
cells as SQLite allocates them (page by page, within a page the lowest content offset is
the newest cell) and compares that order with the cast order, the check-in order and the
spend order: Spearman's rho over the whole b-tree and Kendall's S summed over pairs in the
same page, each against a bound of Z standard deviations. Then the join: the k-th ballot
of a ballot b-tree's order is taken to be the k-th spent token of a token b-tree's order,
and that token's rank in a token order is taken as its check-in position, which the audit
chain's `voter.checked_in` events turn into a voter. Correct guesses are compared with
the chance bound: with no information a random guess of a permutation gets one right on
average, and 7 or more in 10^4 runs.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sqlite3
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shared import backup, crypto, voting
from shared import election as elections
from shared.box import export_box
from shared.db import transaction
from tests.factories import cast_ballot, election_spec, hold_ceremony, new_factory, typed_token_hash

VOTERS = 40
PERSONS = 3
# 4.4 standard deviations: about 1 in 10^5 per check for an order unrelated to the casts,
# while a b-tree that keeps the cast order at 40 ballots sits at sqrt(39) = 6.2 or far more.
Z = 4.4
# Exact matches of a blind guess of a permutation of 40 follow Poisson(1): P(>= 7) < 10^-4.
CHANCE_MATCHES = 6


# --- the SQLite file format, read by hand ---------------------------------------------------------

def varint(data: bytes, at: int) -> tuple[int, int]:
    """A SQLite varint at `at`: (value, offset after it)."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def record(payload: bytes) -> list[Any]:
    """The values of a record (the header of serial types, then the body)."""
    header_size, at = varint(payload, 0)
    types = []
    while at < header_size:
        serial, at = varint(payload, at)
        types.append(serial)
    body = header_size
    values: list[Any] = []
    sizes = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8, 8: 0, 9: 0}
    for serial in types:
        size = sizes.get(serial, (serial - 12) // 2 if serial >= 12 else 0)
        raw = payload[body:body + size]
        body += size
        if serial == 0:
            values.append(None)
        elif 1 <= serial <= 6:
            values.append(int.from_bytes(raw, "big", signed=True))
        elif serial == 7:
            values.append(struct.unpack(">d", raw)[0])
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial % 2 == 0:
            values.append(bytes(raw))
        else:
            values.append(raw.decode("utf-8", "replace"))
    return values


@dataclass(frozen=True)
class Cell:
    page: int
    offset: int  # where the cell's content starts within its page
    values: tuple[Any, ...]


class Image:
    """A database file as bytes, with the WAL's committed frames (if any) laid over it."""

    def __init__(self, data: bytes, wal: bytes = b"") -> None:
        assert data[:16] == b"SQLite format 3\x00"
        size = struct.unpack(">H", data[16:18])[0]
        self.page_size = 65536 if size == 1 else size
        self.usable = self.page_size - data[20]
        self.pages = {n + 1: data[n * self.page_size:(n + 1) * self.page_size]
                      for n in range(len(data) // self.page_size)}
        self._replay(wal)

    def _replay(self, wal: bytes) -> None:
        if len(wal) < 32:
            return
        size = struct.unpack(">I", wal[8:12])[0]
        pending: dict[int, bytes] = {}
        at = 32
        while at + 24 + size <= len(wal):
            number, commit = struct.unpack(">II", wal[at:at + 8])
            pending[number] = wal[at + 24:at + 24 + size]
            if commit:  # a commit frame: everything up to here is the database
                self.pages.update(pending)
                pending = {}
            at += 24 + size

    def page(self, number: int) -> bytes:
        return self.pages[number]

    def payload(self, page: bytes, at: int, size: int, index: bool) -> bytes:
        u = self.usable
        most = u - 35 if not index else (u - 12) * 64 // 255 - 23
        least = (u - 12) * 32 // 255 - 23
        if size <= most:
            return page[at:at + size]
        local = least + (size - least) % (u - 4)
        if local > most:
            local = least
        data = bytearray(page[at:at + local])
        overflow = struct.unpack(">I", page[at + local:at + local + 4])[0]
        while overflow and len(data) < size:
            chunk = self.page(overflow)
            data += chunk[4:4 + min(u - 4, size - len(data))]
            overflow = struct.unpack(">I", chunk[:4])[0]
        return bytes(data)

    def btrees(self) -> dict[str, int]:
        """Name -> root page of every table and index, from sqlite_master (page 1)."""
        return {str(c.values[1]): int(c.values[3]) for c in cells_with_pages(self, 1)
                if c.values[0] in ("table", "index") and c.values[3]}


def cells_with_pages(image: Image, root: int) -> list[Cell]:
    """The cells of a b-tree, each with the page it lies on."""
    found: list[Cell] = []

    def walk(number: int) -> None:
        page = image.page(number)
        head = 100 if number == 1 else 0
        kind = page[head]
        count = struct.unpack(">H", page[head + 3:head + 5])[0]
        interior = kind in (2, 5)
        pointers = head + (12 if interior else 8)
        for i in range(count):
            offset = struct.unpack(">H", page[pointers + 2 * i:pointers + 2 * i + 2])[0]
            at = offset
            if interior:
                walk(struct.unpack(">I", page[at:at + 4])[0])
                at += 4
                if kind == 5:
                    continue
            size, at = varint(page, at)
            rowid = None
            if kind == 13:
                rowid, at = varint(page, at)
            values = record(image.payload(page, at, size, index=kind != 13))
            found.append(Cell(number, offset, tuple(values) + (rowid,)))
        if interior:
            walk(struct.unpack(">I", page[head + 8:head + 12])[0])

    walk(root)
    return found


# --- the statistics ---------------------------------------------------------------------------------

def ranks(values: list[float]) -> list[float]:
    """Ranks from 0; tied values share their mean rank (so a constant says nothing)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            result[order[k]] = (start + end) / 2
        start = end + 1
    return result


def spearman_z(xs: list[float], ys: list[float]) -> float:
    """Spearman's rho times sqrt(n - 1): about standard normal for unrelated orders."""
    n = len(xs)
    if n < 3:
        return 0.0
    rx, ry = ranks(xs), ranks(ys)
    mean = (n - 1) / 2
    sxy = sum((a - mean) * (b - mean) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mean) ** 2 for a in rx)
    syy = sum((b - mean) ** 2 for b in ry)
    return 0.0 if not sxx or not syy else sxy / math.sqrt(sxx * syy) * math.sqrt(n - 1)


def same_page_kendall_z(cells: list[tuple[int, int, int]]) -> float:
    """Kendall's S over pairs of cells on the same page (newer = lower offset), standardised.

    `cells` is (page, offset, true position). Under no relation S has mean 0 and, summed
    over independent pages, variance sum n(n-1)(2n+5)/18.
    """
    pages: dict[int, list[tuple[int, int]]] = {}
    for page, offset, position in cells:
        pages.setdefault(page, []).append((offset, position))
    s, variance = 0, 0.0
    for members in pages.values():
        n = len(members)
        variance += n * (n - 1) * (2 * n + 5) / 18
        for i in range(n):
            for j in range(i + 1, n):
                (oa, pa), (ob, pb) = members[i], members[j]
                # a higher offset was allocated earlier: concordant if its position is earlier too
                s += 1 if (oa - ob) * (pb - pa) > 0 else -1 if (oa - ob) * (pb - pa) < 0 else 0
    return s / math.sqrt(variance) if variance else 0.0


def allocation_order(cells: list[tuple[int, int, Any]]) -> list[Any]:
    """Entities in the order SQLite would have written them: by page, then high offset first."""
    return [entity for _page, _offset, entity in sorted(cells, key=lambda c: (c[0], -c[1]))]


# --- the election -----------------------------------------------------------------------------------

@dataclass
class Vote:
    factory: sessionmaker[Session]
    path: Path
    election_id: str
    signing_key: bytes
    checkin_position: dict[str, int] = field(default_factory=dict)  # token hash -> j
    cast_position: dict[str, int] = field(default_factory=dict)  # fingerprint -> k
    spend_position: dict[str, int] = field(default_factory=dict)  # token hash -> k
    voter_of_token: dict[str, str] = field(default_factory=dict)
    voter_of_ballot: dict[str, str] = field(default_factory=dict)


@dataclass
class Copy:
    """One copy of the kiosk's files: the database image and what it is."""

    label: str
    image: Image
    journal: bytes


def take_copy(vote: Vote, label: str, tmp: Path, source: Path | None = None) -> Copy:
    src = source or vote.path
    target = tmp / f"copy-{label}"
    target.mkdir()
    shutil.copyfile(src, target / "kiosk.db")
    extra = {}
    for suffix in ("-journal", "-wal"):
        side = Path(str(src) + suffix)
        if side.exists():
            shutil.copyfile(side, target / f"kiosk.db{suffix}")
            extra[suffix] = (target / f"kiosk.db{suffix}").read_bytes()
    image = Image((target / "kiosk.db").read_bytes(), extra.get("-wal", b""))
    return Copy(label, image, extra.get("-journal", b""))


def run_vote(tmp_path: Path, rng: random.Random, copies: list[Copy], url: str | None = None) -> Vote:
    """The vote; copies of the SQLite file on the way (none for another database's url)."""
    path = tmp_path / "kiosk.db"
    factory = new_factory(url or f"sqlite:///{path}")
    signing_key = crypto.generate_signing_key()
    with transaction(factory) as s:
        election = elections.create_election(s, election_spec(persons=PERSONS, voters=VOTERS), "chair")
        hold_ceremony(s, election, signing_key)
        vote = Vote(factory, path, election.id, signing_key)
    voters = [f"V{i:03d}" for i in range(1, VOTERS + 1)]
    checkin = rng.sample(voters, VOTERS)
    codes: dict[str, str] = {}
    for j, voter in enumerate(checkin):
        with transaction(factory) as s:
            code = voting.check_in(s, elections.get_election(s, vote.election_id), voter, "desk")
        codes[voter] = code
        token_hash = typed_token_hash(vote.election_id, code)
        vote.checkin_position[token_hash] = j
        vote.voter_of_token[token_hash] = voter
    with transaction(factory) as s:
        elections.open_vote(s, elections.get_election(s, vote.election_id), "chair")
    casting = rng.sample(voters, VOTERS)
    assert casting != checkin
    for k, voter in enumerate(casting):
        with transaction(factory) as s:
            # With the random cast id the booth's form carries (kiosk/booth.py), as a booth casts.
            fingerprint = cast_ballot(s, vote.election_id, codes[voter],
                                             [rng.randrange(3) for _ in range(PERSONS)], voting.new_cast_id())
        token_hash = typed_token_hash(vote.election_id, codes[voter])
        vote.cast_position[fingerprint] = k
        vote.spend_position[token_hash] = k
        vote.voter_of_ballot[fingerprint] = voter
        if k == VOTERS // 2 and url is None:
            copies.append(take_copy(vote, "during the vote", tmp_path))
    if url is None:
        copies.append(take_copy(vote, "all cast", tmp_path))
    return vote


def close_export_backup(vote: Vote, tmp_path: Path, copies: list[Copy]) -> None:
    with transaction(vote.factory) as s:
        elections.close_vote(s, elections.get_election(s, vote.election_id), vote.signing_key, "chair")
    copies.append(take_copy(vote, "after close", tmp_path))
    with transaction(vote.factory) as s:
        export_box(s, elections.get_election(s, vote.election_id), vote.signing_key, "chair")
    copies.append(take_copy(vote, "after export", tmp_path))
    backup_file = tmp_path / "kiosk-backup.db"
    backup.backup(f"sqlite:///{vote.path}", backup_file)  # what `kiosk backup` runs
    copies.append(take_copy(vote, "kiosk backup", tmp_path, backup_file))


# --- what one copy gives away -----------------------------------------------------------------------

def truth_of_rows(copy: Copy, tmp: Path) -> dict[Any, str]:
    """Harness only (not the intruder): each value that names one row of ballots or tokens,
    mapped to the row's fingerprint or token hash, as the copy holds them."""
    path = tmp / f"truth-{copy.label}.db"
    path.write_bytes(b"".join(copy.image.pages[n] for n in sorted(copy.image.pages)))
    conn = sqlite3.connect(path)
    names: dict[Any, str] = {}
    counts: Counter[Any] = Counter()
    for table, entity in (("ballots", "fingerprint"), ("tokens", "token_hash")):
        cursor = conn.execute(f"SELECT * FROM {table}")
        columns = [d[0] for d in cursor.description]
        for row in cursor:
            values = dict(zip(columns, row, strict=True))
            for value in row:
                counts[value] += 1
                names[value] = str(values[entity])
    conn.close()
    return {value: entity for value, entity in names.items() if counts[value] == 1 and value is not None}


def chain_check_ins(image: Image) -> list[str]:
    """The voter of each `voter.checked_in` event, in chain order, read from the copy's cells."""
    events = []
    for cell in cells_with_pages(image, image.btrees()["audit_events"]):
        if "voter.checked_in" in cell.values:
            data = next(v for v in cell.values if isinstance(v, str) and v.startswith("{"))
            events.append((int(cell.values[2]), json.loads(data)["voter_id"]))  # (seq, voter)
    return [voter for _seq, voter in sorted(events)]


@dataclass
class Finding:
    btree: str
    statistic: str
    z: float


def analyse(copy: Copy, vote: Vote, tmp: Path) -> tuple[list[Finding], int, list[str]]:
    """Order statistics of every b-tree, the best join, and the b-trees looked at."""
    rows = truth_of_rows(copy, tmp)
    findings: list[Finding] = []
    ballot_orders: list[list[str]] = []
    spend_orders: list[list[str]] = []
    checkin_orders: list[list[str]] = []
    looked_at = []
    for name, root in copy.image.btrees().items():
        cells = cells_with_pages(copy.image, root)
        named: list[tuple[int, int, str]] = []
        key_rank: dict[str, int] = {}  # cells_with_pages walks a b-tree in key order
        for cell in cells:
            entity = next((rows[v] for v in cell.values if isinstance(v, (str, bytes, int))
                           and not isinstance(v, bool) and v in rows), None)
            if entity is not None:
                named.append((cell.page, cell.offset, entity))
                key_rank.setdefault(entity, len(key_rank))
        looked_at.append(f"{name}:{len(cells)}")
        for truth, kind, orders in ((vote.cast_position, "cast", ballot_orders),
                                    (vote.spend_position, "spend", spend_orders),
                                    (vote.checkin_position, "check-in", checkin_orders)):
            mine = [(p, o, e) for p, o, e in named if e in truth]
            if len(mine) < 10:
                continue
            physical = [(p, -o) for p, o, _e in mine]
            order_rank = ranks([p * 65536 + o for p, o in physical])
            z = spearman_z(order_rank, [float(truth[e]) for _p, _o, e in mine])
            findings.append(Finding(name, f"{kind} order, Spearman", z))
            findings.append(Finding(name, f"{kind} order, Kendall within pages",
                                    same_page_kendall_z([(p, o, truth[e]) for p, o, e in mine])))
            findings.append(Finding(name, f"{kind} order, key order Spearman",
                                    spearman_z([float(key_rank[e]) for _p, _o, e in mine],
                                               [float(truth[e]) for _p, _o, e in mine])))
            orders.append(allocation_order(mine))
    # The join: k-th ballot -> k-th spent token -> its check-in rank -> the chain's voter.
    voter_at = dict(enumerate(chain_check_ins(copy.image)))
    best = 0
    for ballots in ballot_orders:
        for spent in spend_orders:
            spent_only = [t for t in spent if t in vote.spend_position]
            for checked in checkin_orders:
                rank = {t: j for j, t in enumerate(t for t in checked if t in vote.checkin_position)}
                right = sum(1 for k, fp in enumerate(ballots)
                            if k < len(spent_only) and spent_only[k] in rank
                            and voter_at.get(rank[spent_only[k]]) == vote.voter_of_ballot[fp])
                best = max(best, right)
    return findings, best, looked_at


# --- the tests ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def copies_of_a_vote(tmp_path_factory: pytest.TempPathFactory) -> tuple[Vote, list[Copy], Path]:
    tmp = tmp_path_factory.mktemp("disk-secrecy")
    copies: list[Copy] = []
    vote = run_vote(tmp, random.Random(), copies)
    close_export_backup(vote, tmp, copies)
    return vote, copies, tmp


def test_the_parser_reads_every_ballot_and_token_from_the_raw_pages(
        copies_of_a_vote: tuple[Vote, list[Copy], Path]) -> None:
    """The attack below is only worth something if it sees every row: check that it does."""
    vote, copies, _tmp = copies_of_a_vote
    for copy in copies:
        btrees = copy.image.btrees()
        assert {"ballots", "tokens"} <= set(btrees), copy.label
        values = {v for name in ("ballots", "tokens") for c in cells_with_pages(copy.image, btrees[name])
                  for v in c.values}
        if copy.label != "during the vote":
            assert set(vote.cast_position) <= values, copy.label
        assert set(vote.checkin_position) <= values, copy.label
        # Ciphertexts longer than a page's local share are read through their overflow pages.
        assert any(isinstance(v, bytes) and len(v) == 16 + 192 * PERSONS for v in values), copy.label


def test_no_copy_orders_ballots_or_tokens_by_cast_check_in_or_spend(
        copies_of_a_vote: tuple[Vote, list[Copy], Path]) -> None:
    vote, copies, tmp = copies_of_a_vote
    leaks = []
    for copy in copies:
        findings, _best, looked_at = analyse(copy, vote, tmp)
        assert findings, (copy.label, looked_at)  # ballots and tokens were recognised
        leaks += [f"{copy.label}: {f.btree}, {f.statistic}: z = {f.z:.1f}" for f in findings if abs(f.z) > Z]
    assert not leaks, "\n".join(leaks)


def test_no_copy_joins_a_ballot_to_its_voter_better_than_chance(
        copies_of_a_vote: tuple[Vote, list[Copy], Path]) -> None:
    vote, copies, tmp = copies_of_a_vote
    checkin_order = [voter for _j, voter in sorted((j, vote.voter_of_token[t])
                                                   for t, j in vote.checkin_position.items())]
    assert all(chain_check_ins(copy.image) == checkin_order for copy in copies)  # the chain's half holds
    joined = {copy.label: analyse(copy, vote, tmp)[1] for copy in copies}
    assert all(right <= CHANCE_MATCHES for right in joined.values()), joined


def test_the_attack_finds_slots_filled_in_key_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: with every random choice of shared/slots.py made 0 (slots made in the order
    drawn, each check-in and cast taking the first free slot), the same analysis sees the
    check-in and the cast order. So the tests above can fail."""
    monkeypatch.setattr("shared.slots.below", lambda n: 0)  # by name: the module is shared/slots.py
    monkeypatch.setattr("shared.slots.shuffle", lambda items: None)
    copies: list[Copy] = []
    vote = run_vote(tmp_path, random.Random(), copies)
    findings, _best, _looked_at = analyse(copies[-1], vote, tmp_path)
    seen = {(f.btree, f.statistic.split(",")[0]) for f in findings if abs(f.z) > Z}
    assert ("ballots", "cast order") in seen and ("tokens", "check-in order") in seen, findings


def test_the_audit_chain_names_no_token_of_a_cast(copies_of_a_vote: tuple[Vote, list[Copy], Path]) -> None:
    """The chain join (ballot -> token -> voter through the events) has nothing to hold on to:
    no event names a token that was spent, and no audit cell holds a spent token's hash."""
    vote, copies, _tmp = copies_of_a_vote
    for copy in copies:
        root = copy.image.btrees()["audit_events"]
        text_of_events = " ".join(str(v) for c in cells_with_pages(copy.image, root) for v in c.values)
        assert not [t for t in vote.spend_position if t in text_of_events], copy.label


def test_the_journal_is_not_a_wal_and_holds_no_past_commit(
        copies_of_a_vote: tuple[Vote, list[Copy], Path]) -> None:
    vote, copies, _tmp = copies_of_a_vote
    assert not Path(str(vote.path) + "-wal").exists()
    conn = sqlite3.connect(vote.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
    finally:
        conn.close()
    # The header's read and write versions say 2 for WAL; a rollback journal is 1.
    assert all(copy.image.page(1)[18:20] == b"\x01\x01" for copy in copies)
    # Between transactions the journal is empty: no page image of any earlier commit.
    assert all(copy.journal == b"" for copy in copies), [len(c.journal) for c in copies]


def test_a_kiosk_engine_runs_truncate_journal_with_secure_delete(sqlite_url: str) -> None:
    factory = new_factory(sqlite_url)
    with factory() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "truncate"
        assert s.execute(text("PRAGMA secure_delete")).scalar() == 1
        assert s.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL



def _pg_orders(vote: Vote) -> dict[str, list[tuple[str, float]]]:
    """Per table and storage fact, (fingerprint or token hash, value) as PostgreSQL keeps them."""
    where = {"e": vote.election_id}
    with vote.factory() as s:
        ballots = s.execute(text("SELECT fingerprint, ctid::text, xmin::text::bigint FROM ballots "
                                 "WHERE election_id = :e"), where).all()
        tokens = s.execute(text("SELECT token_hash, ctid::text, xmin::text::bigint FROM tokens "
                                "WHERE election_id = :e"), where).all()

    def place(ctid: str) -> float:
        page, item = ctid.strip("()").split(",")
        return int(page) * 1000.0 + int(item)

    return {"ballots ctid": [(fp, place(c)) for fp, c, _x in ballots],
            "ballots xmin": [(fp, float(x)) for fp, _c, x in ballots],
            "tokens ctid": [(h, place(c)) for h, c, _x in tokens],
            "tokens xmin": [(h, float(x)) for h, _c, x in tokens]}


def test_on_postgresql_no_heap_place_or_xmin_follows_cast_check_in_or_spend(
        pg_url: str, tmp_path: Path) -> None:
    """Section 3 of the design: heap place (ctid) and writing transaction (xmin) of every
    ballot and token slot, during the vote and after close, against the three orders."""
    vote = run_vote(tmp_path, random.Random(), [], url=pg_url)
    leaks = []
    for moment in ("all cast", "after close"):
        if moment == "after close":
            with transaction(vote.factory) as s:
                elections.close_vote(s, elections.get_election(s, vote.election_id), vote.signing_key, "chair")
        for fact, values in _pg_orders(vote).items():
            for truth, kind in ((vote.cast_position, "cast"), (vote.spend_position, "spend"),
                                (vote.checkin_position, "check-in")):
                mine = [(truth[e], v) for e, v in values if e in truth]
                if len(mine) < 10:
                    continue
                z = spearman_z([float(v) for _t, v in mine], [float(t) for t, _v in mine])
                if abs(z) > Z:
                    leaks.append(f"{moment}: {fact} follows the {kind} order (z = {z:.1f})")
    assert not leaks, leaks
