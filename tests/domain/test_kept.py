"""Kept histories in the domain (domain/kept.py): where a deliberation's hashes are published, and how they are read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from domain.kept import (
    HistoryKept,
    KeptHistory,
    deliberation_of_workflow,
    histories_stream,
    keep_key,
    published_hashes,
)
from domain.stage_events import NoticePublished

AT = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
SHA = "ab" * 32


def notice(**extra: object) -> NoticePublished:
    return NoticePublished(at=AT, notice_id="result-3", kind="result", title_zh="结果", title_en="Result",
                           body_zh="…", body_en="…", head_seq=9, head_hash="cd" * 32, **extra)


def test_a_notice_without_kept_histories_keeps_its_old_payload() -> None:
    payload = notice().model_dump(mode="json")
    assert "histories" not in payload, "an old notice must hash as it did"
    kept = KeptHistory(workflow_id="e-1/box-1", run_id="r-1", sha256=SHA)
    assert notice(histories=(kept,)).model_dump(mode="json")["histories"] == [
        {"workflow_id": "e-1/box-1", "run_id": "r-1", "sha256": SHA}]


def test_a_hash_is_64_lower_case_hex() -> None:
    with pytest.raises(ValidationError):
        KeptHistory(workflow_id="e-1", run_id="r", sha256=SHA.upper())


def test_every_run_of_a_deliberation_publishes_into_its_histories_stream() -> None:
    assert deliberation_of_workflow("e-1/box-1") == deliberation_of_workflow("e-1") == "e-1"
    assert histories_stream("e-1") == "e-1/histories"
    assert keep_key("e-1/box-1", "r-1") != keep_key("e-1/box-1", "r-2")


def test_published_hashes_come_from_kept_events_and_result_notices() -> None:
    kept = HistoryKept(at=AT, workflow_id="e-1", run_id="r-9", workflow_type="Elevator", status="COMPLETED",
                       sha256=SHA, bytes=10, events=3)
    box = KeptHistory(workflow_id="e-1/box-1", run_id="r-1", sha256="ef" * 32)
    rows = {"e-1": [{"seq": 4, "type": "NoticePublished", "payload": notice(histories=(box,)).model_dump(mode="json")},
                    {"seq": 5, "type": "NoticePublished", "payload": notice().model_dump(mode="json")}],
            "e-1/histories": [{"seq": 1, "type": "HistoryKept", "payload": kept.model_dump(mode="json")},
                              {"seq": 2, "type": "HistoryKept", "payload": {"workflow_id": "e-1"}}]}
    found = published_hashes(rows)
    assert [(p.workflow_id, p.run_id, p.sha256, p.where) for p in found] == [
        ("e-1/box-1", "r-1", "ef" * 32, "NoticePublished e-1 seq 4"),
        ("e-1", "r-9", SHA, "HistoryKept e-1/histories seq 1")]
