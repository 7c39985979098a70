"""200 redemptions of the last 10 items at once give exactly 10, through two processes' stores on real PostgreSQL;
and one person's concurrent redemptions never spend more points than they have."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from activities.eventstore import EventStore
from domain.points_audit import ledger_problem
from domain.points_decide import Award, InsufficientPointsError, ListItem, OutOfStockError, SetRule
from domain.points_events import Item, Rule, points_event_from_dict, points_stream
from tests.points.conftest import CLERK, KEY
from yishi.services import points

DUTY = Rule(rule_id="duty", name_zh="党员中心户值守", basis="party_duty", points=100)


async def _setup(pool: Any, store: EventStore, community: str, now: datetime, people: int, stock: int,
                 cost: int) -> list[str]:
    await points.act(store, community, SetRule(at=now, by=CLERK, rule=DUTY))
    await points.act(store, community, ListItem(at=now, by=CLERK, item=Item(item_id="rice", name_zh="大米", cost=cost),
                                                stock=stock))
    ids = await asyncio.gather(*(points.register_person(pool, store, community, name=f"居民{n}", kind="resident",
                                                        by=CLERK, now=now) for n in range(people)))
    await asyncio.gather(*(points.act(store, community, Award(at=now, by=CLERK, award_id=f"a-{pid}", person_id=pid,
                                                              rule_id="duty")) for pid in ids))
    return list(ids)


async def _attempt(store: EventStore, community: str, person_id: str, now: datetime) -> str:
    try:
        await points.redeem(store, community, person_id=person_id, item_id="rice", by=CLERK, now=now, secret_key=KEY)
    except OutOfStockError:
        return "out_of_stock"
    except InsufficientPointsError:
        return "insufficient"
    return "redeemed"


async def test_200_redemptions_of_the_last_10_items_give_exactly_10(pool: Any, store: EventStore,
                                                                    other_store: EventStore, community: str,
                                                                    now: datetime) -> None:
    people = await _setup(pool, store, community, now, people=200, stock=10, cost=50)
    stores = (store, other_store)
    outcomes = await asyncio.gather(*(_attempt(stores[n % 2], community, pid, now) for n, pid in enumerate(people)))
    assert outcomes.count("redeemed") == 10 and outcomes.count("out_of_stock") == 190
    for s in stores:
        state = await points.ledger(s, community)
        assert state.items["rice"].stock == 0
        assert sum(a.spent for a in state.people.values()) == 500
    stored = await store.read(points_stream(community))
    assert sum(1 for e in stored if e.type == "Redeemed") == 10
    assert ledger_problem([points_event_from_dict(e.type, e.payload) for e in stored
                           if e.type != "CapabilityIssued"]) is None


async def test_one_persons_concurrent_redemptions_never_overspend(pool: Any, store: EventStore,
                                                                  other_store: EventStore, community: str,
                                                                  now: datetime) -> None:
    [person] = await _setup(pool, store, community, now, people=1, stock=100, cost=30)
    stores = (store, other_store)
    outcomes = await asyncio.gather(*(_attempt(stores[n % 2], community, person, now) for n in range(20)))
    assert outcomes.count("redeemed") == 3 and outcomes.count("insufficient") == 17
    state = await points.ledger(other_store, community)
    assert state.people[person].points == 10 and state.items["rice"].stock == 97
