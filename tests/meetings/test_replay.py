"""Histories of the Meeting workflow replay on the current code: ``meeting`` (recorded before the
``meeting-update-waits-for-schedule`` patch, no marker) and ``meeting_update_before_schedule`` (recorded after it by
tests/meetings/test_early_update.py: steps accepted in the first workflow task, before the schedule was recorded,
with the patch's marker). Regenerate only new files with YISHI_REGEN_HISTORIES=1."""

from __future__ import annotations

import json

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.escalation.test_patch_replay import patches
from tests.workflows.conftest import HISTORIES
from workflows.meeting_parts import EARLY_UPDATE
from workflows.registry import WORKFLOWS
from yishi.temporal_client import DATA_CONVERTER


async def test_meeting_histories_before_and_after_the_early_update_patch_replay() -> None:
    texts = {name: (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
             for name in ("meeting", "meeting_update_before_schedule")}
    old = json.loads(texts["meeting"])["events"]
    assert EARLY_UPDATE not in patches(old)
    new = json.loads(texts["meeting_update_before_schedule"])["events"]
    assert EARLY_UPDATE in patches(new)
    assert new[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"] == "Meeting"
    kinds = [e["eventType"].removeprefix("EVENT_TYPE_") for e in new]
    assert kinds.count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") == 3, "the three steps sent before the worker ran"
    assert kinds.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") < kinds.index("ACTIVITY_TASK_SCHEDULED")
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, text in texts.items():
        await replayer.replay_workflow(WorkflowHistory.from_json(name, text))
