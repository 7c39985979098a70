"""Every committed history replays against the current code (tests/histories/*.json).

Regenerate with ``YISHI_REGEN_HISTORIES=1 pytest tests/workflows``; keep the old ones that prove a
``workflow.patched`` change (``*_before_*.json``): they were recorded before the change.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflows.conftest import HISTORIES
from workflows.registry import WORKFLOWS
from yishi.temporal_client import DATA_CONVERTER

FILES = sorted(HISTORIES.glob("*.json"))


def test_a_history_per_workflow_type() -> None:
    types = set()
    for path in FILES:
        first = json.loads(path.read_text(encoding="utf-8"))["events"][0]
        types.add(first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])
    assert types >= {"BallotBox", "Elevator", "PropertyReplacement", "Consultation", "Meeting"}, types


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_history_replays(path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    result = await Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER).replay_workflow(history)
    assert result.replay_failure is None


async def test_patched_reminder_both_histories_replay() -> None:
    old = (HISTORIES / "elevator_before_reminder_patch.json").read_text(encoding="utf-8")
    new = (HISTORIES / "elevator.json").read_text(encoding="utf-8")
    marker = '"eventType": "EVENT_TYPE_MARKER_RECORDED"'
    assert marker not in old and marker in new, "the patch marker is only in the new history"
    assert (old.count("issue_door_knock_list"), new.count("issue_door_knock_list")) == (1, 2), "one reminder, then two"
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, text in (("old", old), ("new", new)):
        await replayer.replay_workflow(WorkflowHistory.from_json(name, text))


# ``deadlines-recorded`` (workflows/deadlines.py): the histories recorded before it compute deadlines in workflow
# code; those recorded after it read them back from the compute_deadlines activity, fallback years included.
def payloads(text: str) -> str:
    """Every payload of a history, decoded (they are base64 in the JSON)."""
    return "\n".join(base64.b64decode(data).decode("utf-8", "replace")
                     for data in re.findall(r'"data": "([A-Za-z0-9+/=]+)"', text))


DEADLINES = [("elevator", "elevator_deadlines_recorded"), ("escalation", "escalation_deadlines_recorded")]


@pytest.mark.parametrize(("old", "new"), DEADLINES, ids=[p[1] for p in DEADLINES])
async def test_deadlines_recorded_before_and_after_the_patch_replay(old: str, new: str) -> None:
    texts = {name: (HISTORIES / f"{name}.json").read_text(encoding="utf-8") for name in (old, new)}
    assert "deadlines-recorded" not in payloads(texts[old]) and "compute_deadlines" not in texts[old]
    assert "deadlines-recorded" in payloads(texts[new]) and "compute_deadlines" in texts[new]
    assert '"fallback_years":[20' in payloads(texts[new]), "recorded while the deadline's year was not covered"
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, text in texts.items():
        result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text), raise_on_replay_failure=False)
        assert result.replay_failure is None, (name, result.replay_failure)


# ``consultation-meeting`` (workflows/consultation_meeting.py): consultations recorded before it posted a notice and
# waited for position tasks completed by role; since it they convene a meeting and follow its decision.
CONSULTATION_OLD = ("consultation", "consultation_declined")


async def test_consultations_before_and_after_the_meeting_loop_replay() -> None:
    texts = {name: (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
             for name in (*CONSULTATION_OLD, "consultation_meeting")}
    for name in CONSULTATION_OLD:
        assert "consultation-meeting" not in payloads(texts[name]) and '"Meeting"' not in texts[name], name
    new = texts["consultation_meeting"]
    assert "consultation-meeting" in payloads(new) and "MeetingConvened" in payloads(new)
    assert "START_CHILD_WORKFLOW_EXECUTION_INITIATED" in new, "the meeting is a child of the procedure"
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, text in texts.items():
        result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text), raise_on_replay_failure=False)
        assert result.replay_failure is None, (name, result.replay_failure)


async def test_kept_box_history_before_and_after_the_patch_replay() -> None:
    """``keep-box-history`` (workflows/decision.py): procedures recorded before it count the round and post the
    result notice without keeping the box; after it, ``keep_histories`` runs first and the notice carries the hash."""
    texts = {name: (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
             for name in ("elevator", "elevator_kept_history")}
    old, new = texts["elevator"], texts["elevator_kept_history"]
    assert "keep-box-history" not in payloads(old) and "keep_histories" not in old
    assert "keep-box-history" in payloads(new) and "keep_histories" in new
    assert '"histories":[{"workflow_id":' in payloads(new) and '"histories"' not in payloads(old)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for name, text in texts.items():
        result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text), raise_on_replay_failure=False)
        assert result.replay_failure is None, (name, result.replay_failure)
