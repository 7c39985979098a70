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
