"""A ballot sealed when the voter reviews it, carried in the review page's cast form.

The booth seals the ballot (encrypts the rows, proves them and checks the proofs,
shared/ballot.py) when it shows the review page, not when the voter confirms it. The
seal's ~30 ms of CPU then falls while the voter reads the review, and the cast only spends
the slip and stores the ballot, so the moment a voter waits on is short under load
(README, "Casting through gunicorn"). Helios encrypts at the same step, for the same reason.

The sealed ballot travels in the cast form beside the marks, with a tag: HMAC-SHA256 under a
key derived from the kiosk's secret, over the election, its manifest hash, the voter
session's cast id, the marks and the ciphertext, each part length-prefixed. The cast takes
the sealed ballot only if the tag matches what it is about to cast: a tablet can neither
swap in another ballot, nor pair the ballot with other marks, nor move it to another voter
session (each session has its own cast id, which the cast checks against the session, so
one voter's sealed ballot cannot be cast twice under two slips and make the box hold a
duplicate). Anything else (no tag, a wrong one, a form from an older page) is not an
error: the cast seals the posted marks afresh, as it always did. Either way the proofs of
the ballot that is cast were checked by the kiosk before the slip is spent.

The marks and the ciphertext are on the tablet's page anyway (the marks as the review
shows them); the tag adds nothing a log or a URL could carry: the form is a POST body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from shared import crypto
from shared.voting import SealedBallot, Sealer

# The tag's key is derived, so that it is never the session cookie's signing key itself.
_KEY_LABEL = "cv-presealed-ballot-v1"


def _tag(secret: str, sealed: SealedBallot, cast_id: str, marks: Sequence[int]) -> str:
    parts = (sealed.election_id.encode(), sealed.manifest_hash.encode(), cast_id.encode(),
             bytes(marks), sealed.ciphertext)
    message = b"".join(len(part).to_bytes(4, "big") + part for part in parts)
    return hmac.new(crypto.derive_key(secret, _KEY_LABEL), message, hashlib.sha256).hexdigest()


def form_fields(secret: str, sealed: SealedBallot, cast_id: str, marks: Sequence[int]) -> dict[str, str]:
    """The cast form's hidden fields that carry a ballot sealed for these marks and this session."""
    return {"sealed": base64.b64encode(sealed.ciphertext).decode(),
            "seal_tag": _tag(secret, sealed, cast_id, marks)}


def accepted(secret: str, sealer: Sealer, cast_id: str, marks: Sequence[int],
             sealed_field: str, tag_field: str) -> SealedBallot | None:
    """The ballot the form carries if its tag matches this election, session and marks; else None."""
    if not sealed_field or not tag_field or len(sealed_field) > 4 * sealer.ballot_length:
        return None
    try:
        ciphertext = base64.b64decode(sealed_field, validate=True)
    except (binascii.Error, ValueError):
        return None
    sealed = SealedBallot(sealer.election_id, sealer.manifest_hash, ciphertext)
    if not hmac.compare_digest(_tag(secret, sealed, cast_id, marks), tag_field):
        return None
    return sealed
