"""Reviewing and correcting an election before its key ceremony; removing and archiving it.

Until the board's key is imported (ElectionState.DRAFT) every field may change: no manifest
exists yet, and a key file the board's laptop made for an earlier definition is refused at
import (shared/manifest.py), so a correction after the definition was downloaded cannot slip
into the vote unseen. From the key import on nothing here changes the election: the
manifest (ballot, board, k, figures) is frozen and published, and the roster is what the
desk checks in against (docs/runbook.md, "Setup").

An election that never opened can be deleted: its rows and its own chain go, and the
system chain keeps an event naming it, its chain's length and last hash, so the removal is
logged where it survives. A closed election can be archived: hidden from the default list,
still exportable. Both are logged on the system chain; an election's own chain takes
nothing after its close record (shared/audit.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.db import after_commit
from shared.election import ballot_count, lock_election, slips_issued, token_counts, validate_election_spec
from shared.errors import N_, WrongElectionState
from shared.event_kinds import EventKind
from shared.holder_keys import holder_keys
from shared.models import AuditEvent, Ballot, BoardMember, Booth, Election, Person, Token, Voter
from shared.states import ElectionState

DETAIL_FIELDS = ("title", "organization", "place", "date", "profile", "convened")
# States of an election that never opened: no ballot can exist (shared/election.open_vote).
DELETABLE_STATES = (ElectionState.DRAFT, ElectionState.READY)


def roster_of(session: Session, election_id: str) -> list[Voter]:
    """The roster in the order it was entered (imported list order)."""
    return list(session.scalars(select(Voter).where(Voter.election_id == election_id)
                                .order_by(Voter.id)))


def spec_of(session: Session, election: Election) -> dict[str, Any]:
    """The election as a spec (SPEC.json shape): what the setup forms start from."""
    spec: dict[str, Any] = {field: getattr(election, field) for field in DETAIL_FIELDS}
    spec["persons"] = [{"name": p.name, "position": p.position, "unit": p.unit} for p in election.persons]
    spec["voters"] = [{"id": v.voter_id, "name": v.name, "position": v.position}
                      for v in roster_of(session, election.id)]
    spec["board"] = {"members": [m.name for m in election.members], "threshold": election.threshold}
    spec["forms"] = {"ballot_of": election.form_ballot_of or "", "ballot_for": election.form_ballot_for or "",
                     "year": election.form_year if election.form_year is not None else int(election.date[:4]),
                     "locality": election.form_locality or "", "assigned_by": election.form_assigned_by or ""}
    return spec


def revise_election(session: Session, election: Election, spec: Any, actor: str) -> list[str]:
    """Replace a draft's fields by a whole new spec; the names of what changed (maybe none).

    The spec is checked as at creation (validate_election_spec), so a correction can never make an
    election that creation would refuse. WrongElectionState once the key is imported.
    """
    lock_election(session, election)
    if election.state != ElectionState.DRAFT:
        raise WrongElectionState(N_("Khóa của Ban kiểm phiếu đã được nhập: thông tin cuộc lấy phiếu "
                                    "không sửa được nữa. Chưa có gì được thay đổi."))
    clean = validate_election_spec(spec)
    before = spec_of(session, election)
    changed = [field for field in DETAIL_FIELDS if before[field] != clean[field]]
    for field in changed:
        setattr(election, field, clean[field])
    if before["persons"] != clean["persons"]:
        changed.append("persons")
        election.persons.clear()
        session.flush()  # the old rows go before the new ones take their numbers
        election.persons.extend(Person(number=i, **p) for i, p in enumerate(clean["persons"], start=1))
    if before["voters"] != clean["voters"]:
        # A draft has no check-in yet (the desk works from the key import on): the roster
        # can be replaced whole.
        changed.append("voters")
        session.execute(delete(Voter).where(Voter.election_id == election.id))
        session.add_all(Voter(election_id=election.id, voter_id=v["id"], name=v["name"],
                              position=v["position"]) for v in clean["voters"])
    if before["forms"] != clean["forms"]:
        changed.append("forms")
        forms = clean["forms"]
        election.form_ballot_of, election.form_ballot_for = forms["ballot_of"], forms["ballot_for"]
        election.form_year, election.form_locality = forms["year"], forms["locality"]
        election.form_assigned_by = forms["assigned_by"]
    if before["board"] != clean["board"]:
        changed.append("board")
        election.threshold = clean["board"]["threshold"]
        election.members.clear()
        session.flush()
        election.members.extend(BoardMember(index=i, name=n)
                                for i, n in enumerate(clean["board"]["members"], start=1))
    if changed:
        audit.append_event(session, election.id, EventKind.ELECTION_REVISED, actor, {
            "fields": changed, "persons": len(clean["persons"]), "voters": len(clean["voters"]),
            "convened": clean["convened"], "members": len(clean["board"]["members"]),
            "threshold": clean["board"]["threshold"],
        })
    return changed


def delete_election(session: Session, election: Election, actor: str) -> dict[str, Any]:
    """Remove an election that never opened, logging it on the system chain; the event's data."""
    lock_election(session, election)
    if election.state not in DELETABLE_STATES or election.present_at_open is not None:
        raise WrongElectionState(N_("Chỉ xóa được cuộc lấy phiếu chưa từng mở bỏ phiếu. Cuộc đã kết "
                                    "thúc thì lưu trữ. Chưa có gì được thay đổi."))
    # Slots (docs/storage-secrecy.md D2, D3): only a filled ballot slot is a ballot, only a
    # token slot that left "free" is a slip. A ballot cannot exist before the opening: refuse
    # rather than destroy one.
    if ballot_count(session, election.id):
        raise WrongElectionState(N_("Chỉ xóa được cuộc lấy phiếu chưa từng mở bỏ phiếu. Cuộc đã kết "
                                    "thúc thì lưu trữ. Chưa có gì được thay đổi."))
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash)
                           .where(AuditEvent.election_id == election.id)
                           .order_by(AuditEvent.seq.desc()).limit(1)).first()
    voters = session.scalar(select(func.count()).select_from(Voter)
                            .where(Voter.election_id == election.id)) or 0
    data = {"election_id": election.id, "title": election.title, "date": election.date,
            "state": election.state, "manifest_hash": election.manifest_hash,
            "voters": voters, "slips_issued": slips_issued(token_counts(session, election.id)),
            "chain_events": head.seq if head else 0, "chain_head": head.hash if head else audit.GENESIS}
    deleted = election.id
    for table in (Ballot, Token, Booth, Voter):
        session.execute(delete(table).where(table.election_id == election.id))
    session.execute(delete(AuditEvent).where(AuditEvent.election_id == election.id))
    session.delete(election)  # persons and board members with it (cascade)
    audit.append_event(session, audit.SYSTEM_CHAIN, EventKind.ELECTION_DELETED, actor, data)
    keys = holder_keys(session)
    after_commit(session, lambda: keys.destroy(deleted))  # the desk's key of its slips, if any
    return data


def set_archived(session: Session, election: Election, archived: bool, actor: str) -> None:
    """Archive a closed election (hidden from the default list) or bring it back."""
    lock_election(session, election)
    if election.state != ElectionState.CLOSED:
        raise WrongElectionState(N_("Chỉ lưu trữ được cuộc lấy phiếu đã kết thúc."))
    if election.archived == archived:
        return
    election.archived = archived
    kind = EventKind.ELECTION_ARCHIVED if archived else EventKind.ELECTION_UNARCHIVED
    audit.append_event(session, audit.SYSTEM_CHAIN, kind, actor, {"election_id": election.id, "title": election.title})
