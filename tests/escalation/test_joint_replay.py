"""Issue 19's changes to the ``Escalation`` workflow replay: every ticket history recorded before them (which read
the ladder with ``escalation_ladder``, and have no parts) and the histories recorded after them (routed by
``route_escalation`` behind the ``grid-routing`` patch; a joint ticket whose first whistle records ``joint-parts``)
replay against the current code (tests/escalation/test_joint_workflow.py also runs its ticket with no workflow
cached, so every task replays the history so far)."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.escalation.test_patch_replay import activities, patches
from tests.workflows.conftest import HISTORIES
from workflows.escalation import GRID_ROUTING
from workflows.escalation_joint import JOINT_PARTS
from workflows.registry import WORKFLOWS
from yishi.temporal_client import DATA_CONVERTER

BEFORE = ["escalation", "escalation_cancelled_early", "escalation_cancelled_early_before_patch",
          "escalation_deadlines_recorded", "escalation_follow_up_deadlines_recorded"]
AFTER = ["escalation_grid_routing_secretary", "escalation_joint_parts"]


def events_of(name: str) -> list[dict]:
    return json.loads((HISTORIES / f"{name}.json").read_text(encoding="utf-8"))["events"]


def test_the_histories_are_what_they_claim() -> None:
    for name in BEFORE:
        events = events_of(name)
        assert GRID_ROUTING not in patches(events) and "route_escalation" not in activities(events), name
        assert "escalation_ladder" in activities(events) or "record_escalation_cancelled" in activities(events), name
    for name in AFTER:
        events = events_of(name)
        assert GRID_ROUTING in patches(events) and "route_escalation" in activities(events), name
        assert "escalation_ladder" not in activities(events), name
    joint = events_of("escalation_joint_parts")
    assert JOINT_PARTS in patches(joint)
    updates = [e["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]["input"]["name"]
               for e in joint if "workflowExecutionUpdateAcceptedEventAttributes" in e]
    assert {"whistle", "report_in", "resolve_part", "release_part"} <= set(updates)


@pytest.mark.parametrize("name", BEFORE + AFTER)
async def test_replays_against_the_current_code(name: str) -> None:
    text = (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text), raise_on_replay_failure=False)
    assert result.replay_failure is None, (name, result.replay_failure)
