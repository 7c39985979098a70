"""The ballot box's activities on a box that asks several questions (a property-company vote)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from activities.box import BoxActivities, OpenBoxInput, StreamRef
from domain.events import Question
from domain.roll import Scope
from tests.web.conftest import make_roll
from tests.workflows.conftest import cast
from yishi.services.deliberations import store_roll


async def test_non_voters_are_owners_with_a_question_left(store, pool) -> None:
    roll = make_roll(3)
    box = f"multi-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    questions = (Question(id="dismiss", text_zh="解聘？", text_en="Dismiss?"),
                 Question(id="candidate:A", text_zh="选聘A？", text_en="Appoint A?"))
    activities = BoxActivities(store, pool)
    await activities.open_box(OpenBoxInput(
        deliberation_id=box, roll_digest=await store_roll(pool, roll), scope=Scope(), rule_id="cc278-ordinary",
        questions=questions, opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=1)))
    assert await activities.list_non_voters(StreamRef(deliberation_id=box)) == ["o000", "o001", "o002"]
    await cast(store, box, "o000", "for", now, question="dismiss")
    await cast(store, box, "o000", "against", now, question="candidate:A")
    await cast(store, box, "o001", "for", now, question="dismiss")  # candidate A still to vote on
    assert await activities.list_non_voters(StreamRef(deliberation_id=box)) == ["o001", "o002"]
