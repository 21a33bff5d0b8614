"""The kiosk never holds the election's private key: not in its code paths, not in its files.

The key is made by `counter ceremony` on the board's laptop, in another process; the
kiosk gets only the public key file (docs/crypto-protocol.md 2).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from kiosk.demo import prepare
from shared import codes, elgamal
from shared.shares import CARD_BYTES

ROOT = Path(__file__).resolve().parent.parent
KEY_MAKERS = {"share_election_key", "run_ceremony", "partial_decrypt", "KeyShare"}


def test_no_kiosk_module_names_a_function_that_makes_or_uses_a_private_key() -> None:
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    for alias in node.names}
        modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not (names | imported) & KEY_MAKERS, path
        assert "shared.ceremony" not in modules, path


def _shares(shares_dir: Path) -> list[elgamal.KeyShare]:
    result = []
    for path in sorted(shares_dir.glob("share-*.json")):
        raw = codes.decode_checked(json.loads(path.read_text(encoding="utf-8"))["code"], CARD_BYTES)
        result.append(elgamal.KeyShare(raw[0], elgamal.scalar(raw[9:])))
    return result


def test_kiosk_files_hold_neither_the_private_key_nor_any_share(tmp_path: Path) -> None:
    info = prepare(tmp_path)  # the demo: the ceremony runs in a `counter ceremony` process
    shares = _shares(Path(info["shares_dir"]))
    assert len(shares) == 3
    # The test rebuilds the private key (the product never does) only to search for it.
    weights = elgamal.lagrange_at_zero([s.index for s in shares[:2]])
    private = sum(weights[s.index] * s.value for s in shares[:2]) % elgamal.ORDER
    secrets = [v.to_bytes(32, "little") for v in [private] + [s.value for s in shares]]
    needles = secrets + [s.hex().encode() for s in secrets] + [s[::-1] for s in secrets]
    kiosk_files = [p for p in (tmp_path / "kiosk").rglob("*") if p.is_file()]
    assert any(p.name.endswith(".db") for p in kiosk_files)
    for path in kiosk_files:
        data = path.read_bytes()
        assert not any(needle in data for needle in needles), path
    # The key file the kiosk imported carries the public key the private key belongs to.
    manifest_key = json.loads((tmp_path / "ceremony" / "key.json").read_text())["election_public_key"]
    assert elgamal.mul_base(private).hex() == manifest_key
