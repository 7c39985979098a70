"""Histories of the Topic workflow replay on the current code: one routed to the ladder (an Escalation child, its
closing resolving the topic) and one put to a vote (followed until counted, reopened once, closed by the feedback
window), each recorded before the deadlines were computed by the ``compute_deadlines`` activity (the
``deadlines-recorded`` patch of workflows/deadlines.py: computed in workflow code) and after (``*_deadlines_recorded``).
Regenerate only new files with YISHI_REGEN_HISTORIES=1; a change of the workflow's code goes behind
``workflow.patched`` and keeps these replaying."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.escalation.test_patch_replay import patches
from tests.workflows.conftest import HISTORIES
from workflows.deadlines import DEADLINES_RECORDED
from workflows.registry import WORKFLOWS
from workflows.topic import EARLY_UPDATE
from yishi.temporal_client import DATA_CONVERTER


def scheduled(events: list[dict]) -> list[str]:
    return [e["activityTaskScheduledEventAttributes"]["activityType"]["name"] for e in events
            if "activityTaskScheduledEventAttributes" in e]


ROUTED = {"child": "Escalation", "activities": {"apply_topic_command", "topic_take_up_levels"}}
VOTED = {"child": None, "activities": {"apply_topic_command", "deliberation_outcome", "read_topic"}}


@pytest.mark.parametrize(("name", "expected", "recorded"), [
    ("topic_routed", ROUTED, False), ("topic_voted", VOTED, False),
    ("topic_routed_deadlines_recorded", ROUTED, True), ("topic_voted_deadlines_recorded", VOTED, True),
])
async def test_topic_histories_replay(name: str, expected: dict, recorded: bool) -> None:
    text = (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
    events = json.loads(text)["events"]
    assert ("compute_deadlines" in scheduled(events)) == recorded
    assert (DEADLINES_RECORDED in patches(events)) == recorded
    assert events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"] == "Topic"
    children = [e["startChildWorkflowExecutionInitiatedEventAttributes"]["workflowType"]["name"] for e in events
                if "startChildWorkflowExecutionInitiatedEventAttributes" in e]
    assert children == ([expected["child"]] if expected["child"] else [])
    assert expected["activities"] <= set(scheduled(events))
    assert "WorkflowExecutionCompleted" in {e["eventType"].removeprefix("EVENT_TYPE_").title().replace("_", "")
                                            for e in events}
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    await replayer.replay_workflow(WorkflowHistory.from_json(name, text))


async def test_update_before_the_raise_replays() -> None:
    """A ``take`` accepted before the raise was applied (tests/topics/test_early_update.py): the update is accepted
    in the first workflow task, before the raise's activity, and the ``topic-update-waits-for-raise`` patch is
    recorded; the older histories above carry no such marker and replay unchanged."""
    text = (HISTORIES / "topic_update_before_raise.json").read_text(encoding="utf-8")
    events = json.loads(text)["events"]
    assert EARLY_UPDATE in patches(events)
    kinds = [e["eventType"].removeprefix("EVENT_TYPE_") for e in events]
    assert kinds.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") < kinds.index("ACTIVITY_TASK_SCHEDULED")
    for name in ("topic_routed", "topic_voted", "topic_routed_deadlines_recorded", "topic_voted_deadlines_recorded"):
        old = json.loads((HISTORIES / f"{name}.json").read_text(encoding="utf-8"))["events"]
        assert EARLY_UPDATE not in patches(old)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    await replayer.replay_workflow(WorkflowHistory.from_json("topic_update_before_raise", text))
