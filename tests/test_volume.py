"""Volume: 1,024 voters x 20 persons = 20,480 ballot positions cast with their proofs and
counted from the encrypted sums, with zero difference from the test's own count of the
choices it sent.

Why this size: every row of every ballot is an ElGamal ciphertext with a proof, made and
checked by the kiosk and checked again by the counter (about 2.2 ms per row on this
machine, docs/crypto-protocol.md 8), so a run costs per position. 1,024 voters keep the run
near a minute in the suite; N = 2^10 makes the percentages need rounding, and some fall
exactly half way (32 / 1,024 = 3.125 %). tests/bench/bench_crypto.py measures 10,000-ballot
boxes.

The run goes through the real code: the chair creates the election over HTTP (Flask test
client) and the key ceremony runs through the counter's code; the desk checks everyone in
with its batch page (the same page that prints the slips: the codes are read from the
slips' HTML); some ballots are cast at a paired booth over HTTP, the rest through
tests.factories.cast_ballot (shared.voting seals, then casts), one transaction each, as the
booth view does (sealing with proofs, single-use token, audit chain). The chair closes (password again) and exports the
sealed box; `counter verify` and `counter tally` with 2 of the 3 share codes count it.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from counter.cli import main as counter
from kiosk.desk import BATCH_LIMIT
from shared import election as elections
from shared.db import session_factory
from shared.glossary import LEVELS
from shared.models import NO_HASH, Ballot, Token, Voter
from tests.counter_support import counter_home
from tests.factories import cast_ballot, election_spec
from tests.kiosk_client import (
    CHAIR,
    DESK,
    RECEIPT_RE,
    Meeting,
    client,
    csrf,
    form_from_spec,
    login,
    make_app,
    post,
    vote,
)

VOTERS = 1_024
PERSONS = 20
BOOTH_CASTS = 100  # cast over HTTP at a paired booth; the rest through the domain function
SLIP_CODE_RE = re.compile(r'class="code slip-code" id="slip-code(?:-\d+)?">([^<]+)<')
HIGH, TRUST, LOW = range(3)
# Persons whose count is pinned to an edge of the rules (the others get random weights):
# (person index, level, count). N = 1,024: 2N/3 = 682.67 and N/2 = 512.
PINNED = (
    (0, LOW, 683),    # 3L >= 2N: two thirds or more
    (1, LOW, 682),    # one fewer: over half, under two thirds
    (2, LOW, 512),    # exactly half: no band (the rule is "over half")
    (3, LOW, 513),    # over half
    (4, HIGH, 32),    # 3.125 %: exactly half way, rounds up to 3.13 (half-even would say 3.12)
    (5, TRUST, 96),   # 9.375 %: half way, 9.38
)


@dataclass
class VolumeRun:
    """What the run sent and what the counter said."""

    sent: list[Counter[int]]  # per person: level -> ballots sent with that mark
    ballots_sent: int
    results: dict[str, Any]
    verify_exit: int
    stored: dict[str, int]


class CsvRosterMeeting(Meeting):
    """A Meeting whose roster the chair uploads as a CSV file, as a large roster comes.

    (The typed roster field is a form field, which Werkzeug caps at 500 kB: about 8,000
    Vietnamese names.)
    """

    def __init__(self, app: Flask, spec: dict[str, Any]) -> None:
        self.app, self.spec = app, spec
        self.chair = client(app)
        login(self.chair, CHAIR)
        roster = io.StringIO()
        writer = csv.writer(roster)
        writer.writerow(["id", "name", "position"])
        writer.writerows([v["id"], v["name"], v["position"]] for v in spec["voters"])
        form = {**form_from_spec({**spec, "voters": []}),
                "voters_csv": (io.BytesIO(roster.getvalue().encode()), "danh-sach.csv")}
        response = post(self.chair, "/chair/new", "/chair/new", form, content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        self.id = response.headers["Location"].rstrip("/").split("/")[-1]
        self.page = f"/chair/{self.id}"
        self.desk = client(app)
        login(self.desk, DESK)
        self.shares = []


def choices(rng: random.Random) -> list[list[int]]:
    """One complete ballot per voter: pinned persons at the rules' edges, others random."""
    weights = [[rng.random() + 0.05 for _ in range(3)] for _ in range(PERSONS)]
    ballots = [[rng.choices(range(3), weights[p])[0] for p in range(PERSONS)] for _ in range(VOTERS)]
    for person, level, count in PINNED:
        chosen = set(rng.sample(range(VOTERS), count))
        others = [m for m in range(3) if m != level]
        for voter, marks in enumerate(ballots):
            marks[person] = level if voter in chosen else rng.choice(others)
    return ballots


def check_in_everyone(meeting: Meeting) -> list[str]:
    """The desk's batch page, BATCH_LIMIT voters a time; the codes read from the slips printed."""
    token = csrf(meeting.desk, f"/desk/{meeting.id}/queue")
    codes: list[str] = []
    for start in range(1, VOTERS + 1, BATCH_LIMIT):
        ids = [f"V{i:03d}" for i in range(start, min(VOTERS, start + BATCH_LIMIT - 1) + 1)]
        page = meeting.desk.post(f"/desk/{meeting.id}/batch",
                                 data={"csrf_token": token, "voter_id": ids})
        assert page.status_code == 200, page.get_data(as_text=True)[:2000]
        printed = SLIP_CODE_RE.findall(page.get_data(as_text=True))
        assert len(printed) == len(ids)
        codes += printed
    return codes


