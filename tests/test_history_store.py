"""The kept-history store (activities/history_store.py): content-addressed, private, written whole or not at all."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from activities.history_store import HistoryStore, history_bytes, parse_history


def test_a_copy_is_named_by_workflow_run_and_the_hash_of_its_bytes(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "kept")
    kept = store.write("elevator-1/box-1", "run-a", b'{"events":[1]}')
    digest = hashlib.sha256(b'{"events":[1]}').hexdigest()
    assert kept.sha256 == digest
    assert kept.path == tmp_path / "kept" / "elevator-1" / "elevator-1%2Fbox-1" / "run-a" / f"{digest}.json"
    assert kept.read() == b'{"events":[1]}'
    assert [f.sha256 for f in store.files("elevator-1/box-1", "run-a")] == [digest]
    assert store.runs("elevator-1/box-1") == ["run-a"]


def test_writing_again_is_idempotent_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    first = store.write("d", "r", b"{}")
    mtime = first.path.stat().st_mtime_ns
    again = store.write("d", "r", b"{}")
    assert again == first and first.path.stat().st_mtime_ns == mtime, "an intact copy is not written again"
    assert [p.name for p in first.path.parent.iterdir()] == [first.path.name]


def test_a_changed_copy_is_written_again_under_its_name(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    kept = store.write("d", "r", b"{}")
    kept.path.write_bytes(b'{"x":1}')
    store.write("d", "r", b"{}")
    assert kept.read() == b"{}"


def test_the_store_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        kept = HistoryStore(tmp_path / "kept").write("d/box-1", "r", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(kept.path.stat().st_mode) == 0o600
    for folder in (kept.path.parent, kept.path.parent.parent, tmp_path / "kept"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_workflows_of_a_deliberation_are_its_own_and_its_children(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    for workflow_id in ("e-1", "e-1/box-1", "e-1/esc-objection-1", "e-10", "e-10/box-1"):
        store.write(workflow_id, "r", b"{}")
    assert store.workflows("e-1") == ["e-1", "e-1/box-1", "e-1/esc-objection-1"]
    assert store.workflows("e-1/box-1") == ["e-1/box-1"]
    assert store.workflows("nothing") == []


@pytest.mark.parametrize("workflow_id", ["..", ".", "../x", "a/../../b", "%2F"])
def test_an_id_never_leaves_the_store(tmp_path: Path, workflow_id: str) -> None:
    kept = HistoryStore(tmp_path / "kept").write(workflow_id, "r", b"{}")
    assert (tmp_path / "kept") in kept.path.parents
    assert HistoryStore(tmp_path / "kept").workflows(workflow_id) == [workflow_id]


@pytest.mark.parametrize("run_id", ["..", "a/b", "", "-x"])
def test_a_bad_run_id_is_refused(tmp_path: Path, run_id: str) -> None:
    with pytest.raises(ValueError, match="not a run id"):
        HistoryStore(tmp_path).write("d", run_id, b"{}")


def test_the_kept_form_reads_back_as_the_same_history() -> None:
    event = HistoryEvent(event_id=1)
    event.workflow_execution_started_event_attributes.workflow_type.name = "BallotBox"
    event.workflow_execution_started_event_attributes.retry_policy.backoff_coefficient = 2.0
    history = WorkflowHistory("d", [event])
    data = history_bytes(history)
    assert b" " not in data and data.startswith(b'{"events":[')
    assert history_bytes(parse_history("d", data)) == data
    with pytest.raises(ValueError, match="not a Temporal history"):
        parse_history("d", b"not json")
