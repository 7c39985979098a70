"""The worked example of docs/log-format.md recomputes exactly, with the project code and by hand."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from domain.chain import GENESIS_HASH, canonical_json, chain_hash, verify_chain

DOC = Path(__file__).resolve().parent.parent / "docs" / "log-format.md"


def _example() -> tuple[list[str], list[str]]:
    text = DOC.read_text(encoding="utf-8")
    bodies = re.findall(r"```json\n(\{.*\})\n```", text)
    hashes = re.findall(r"Hash of event \d: `([0-9a-f]{64})`", text)
    assert len(bodies) == len(hashes) == 2, "the worked example must show two events and their hashes"
    return bodies, hashes


def test_worked_example_hashes_recompute_by_hand() -> None:
    bodies, hashes = _example()
    prev = GENESIS_HASH
    for body, expected in zip(bodies, hashes, strict=True):
        # Exactly what the doc tells an outsider to do: sha256 over prev_hash then the bytes shown.
        assert hashlib.sha256(prev.encode() + body.encode("utf-8")).hexdigest() == expected
        prev = expected


def test_worked_example_bytes_are_canonical_and_chain() -> None:
    bodies, hashes = _example()
    rows = []
    for body, digest in zip(bodies, hashes, strict=True):
        parsed = json.loads(body)
        assert canonical_json(parsed).decode("utf-8") == body, "the doc's bytes are not canonical"
        rows.append(parsed | {"hash": digest})
    assert verify_chain(rows) == (2, hashes[1])
    assert chain_hash(GENESIS_HASH, bodies[0].encode()) == hashes[0]
