"""The one permission table: role x election state x action, default deny.

docs/security.md asks for a role x election-state permission table, written once and
used by every staff view. Every chair and desk view is wrapped in `permission_required`
with exactly one action; a cell that is not listed in `RULES` is refused (403).
Authentication (who is logged in, idle and absolute session limits) stays in
`kiosk.auth.current_user`; this module only decides what a logged-in role may do.

The domain still refuses finer things on its own (no quorum, wrong share, no keys): the
table decides whether the role may *try* the action in that state at all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kiosk.auth import current_user
from kiosk.db import db
from shared import election as elections
from shared.errors import ElectionNotFound
from shared.glossary import ELECTION_STATE_LABELS
from shared.models import Election
from shared.staff_accounts import ROLES
from shared.states import ElectionState
from shared.voting import CHECKIN_STATES

F = TypeVar("F", bound=Callable[..., Any])

# "none": a page about no election in particular (lists, the setup form).
NO_ELECTION = "none"
ELECTION_STATES: tuple[str, ...] = tuple(ElectionState)
STATES = (NO_ELECTION, *ELECTION_STATES)
# The desk works from the key ceremony until the close.
LIVE: tuple[str, ...] = CHECKIN_STATES
STAFF_VIEWERS = ("admin", "chair", "board", "auditor")

# action -> role -> states in which that role may do it. Everything else is denied.
RULES: dict[str, dict[str, tuple[str, ...]]] = {
    "election.list": {role: (NO_ELECTION,) for role in STAFF_VIEWERS},
    "election.create": {"chair": (NO_ELECTION,)},
    # The chair's control page; the admin (IT staff) sees it to pair tablets.
    "election.view": {"chair": ELECTION_STATES, "admin": ELECTION_STATES},
    # Board members and auditors may only watch the turnout (projector view, live counts).
    "status.view": {role: ELECTION_STATES for role in ROLES if role != "desk"},
    # The setup page (kiosk/setup.py): everything the voter and the report will see. Every
    # field can be corrected until the key import freezes the manifest (docs/runbook.md).
    "setup.view": {"chair": ELECTION_STATES, "admin": ELECTION_STATES},
    "setup.edit": {"chair": (ElectionState.DRAFT,)},
    # Never opened: nothing was cast. Closed ones are archived instead, never deleted.
    "election.delete": {"chair": (ElectionState.DRAFT, ElectionState.READY)},
    "election.archive": {"chair": (ElectionState.CLOSED,)},
    # Staff accounts (kiosk/admin_users.py): IT staff only, as `kiosk user ...` on the server.
    "users.manage": {"admin": (NO_ELECTION,)},
    "ceremony.run": {"chair": (ElectionState.DRAFT,)},
    "booth.pair": {"chair": LIVE, "admin": LIVE},
    "vote.open": {"chair": (ElectionState.READY, ElectionState.PAUSED)},
    "vote.pause": {"chair": (ElectionState.OPEN,)},
    "vote.close": {"chair": (ElectionState.OPEN, ElectionState.PAUSED)},
    "box.export": {"chair": (ElectionState.CLOSED,)},
    "roster.view": {"desk": STATES, "chair": STATES},
    "voter.checkin": {"desk": LIVE, "chair": LIVE},
    "slip.void": {"desk": LIVE, "chair": LIVE},
}


def allowed(role: str, state: str, action: str) -> bool:
    """True only if the table lists the cell (default deny: unknown role, state or action)."""
    return state in RULES.get(action, {}).get(role, ())


def can(action: str, election: Election | None = None) -> bool:
    """For templates: may the logged-in user do this action (on this election) now?"""
    user = g.get("user")
    if user is None:
        return False
    return allowed(user.role, election.state if election is not None else NO_ELECTION, action)


def permission_required(action: str) -> Callable[[F], F]:
    """Authenticate, then allow the view only if the table allows the action in this state.

    The state is the election named by the URL's election_id, or "none" without one.
    A refusal changes nothing: it happens before the view runs.
    """
    if action not in RULES:
        raise ValueError(f"unknown action {action}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                flash(_("Vui lòng đăng nhập bằng tài khoản có quyền thực hiện việc này."), "error")
                return redirect(url_for("auth.login", next=request.path))
            state = NO_ELECTION
            if "election_id" in kwargs:
                try:
                    state = elections.get_election(db(), kwargs["election_id"]).state
                except ElectionNotFound:
                    return render_template("error.html", title=_("Lỗi %(code)s", code=404),
                                           message=_("Không tìm thấy trang.")), 404
                finally:
                    db().rollback()  # the view reads (and locks) the election itself
            if not allowed(user.role, state, action):
                if state == NO_ELECTION:
                    message = _("Tài khoản của đồng chí không có quyền thực hiện việc này.")
                else:
                    message = _("Tài khoản của đồng chí không có quyền thực hiện việc này khi "
                                "cuộc lấy phiếu đang ở trạng thái “%(state)s”. Chưa có gì được "
                                "thay đổi.", state=_(ELECTION_STATE_LABELS[ElectionState(state)]))
                return render_template("error.html", title=_("Lỗi %(code)s", code=403),
                                       message=message), 403
            return view(*args, **kwargs)
        wrapped.permission_action = action  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]
    return decorator
