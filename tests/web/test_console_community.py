"""The console's community filter: a GET query parameter, community-bound committee and grid-worker accounts
kept to their own community (and deliberations of no community), other roles filtering every community."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from activities.box import BoxActivities
from domain.events import Question
from domain.procedures import round_stream
from domain.roll import Roll, Room, Scope
from yishi.services.deliberations import DeliberationSpec, box_params, register, store_roll

HOME = "幸福社区"  # the web conftest's sign_in binds accounts to it
ROLL = Roll(rooms=(Room(room_id="1-1-101", building="1", entrance="1", floor="1", area_m2=Decimal("90"),
                        owner_id="o1", owner_name="甲"),), source="community-test.csv")


async def _register(pool, community: str, title: str) -> str:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    spec = DeliberationSpec(procedure="test", title=title, rule_id="cc278-ordinary", scope=Scope(),
                            question=Question(text_zh=title, text_en=title), opens_at=now,
                            closes_at=now + timedelta(days=7), community=community)
    deliberation_id = f"web-{uuid.uuid4().hex[:12]}"
    await register(pool, deliberation_id, spec, await store_roll(pool, ROLL))
    return deliberation_id


def _listed(html: str) -> list[str]:
    return re.findall(r'<tr class="deliberation"><td><a href="/console/d/([^"/]+)', html)


async def test_committee_account_sees_its_own_community_first_and_only(sign_in, pool) -> None:
    other = f"和平社区-{uuid.uuid4().hex[:4]}"
    mine = await _register(pool, HOME, "本社区议题")
    unassigned = await _register(pool, "default", "未分社区议题")
    theirs = await _register(pool, other, "外社区议题")
    committee = await sign_in("committee")
    page = await committee.get("/console")
    listed = _listed(page.text)
    assert mine in listed and unassigned in listed and theirs not in listed
    assert listed.index(mine) < listed.index(unassigned)
    assert f"本账号属于 {HOME}" in page.text and other not in page.text
    outside = await committee.get("/console", params={"community": other})
    assert outside.status_code == 200 and theirs not in _listed(outside.text)
    assert f"不能查看 {other} 的事项" in outside.text
    only_home = await committee.get("/console", params={"community": HOME})
    assert mine in _listed(only_home.text) and unassigned not in _listed(only_home.text)
    for path in (f"/console/d/{theirs}", f"/console/d/{theirs}/non-voters", f"/console/d/{theirs}/paper"):
        hidden = await committee.get(path)  # as an unknown id (tests/web/test_console_walls.py): no hint it exists
        assert hidden.status_code == 404 and other not in hidden.text, path
    grid = await sign_in("grid_worker")
    assert theirs not in _listed((await grid.get("/console")).text)
    assert (await grid.get(f"/console/d/{theirs}/non-voters")).status_code == 404


async def test_street_office_filters_every_community_with_a_get_form(sign_in, pool) -> None:
    first, second = (f"社区{n}-{uuid.uuid4().hex[:4]}" for n in (1, 2))
    a, b = await _register(pool, first, "一号议题"), await _register(pool, second, "二号议题")
    street = await sign_in("street_office")
    everything = await street.get("/console")
    assert {a, b} <= set(_listed(everything.text))
    form = re.search(r'<form method="get" action="/console"[^>]*>(.*?)</form>', everything.text, re.S)
    assert form is not None and f'<option value="{first}">' in form.group(1) and 'name="csrf"' not in form.group(1)
    filtered = await street.get("/console", params={"community": second, "lang": "en"})
    assert _listed(filtered.text) == [b]
    assert f'<option value="{second}" selected>' in filtered.text and "All communities" in filtered.text
    async with pool.acquire() as conn:  # the filter is a read: nothing was registered or changed by the GETs
        assert await conn.fetchval("SELECT count(*) FROM deliberations WHERE community = ANY($1)",
                                   [first, second]) == 2
    assert (await street.get(f"/console/d/{b}")).status_code in (200, 303)  # no community wall for the street


async def test_roll_template_download(sign_in) -> None:
    committee = await sign_in("committee")
    zh = await committee.get("/console/roll-template.csv")
    assert zh.status_code == 200 and zh.content.startswith("\ufeff房号,楼栋".encode())
    assert "attachment" in zh.headers["content-disposition"]
    en = await committee.get("/console/roll-template.csv", params={"header": "en"})
    assert en.text.lstrip("\ufeff").startswith("room_id,building")
    assert "/console/roll-template.csv" in (await committee.get("/console")).text


async def test_a_re_vote_box_has_its_deliberations_community(sign_in, pool, store) -> None:
    other = f"和平社区-{uuid.uuid4().hex[:4]}"
    theirs, mine = await _register(pool, other, "外社区重新表决"), await _register(pool, HOME, "本社区重新表决")
    for deliberation_id in (theirs, mine):  # round 2 has a stream of its own and no registry row
        now = datetime.now(UTC)
        spec = DeliberationSpec(procedure="test", title="第二轮", rule_id="cc278-ordinary", scope=Scope(),
                                question=Question(text_zh="第二轮", text_en="round 2"),
                                opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(days=1))
        params = box_params(round_stream(deliberation_id, 2), spec, await store_roll(pool, ROLL))
        await BoxActivities(store, pool).open_box(params.open)
    committee = await sign_in("committee")
    for path in ("", "/non-voters", "/paper"):
        hidden = await committee.get(f"/console/d/{theirs}~r2{path}")
        assert hidden.status_code == 404 and other not in hidden.text, path
        assert (await committee.get(f"/console/d/{mine}~r2{path}")).status_code == 200, path
