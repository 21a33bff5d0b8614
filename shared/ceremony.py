"""The key ceremony, run on the counting board's laptop (the counter), never on the kiosk.

After the Ban kiểm phiếu is elected at the meeting (the seed's Bước 2), the board's laptop
reads the election definition exported by the kiosk, makes the election key in memory,
splits it k-of-n with Feldman commitments (docs/crypto-protocol.md 2), checks every card
against the commitments, and hands back only public parts (the key file). The election's
private key is a local of `shared.elgamal.share_election_key` and is never returned or written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared import elgamal
from shared import manifest as manifests
from shared.shares import ShareCard


@dataclass(frozen=True)
class CeremonyResult:
    """What the ceremony hands out: the key file for the kiosk, the cards for the board."""

    key_file: manifests.KeyFile
    manifest: manifests.Manifest
    cards: tuple[ShareCard, ...]

    def __repr__(self) -> str:
        return f"CeremonyResult(election_id={self.key_file.election_id!r}, cards={len(self.cards)})"


def run_ceremony(definition: dict[str, Any], counter_signing_key: bytes,
                 rng: elgamal.Randomness = elgamal.SYSTEM_RANDOMNESS) -> CeremonyResult:
    """Make and share the election key for a checked definition; every card is checked."""
    definition = manifests.check_definition(definition)
    board = definition["board"]
    shared_key = elgamal.share_election_key(board["threshold"], len(board["members"]), rng)
    key_file = manifests.KeyFile.signed(definition, shared_key.public_key, shared_key.commitments,
                                        counter_signing_key)
    manifest = manifests.build_manifest(definition, key_file)
    manifest_hash = manifest.manifest_hash
    names = {m["index"]: m["name"] for m in board["members"]}
    cards = []
    for share in shared_key.shares:
        elgamal.check_share(shared_key.commitments, share)  # the share check, before printing
        cards.append(ShareCard(definition["election_id"], manifest_hash, share.index, names[share.index], share))
    return CeremonyResult(key_file, manifest, tuple(cards))
