"""The worked example of docs/crypto-protocol.md 9, computed from the golden election's files.

`python3 -m tests.worked_example docs/crypto-protocol.md` writes the block between its two
markers again; tests/test_golden.py requires the document to hold exactly what this prints,
so the page's numbers are always those of tests/data/golden.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from shared import elgamal
from shared.canonical import digest
from shared.manifest import Manifest

GOLDEN = Path(__file__).parent / "data" / "golden"
BEGIN = "<!-- worked example: begin (python3 -m tests.worked_example docs/crypto-protocol.md) -->"
END = "<!-- worked example: end -->"


def _le(value: int, size: int) -> str:
    return value.to_bytes(size, "little").hex()


def worked_example(golden: Path = GOLDEN) -> str:
    """The section's markdown body for the golden box and results."""
    box: dict[str, Any] = json.loads((golden / "box.json").read_bytes())
    results: dict[str, Any] = json.loads((golden / "results.json").read_bytes())
    manifest = box["manifest"]
    context = Manifest.from_json(manifest).context()
    persons = len(manifest["persons"])
    raw = base64.b64decode(box["ballots"][0]["ballot"])
    rows = elgamal.verify_ballot(context, raw, persons)
    first = rows[0]
    lines = [
        f"The election `{manifest['election_id']}` of `tests/data/golden/box.json`: {persons} persons, "
        f"{len(box['ballots'])} ballots, a {manifest['board']['threshold']}-of-{len(manifest['board']['members'])} "
        "board. Every value is hex; integers are written little-endian as in section 5.",
        "",
        "| what | value |",
        "|---|---|",
        f"| manifest hash `D(manifest)` | `{digest(manifest)}` |",
        f"| `K` | `{manifest['election_public_key']}` |",
        f"| `M₁ = 2^20·G` | `{elgamal.MESSAGES[1].hex()}` |",
        f"| first ballot of the box, fingerprint | `{box['ballots'][0]['fingerprint']}` |",
        f"| its length | {len(raw)} bytes = 16 + 192 × {persons} |",
        f"| `c` (bytes 0–15) | `{raw[:16].hex()}` |",
        f"| row 1 `A` (bytes 16–47) | `{first.a.hex()}` |",
        f"| row 1 `C` (bytes 48–79) | `{first.c.hex()}` |",
        f"| row 1 `c₀`, `c₁` (bytes 80–111) | `{_le(first.challenges[0], 16)}`, `{_le(first.challenges[1], 16)}` |",
        f"| row 1 `c₂ = c − c₀ − c₁ mod 2^128` (not written) | `{_le(first.challenges[2], 16)}` |",
        f"| row 1 `s₀` (bytes 112–143) | `{_le(first.responses[0], 32)}` |",
        f"| row 1 `a₀ = s₀·G − c₀·A` | `{elgamal.sub(elgamal.mul_base(first.responses[0]), elgamal.mul(first.challenges[0], first.a)).hex()}` |",  # noqa: E501
    ]
    row = results["tally"]["rows"][0]
    aggregate = (bytes.fromhex(row["aggregate"]["a"]), bytes.fromhex(row["aggregate"]["c"]))
    members = [d["index"] for d in row["decryptions"]]
    weights = elgamal.lagrange_at_zero(members)
    counts = row["counts"]
    total = elgamal.encoded_total(counts)
    lines += [
        f"| row 1 `Â`, sum of the {len(box['ballots'])} ballots' `A` | `{row['aggregate']['a']}` |",
        f"| row 1 `Ĉ` | `{row['aggregate']['c']}` |",
    ]
    for d in row["decryptions"]:
        i = d["index"]
        lines += [
            f"| member {i}: `K{_sub(i)}` from the commitments | `{elgamal.share_public_key(context.commitments, i).hex()}` |",  # noqa: E501
            f"| member {i}: `D{_sub(i)}`, proof `c`, `s` | `{d['share']}`, `{d['challenge']}`, `{d['response']}` |",
            f"| member {i}: `λ{_sub(i)} = " + " · ".join(f"{j}/({j} − {i})" for j in members if j != i)
            + f" mod ℓ` | `{_le(weights[i], 32)}` |",
        ]
    combined = elgamal.IDENTITY
    for d in row["decryptions"]:
        combined = elgamal.add(combined, elgamal.mul(weights[d["index"]], bytes.fromhex(d["share"])))
    lines += [
        f"| `D = Σ λᵢ·Dᵢ` | `{combined.hex()}` |",
        f"| `Ĉ − D` | `{elgamal.sub(aggregate[1], combined).hex()}` |",
        f"| counts `(n₀, n₁, n₂)` | {tuple(counts)}: "
        f"`T = {counts[0]} + {counts[1]}·2^20 + {counts[2]}·2^40 = {total}` |",
        f"| `T·G` (equals `Ĉ − D`) | `{elgamal.mul_base(total).hex()}` |",
    ]
    return "\n".join(lines)


def _sub(index: int) -> str:
    return str(index).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def with_example(document: str, body: str) -> str:
    """The document with the block between the markers replaced by `body`."""
    start, end = document.index(BEGIN) + len(BEGIN), document.index(END)
    return document[:start] + "\n" + body + "\n" + document[end:]


def main(argv: list[str]) -> int:
    path = Path(argv[1])
    path.write_text(with_example(path.read_text(encoding="utf-8"), worked_example()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
