"""The faster paths of `yishi audit verify` give the verdicts of the plain ones: the envelope's canonical bytes,
JSON parsing, and the roll check that reuses the recount's validation. No servers: streams are built and
tampered with in memory."""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from test_audit_standalone import random_rows

from domain.chain import (
    ENVELOPE_KEYS,
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    envelope_bytes,
    parse_json,
)
from workflows.ballot_box import BallotBoxWorkflow
from workflows.elevator import ElevatorWorkflow
from workflows.registry import WORKFLOWS
from yishi.services.audit_checks import check_roll, stream_checks
from yishi.services.audit_temporal import Run, _classes_for

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


def _run_of(workflow_type: str) -> Run:
    return Run("d-1", "r-1", workflow_type, "Completed", None, WorkflowHistory("d-1", []))


def test_replay_is_given_only_the_classes_the_runs_use() -> None:
    runs = [_run_of("Elevator"), _run_of("BallotBox")]
    assert set(_classes_for(runs, WORKFLOWS)) == {ElevatorWorkflow, BallotBoxWorkflow}
    assert _classes_for([_run_of("NoSuchType")], WORKFLOWS) == WORKFLOWS  # none matches: all, and it fails


def test_replay_is_given_every_class_if_the_sdk_moves_its_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(workflow, "_Definition")
    assert _classes_for([_run_of("Elevator")], WORKFLOWS) == WORKFLOWS
