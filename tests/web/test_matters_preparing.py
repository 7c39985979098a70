"""The committee's matter page between two steps of its workflow (issue 21 item 10): "preparing", reloading itself,
while there is no stage yet, while the voting stage's ballot box has not opened (the links page would say voting
has not started), and for a short while after a stage is entered with no task yet; never once the matter closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from yishi.web.matters import SETTLING, preparing

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def status(**fields: Any) -> dict[str, Any]:
    return {"stage": "feasibility", "stage_at": (NOW - timedelta(seconds=2)).isoformat(), "open_tasks": [],
            "last_event": "StageEntered", "outcome": None, "box_open": False, **fields}


def test_preparing_until_the_stage_and_its_tasks_or_box_agree() -> None:
    assert preparing(status(stage=None, stage_at=None, last_event="ProcedureStarted"), NOW)
    assert preparing(status(), NOW), "entered two seconds ago, its task not opened yet"
    assert not preparing(status(open_tasks=[{"task_id": "feasibility-1"}], last_event="TaskOpened"), NOW)
    assert not preparing(status(stage_at=(NOW - SETTLING - timedelta(seconds=1)).isoformat()), NOW), \
        "a stage with no task at all (a posting period) is not preparing forever"
    assert not preparing(status(last_event="NoticePublished"), NOW)
    assert preparing(status(stage="voting", last_event="VoteRoundOpened",
                            stage_at=(NOW - timedelta(hours=1)).isoformat()), NOW), "the box has not opened"
    assert not preparing(status(stage="voting", box_open=True, last_event="VoteRoundOpened"), NOW)
    assert not preparing(status(stage=None, outcome="not_feasible"), NOW)