def cast_everything(app: Flask, meeting: Meeting, tablet: FlaskClient, codes: list[str],
                    ballots: list[list[int]], rng: random.Random) -> None:
    """Every slip cast once, in a random order: some at the booth over HTTP, the rest directly."""
    order = list(range(VOTERS))
    rng.shuffle(order)
    for voter in order[:BOOTH_CASTS]:
        html = vote(tablet, codes[voter], ballots[voter]).get_data(as_text=True)
        assert RECEIPT_RE.search(html), html[:2000]
    # One session, one transaction per cast, committed as the booth view commits it; the
    # election and its persons stay loaded between casts (expire_on_commit is off).
    with session_factory(app.extensions["kiosk_engine"])() as s:
        election = elections.get_election(s, meeting.id)
        s.commit()
        for voter in order[BOOTH_CASTS:]:
            with s.begin():
                cast_ballot(s, election.id, codes[voter], ballots[voter])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> VolumeRun:
    tmp = tmp_path_factory.mktemp("volume")
    app = make_app(tmp / "kiosk")
    rng = random.Random(20261127)
    ballots = choices(rng)
    sent = [Counter(marks[p] for marks in ballots) for p in range(PERSONS)]

    meeting = CsvRosterMeeting(app, election_spec(persons=PERSONS, voters=VOTERS))
    shares = meeting.ceremony()
    assert len(shares) == 3
    tablet = meeting.booth()
    codes = check_in_everyone(meeting)
    assert len(set(codes)) == VOTERS
    assert meeting.chair_action("open").status_code == 302
    cast_everything(app, meeting, tablet, codes, ballots, rng)
    assert meeting.chair_action("close", {"password": CHAIR[1]}).status_code == 302
    stored = {
        "ballots": meeting.scalar(select(func.count()).select_from(Ballot).where(Ballot.fingerprint != NO_HASH)),
        "spent": meeting.scalar(select(func.count()).select_from(Token).where(Token.state == "spent")),
        "checked_in": meeting.scalar(select(func.count()).select_from(Voter)
                                     .where(Voter.checked_in.is_(True))),
    }
    exported = meeting.chair_action("export")
    assert exported.status_code == 200
    box = tmp / "box.json"
    box.write_bytes(exported.data)

    share_files = []
    for index in (0, 2):  # any 2 of the 3 board members
        path = tmp / f"share-{index + 1}.txt"
        path.write_text(shares[index], encoding="utf-8")
        share_files += ["--share", str(path)]
    home = ["--home", str(counter_home(tmp / "counter"))]  # the laptop that held the ceremony
    verify_exit = counter([*home, "verify", str(box)])
    out = tmp / "results.json"
    assert counter([*home, "tally", str(box), *share_files, "--json", str(out)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    return VolumeRun(sent, len(ballots), results, verify_exit, stored)


def exact_percentage(count: int, collected: int) -> str:
    """count / N x 100, two decimals, half up, in fractions (independent of shared.rules)."""
    hundredths = Fraction(count * 10_000, collected) + Fraction(1, 2)
    whole = hundredths.numerator // hundredths.denominator
    return f"{whole // 100}.{whole % 100:02d}"


def exact_band(low: int, collected: int) -> str | None:
    share = Fraction(low, collected)
    if share >= Fraction(2, 3):
        return "two_thirds"
    return "over_half" if share > Fraction(1, 2) else None


def test_twenty_thousand_positions_count_with_zero_difference_from_the_choices_sent(run: VolumeRun) -> None:
    assert run.ballots_sent * PERSONS >= 20_000
    persons = run.results["persons"]
    assert len(persons) == PERSONS
    differences = [(p["number"], level, p[level], run.sent[i][mark])
                   for i, p in enumerate(persons) for mark, level in enumerate(LEVELS)
                   if p[level] != run.sent[i][mark]]
    assert differences == []
    assert all(p["valid"] == VOTERS for p in persons)  # an electronic ballot has no invalid row


def test_every_voter_cast_once_and_the_box_verifies(run: VolumeRun) -> None:
    assert run.verify_exit == 0
    assert run.stored == {"ballots": VOTERS, "spent": VOTERS, "checked_in": VOTERS}
    r = run.results
    assert (r["ballots_collected"], r["ballots_issued"], r["present"]) == (VOTERS, VOTERS, VOTERS)


def test_percentages_and_bands_are_the_exact_rules_applied_to_the_counts_sent(run: VolumeRun) -> None:
    for i, p in enumerate(run.results["persons"]):
        for mark, level in enumerate(LEVELS):
            assert p[f"pct_{level}"] == exact_percentage(run.sent[i][mark], VOTERS), (p["number"], level)
        assert p["band"] == exact_band(run.sent[i][LOW], VOTERS), p["number"]
    bands = [p["band"] for p in run.results["persons"][:4]]
    assert bands == ["two_thirds", "over_half", None, "over_half"]
    assert run.results["persons"][4]["pct_high"] == "3.13"
    assert run.results["persons"][5]["pct_trust"] == "9.38"
