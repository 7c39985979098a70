"""A deliberation stream with a frozen roll (buildings 3 and 4, entrance 2, twelve owners each, phones
1380000BFU0), a community of its own, and a helper that queues a notice on a channel the way the workflow does
(the real activity)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from temporalio.testing import ActivityEnvironment

from activities.eventstore import EventStore
from activities.notices import Delivery, NoticeActivities, NoticeSettings
from activities.stages import to_new
from domain.roll import Roll, Scope
from domain.stage_events import NoticePublished, StageEntered
from tests.workflows.conftest import estate_roll, task_queue, ts_env  # noqa: F401 - fixtures for the end-to-end test
from yishi.services.deliberations import store_roll

BASE = "https://yishi.example.cn"
DEADLINE = datetime(2026, 5, 20, 16, 0, tzinfo=UTC)  # 2026-05-21 00:00 Beijing


@dataclass
class Stage:
    store: EventStore
    pool: object
    deliberation_id: str
    community: str
    digest: str

    async def queue(self, channel: str, *, kind: str = "announcement", recipients: tuple[str, ...] | None = None,
                    title: str = "关于3号楼加装电梯的公告", scope: Scope | None = None,
                    settings: NoticeSettings | None = None) -> NoticePublished:
        n = uuid.uuid4().hex[:6]
        notice = NoticePublished(at=datetime.now(UTC), notice_id=f"{kind}-{n}", kind=kind, title_zh=title,
                                 title_en="Notice", body_zh="加装电梯方案已公示，请在截止前投票。", body_en="Vote.",
                                 recipients=recipients)
        await self.store.append(self.deliberation_id, to_new([notice]))
        delivery = Delivery(deliberation_id=self.deliberation_id, community=self.community, roll_digest=self.digest,
                            scope=scope or Scope(), channel=channel, notice=notice)
        activities = NoticeActivities(self.store, self.pool, settings or NoticeSettings(), public_base_url=BASE)
        await ActivityEnvironment().run(activities.deliver_notice, delivery)
        return notice

    async def events(self, *types: str) -> list:
        return [e for e in await self.store.read(self.deliberation_id) if not types or e.type in types]


def stage_roll() -> Roll:
    """Phones of eleven digits, as a gateway checks them (1380000311 → 13800003110), and areas of 88.60 m²: a roll
    is frozen under the digest of its rooms, which does not cover phones, so this roll must not share its digest
    with estate_roll's (whose contacts the database may hold already)."""
    roll = estate_roll(buildings=2)
    return roll.model_copy(update={"rooms": tuple(r.model_copy(update={"phone": r.phone + "0",
                                                                        "area_m2": Decimal("88.60")})
                                                  for r in roll.rooms)})


@pytest.fixture
async def stage(store: EventStore, pool, stream_id: str) -> Stage:  # type: ignore[no-untyped-def]
    digest = await store_roll(pool, stage_roll())
    await store.append(stream_id, to_new([StageEntered(at=datetime.now(UTC), stage="voting", deadline=DEADLINE)]))
    return Stage(store, pool, stream_id, f"c-{uuid.uuid4().hex[:8]}", digest)
