"""Scenario 4 of the fault suite resets an Escalation ticket to the workflow task that handled its missed
deadline. Without a fired timer (the worker died before the task that would start it completed, and the task
after the restart found the deadline past), that task is found by the append it scheduled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from yishi.check.procs import _task_that_recorded

HISTORY = Path(__file__).resolve().parents[1] / "histories" / "escalation.json"


def test_the_task_that_scheduled_an_append_is_found_by_the_event_it_appends() -> None:
    events = WorkflowHistory.from_json("esc", json.loads(HISTORY.read_text())).events
    by_id = {e.event_id: e for e in events}
    for appended in (b"EscalationOpened", b"Acknowledged"):
        task = _task_that_recorded(events, appended, "esc")
        assert by_id[task].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        # The first activity the task scheduled (before any later task completed) is that append.
        scheduled = next(e for e in events if e.event_id > task and e.event_type in (
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
        assert scheduled.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        assert any(appended in p.data for p in scheduled.activity_task_scheduled_event_attributes.input.payloads)
    with pytest.raises(AssertionError, match="DeadlineMissed"):
        _task_that_recorded(events, b"DeadlineMissed", "esc")
