"""The faster paths of `yishi audit verify` give the verdicts of the plain ones: the envelope's canonical bytes,
JSON parsing, the chain checked in segments (and in a worker process), and the roll check that reuses the
recount's validation. No servers: streams are built and tampered with in memory."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_audit_standalone import random_rows

from domain.chain import (
    ENVELOPE_KEYS,
    GENESIS_HASH,
    ChainBreak,
    canonical_json,
    chain_hash,
    envelope_bytes,
    parse_json,
    verify_chain,
    verify_records,
)
from yishi.services.audit_chain import ChainInWorker
from yishi.services.audit_checks import check_chain, check_roll, stream_checks

STAMP = "2026-11-22T08:30:15.123456Z"


def chained(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with envelope fields and hashes, as the store writes them."""
    prev, out = GENESIS_HASH, []
    for row in rows:
        full = {**row, "occurred_at": STAMP, "recorded_at": STAMP, "prev_hash": prev}
        full["hash"] = prev = chain_hash(prev, canonical_json({k: full[k] for k in ENVELOPE_KEYS}))
        out.append(full)
    return out


PAYLOADS: list[Any] = [
    {"owner_id": "O-1", "choice": "for", "cast_by": None, "type": "BallotCast"},
    {"b": "x", "a": "y", "%s": "%d", "k\"ey": "v\\al\n", "业主": "同意\u2028", "ctl": "\x01\x1f"},
    {"n": 3, "t": True, "f": False, "z": None, "big": 10**30, "neg": -7},
    {"nested": {"z": [1, {"b": "2", "a": None}], "a": []}, "s": ""},
    {},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_envelope_bytes_equal_the_canonical_json_of_the_envelope(payload: Any) -> None:
    row = {"stream_id": "d/esc-1", "seq": 12, "type": "BallotCast", "payload": payload, "occurred_at": STAMP,
           "recorded_at": STAMP, "prev_hash": "a" * 64}
    for variant in (row, {**row, "payload": dict(reversed(list(payload.items())))}, {**row, "seq": True}):
        assert envelope_bytes(variant) == canonical_json({k: variant[k] for k in ENVELOPE_KEYS})


def test_floats_are_still_refused() -> None:
    row = {"stream_id": "d", "seq": 1, "type": "X", "payload": {"area": 1.5}, "occurred_at": STAMP,
           "recorded_at": STAMP, "prev_hash": GENESIS_HASH}
    with pytest.raises(ValueError, match="floats"):
        envelope_bytes(row)


@pytest.mark.parametrize("text", ['{"a": [1, 2.5, "x"]}', ' {"a":1}', '{"a":1}\n', '"s"', "null", "[]"])
def test_parse_json_is_json_loads(text: str) -> None:
    assert parse_json(text) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a":1} x', "", "{", "NaN1"])
def test_parse_json_fails_as_json_loads_does(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as mine:
        parse_json(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert str(mine.value) == str(theirs.value)


def tampered_streams() -> list[tuple[str, list[dict[str, Any]]]]:
    rows = chained(random_rows(7))
    assert len(rows) >= 12
    payload = dict(rows[5]["payload"], choice="abstain" if rows[5]["payload"].get("choice") != "abstain" else "for")
    return [
        ("clean", rows),
        ("payload changed", [*rows[:5], {**rows[5], "payload": payload}, *rows[6:]]),
        ("row deleted", rows[:4] + rows[5:]),
        ("rows swapped", [*rows[:6], rows[7], rows[6], *rows[8:]]),
        ("prev_hash changed", [*rows[:9], {**rows[9], "prev_hash": "f" * 64}, *rows[10:]]),
        ("other stream", [*rows[:3], {**rows[3], "stream_id": "other"}, *rows[4:]]),
        ("last hash changed", [*rows[:-1], {**rows[-1], "hash": "e" * 64}]),
    ]


def single_pass(rows: list[dict[str, Any]]) -> tuple[Any, ...]:
    try:
        return ("ok", *verify_chain(rows, "d"))
    except ChainBreak as exc:
        return "break", exc.seq, str(exc)


def in_segments(rows: list[dict[str, Any]], size: int) -> tuple[Any, ...]:
    """Each segment from the seq after the previous one's last row and that row's stored hash."""
    start_seq, start_hash, head = 1, GENESIS_HASH, ("ok", 0, GENESIS_HASH)
    for at in range(0, len(rows), size):
        segment = rows[at:at + size]
        records = [(r["stream_id"], r["seq"], r["type"], json.dumps(r["payload"]), r["occurred_at"],
                    r["recorded_at"], r["prev_hash"], r["hash"]) for r in segment]
        head = verify_records(records, "d", start_seq, start_hash)
        if head[0] == "break":
            return head
        start_seq, start_hash = segment[-1]["seq"] + 1, segment[-1]["hash"]
    return head


@pytest.mark.parametrize(("case", "rows"), tampered_streams())
def test_segments_name_the_first_break_of_one_pass(case: str, rows: list[dict[str, Any]]) -> None:
    expected = single_pass(rows)
    assert (expected[0] == "ok") == (case == "clean")
    for size in (1, 2, 3, 5, len(rows)):
        assert in_segments(rows, size) == expected, (case, size)


async def test_chain_in_a_worker_process_gives_the_same_check() -> None:
    for case, rows in tampered_streams():
        worker = ChainInWorker("d")
        for at in range(0, len(rows), 4):
            worker.feed([(r["stream_id"], r["seq"], r["type"], json.dumps(r["payload"]), r["occurred_at"],
                          r["recorded_at"], r["prev_hash"], r["hash"]) for r in rows[at:at + 4]])
        assert await worker.check() == check_chain("d", rows), case
        assert worker.checked_here == 0  # every segment was checked by the worker process


def test_roll_check_reuses_the_recount_and_still_names_a_changed_roll() -> None:
    rows = random_rows(11)
    opened = rows[0]
    frozen = {opened["payload"]["roll_digest"]: opened["payload"]["roll"]}
    checks = {c.name: c for c in stream_checks("d", chained(rows), [], frozen)}
    assert checks["roll"] == check_roll("d", rows, frozen) and checks["roll"].ok
    entries = [dict(e) for e in opened["payload"]["roll"]]
    entries[0]["area_m2"] = "999.99"
    forged = [{**opened, "payload": {**opened["payload"], "roll": entries}}, *rows[1:]]
    checks = {c.name: c for c in stream_checks("d", chained(forged), [], frozen)}
    assert not checks["roll"].ok and checks["roll"].seq == 1
    assert checks["roll"] == check_roll("d", forged, frozen)
    assert not checks["recount"].ok and checks["recount"].seq == 1
    stale = {opened["payload"]["roll_digest"]: entries}  # the rolls table changed, the stream did not
    checks = {c.name: c for c in stream_checks("d", chained(rows), [], stale)}
    assert not checks["roll"].ok and "no longer hashes" in checks["roll"].detail
