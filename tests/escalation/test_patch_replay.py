"""``escalation-child-v1``: histories recorded before the patch (the placeholder task) and after it (an
Escalation child) both replay against the current code."""

from __future__ import annotations

import base64
import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflows.conftest import HISTORIES
from workflows.registry import WORKFLOWS
from yishi.temporal_client import DATA_CONVERTER

PAIRS = [("elevator_before_escalation_patch", "elevator_escalation"), ("property_before_escalation_patch", "property")]


def patches(events: list[dict]) -> set[str]:
    found = set()
    for event in events:
        details = event.get("markerRecordedEventAttributes", {}).get("details", {})
        for payload in details.get("patch-data", {}).get("payloads", []):
            found.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return found


def children(events: list[dict]) -> list[str]:
    return [e["startChildWorkflowExecutionInitiatedEventAttributes"]["workflowType"]["name"] for e in events
            if "startChildWorkflowExecutionInitiatedEventAttributes" in e]


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[p[1] for p in PAIRS])
async def test_histories_before_and_after_the_patch_replay(old: str, new: str) -> None:
    texts = {name: (HISTORIES / f"{name}.json").read_text(encoding="utf-8") for name in (old, new)}
    before, after = (json.loads(texts[name])["events"] for name in (old, new))
    assert "escalation-child-v1" not in patches(before) and "Escalation" not in children(before)
    assert "escalation-child-v1" in patches(after) and "Escalation" in children(after)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, text in texts.items():
        result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text), raise_on_replay_failure=False)
        assert result.replay_failure is None, (name, result.replay_failure)


async def test_escalation_history_replays() -> None:
    text = (HISTORIES / "escalation.json").read_text(encoding="utf-8")
    first = json.loads(text)["events"][0]
    assert first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"] == "Escalation"
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    await replayer.replay_workflow(WorkflowHistory.from_json("escalation", text))


def activities(events: list[dict]) -> list[str]:
    return [e["activityTaskScheduledEventAttributes"]["activityType"]["name"] for e in events
            if "activityTaskScheduledEventAttributes" in e]


# (patch, workflow type, history recorded before it, history recorded after it)
LATER = [("escalation-ticket-once", "Elevator", "elevator_escalation_before_ticket_once_patch", "elevator_escalation"),
         ("escalation-cancel-before-open", "Escalation", "escalation_cancelled_early_before_patch",
          "escalation_cancelled_early")]


@pytest.mark.parametrize(("patch", "kind", "old", "new"), LATER, ids=[p[0] for p in LATER])
async def test_later_patches_replay_before_and_after(patch: str, kind: str, old: str, new: str) -> None:
    texts = {name: (HISTORIES / f"{name}.json").read_text(encoding="utf-8") for name in (old, new)}
    before, after = (json.loads(texts[name])["events"] for name in (old, new))
    for events in (before, after):
        assert events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"] == kind
    assert patch not in patches(before) and patch in patches(after)
    if patch == "escalation-cancel-before-open":  # before: cancelled with nothing recorded; after: recorded
        assert "record_escalation_cancelled" not in activities(before)
        assert "record_escalation_cancelled" in activities(after)
    else:  # the ticket's start: the default id reuse policy before, never reused after
        starts = [e["startChildWorkflowExecutionInitiatedEventAttributes"] for events in (before, after)
                  for e in events if "startChildWorkflowExecutionInitiatedEventAttributes" in e]
        policies = [s.get("workflowIdReusePolicy") for s in starts if s["workflowType"]["name"] == "Escalation"]
        assert policies == ["WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE", "WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE"]
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, text in texts.items():
        result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text), raise_on_replay_failure=False)
        assert result.replay_failure is None, (name, result.replay_failure)
