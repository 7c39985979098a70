"""The demo community (幸福里小区) and a demo deliberation with short periods, for `yishi up --demo`.

The roll looks like a real one: three buildings of six floors with two entrances each, two flats per
floor and entrance, areas as a property register prints them (some to four decimals), one owner holding
flats in two buildings, co-owners recorded as one owner, and the developer's unsold flats under one id.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg

from activities.eventstore import EventStore
from domain.events import Question
from domain.roll import Roll, Room, Scope
from yishi.datadir import write_private
from yishi.services.accounts import AccountError, add_account
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.link_issuing import Actor, issue_and_disclose
from yishi.services.topic_links import intake_link
from yishi.temporal_client import connect

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟"
GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "文华", "玉珍", "德明", "丽娟", "国庆", "淑芬", "永红"]
AREAS = (Decimal("68.35"), Decimal("89.4725"))  # the two flat types of every floor
DEVELOPER = "DEV-XFL"
MULTI_OWNER = "O-1001"
DEMO_SCOPE = Scope(building="3", entrance="2")
VOTING_PERIOD = timedelta(minutes=30)
COMMUNITY = "幸福里小区"


def demo_roll() -> Roll:
    rooms: list[Room] = []
    n = 0
    for building in ("1", "2", "3"):
        for entrance in ("1", "2"):
            for floor in range(1, 7):
                for unit in (1, 2):
                    room_id = f"{building}-{entrance}-{floor}0{unit}"
                    owner_id, name, phone = _owner(n, room_id)
                    rooms.append(Room(room_id=room_id, building=building, entrance=entrance, floor=str(floor),
                                      area_m2=AREAS[unit - 1], owner_id=owner_id, owner_name=name, phone=phone))
                    n += 1
    return Roll(rooms=tuple(rooms), source="demo: 幸福里小区")


def _owner(n: int, room_id: str) -> tuple[str, str, str | None]:
    if room_id in ("1-1-301", "3-2-502"):
        return MULTI_OWNER, "王建国", "13800000001"
    if room_id in ("2-2-601", "3-1-602", "3-2-601"):
        return DEVELOPER, "幸福里置业有限公司（未售）", None
    if room_id == "3-2-401":
        return "O-3-2-401", "李秀英、张志强（共有）", "13900000401"
    name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
    phone = None if n % 7 == 0 else f"139{n:08d}"  # some owners left no phone
    return f"O-{room_id}", name, phone


def demo_spec(now: datetime, previous_id: str | None = None) -> DeliberationSpec:
    return DeliberationSpec(
        procedure="elevator", title="3栋2单元加装电梯征询（演示）", rule_id="cc278-special",
        scope=DEMO_SCOPE,
        question=Question(text_zh="您是否同意3栋2单元加装电梯？", text_en="Do you agree to install an elevator in "
                          "building 3, entrance 2?"),
        notice_zh="根据《民法典》第278条，加装电梯须经专有部分面积占比三分之二以上且人数占比三分之二以上的业主参与表决，"
                  "并经参与表决专有部分面积四分之三以上且参与表决人数四分之三以上的业主同意。（演示：投票期30分钟）",
        notice_en="Civil Code art. 278: owners holding at least 2/3 of the area and at least 2/3 by headcount must "
                  "take part, and at least 3/4 of the participating area and owners must agree. (Demo: 30 minutes.)",
        opens_at=now, closes_at=now + VOTING_PERIOD, previous_id=previous_id,
    )


async def _existing_open(conn: asyncpg.Connection, now: datetime) -> tuple[str | None, str | None]:
    row = await conn.fetchrow(
        "SELECT id, closes_at FROM deliberations WHERE id LIKE 'demo-%' ORDER BY created_at DESC LIMIT 1")
    if row is None:
        return None, None
    return (row["id"], None) if row["closes_at"] > now else (None, row["id"])


async def _wait_until_open(pool: asyncpg.Pool, deliberation_id: str, seconds: float = 60.0) -> None:
    """Links are printed once the workflow has opened the box, so the first click can vote."""
    for _ in range(int(seconds * 10)):
        async with pool.acquire() as conn:
            if await conn.fetchval("SELECT accepting_until FROM streams WHERE stream_id = $1", deliberation_id):
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the demo ballot box {deliberation_id} did not open in {seconds:.0f}s; see worker.log")


async def _demo_account(pool: asyncpg.Pool, data_dir: Path) -> tuple[str, str]:
    """A committee account for the console; its password is kept in the data dir across restarts."""
    path = data_dir / "demo-committee-password"
    write_private(path, secrets.token_urlsafe(12))
    password = path.read_text().strip()
    try:
        await add_account(pool, "demo", "committee", password, community=COMMUNITY)
    except AccountError:
        pass  # created by an earlier run
    return "demo", password


async def run_demo(stack) -> list[str]:  # noqa: ANN001 - yishi.up.Stack (import cycle)
    """Create (or find) the demo deliberation and return the lines to print."""
    from activities.db import create_pool

    now = datetime.now(UTC).replace(microsecond=0)
    roll = demo_roll()
    pool = await create_pool(stack.database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            current, previous = await _existing_open(conn, now)
        if current is None:
            client = await connect(stack.settings.model_copy(update={"temporal_address": stack.temporal_address}))
            current, _ = await start_vote(client, pool, roll, demo_spec(now, previous),
                                          task_queue=stack.settings.task_queue,
                                          deliberation_id=f"demo-{now:%Y%m%d-%H%M%S}",
                                          checkpoint_every=timedelta(minutes=1))
        await _wait_until_open(pool, current)
        owners = sorted(roll.select(DEMO_SCOPE).owner_areas)
        links = await issue_and_disclose(EventStore(pool), current, owners, secret_key=stack.env["YISHI_SECRET_KEY"],
                                         now=now, actor=Actor("demo", "system"), fmt="csv")
        account, password = await _demo_account(pool, stack.data_dir)
        intake = await intake_link(pool, EventStore(pool), COMMUNITY, None, by="demo",
                                   secret_key=stack.env["YISHI_SECRET_KEY"], now=now)
    finally:
        await pool.close()
    base = stack.public_base_url
    lines = [f"Committee console: {base}/console/d/{current}  (sign in as {account} / {password})",
             f"Demo deliberation: {current} (3栋2单元加装电梯, {len(owners)} owners; closes 30 minutes after opening)",
             f"Start another from an owners roll: {base}/console/new; print the notice sheets with QR codes: "
             f"{base}/console/d/{current}/links",
             f"Residents raise a topic (居民出题; the poster's QR code): {intake.url(base)}",
             f"Topics and meetings (周末议事厅): {base}/console/topics and {base}/console/meetings",
             "Personal voting links (one per owner; open one on a phone or in a browser):"]
    rooms = {}
    for room in roll.rooms:
        if DEMO_SCOPE.contains(room):
            rooms.setdefault(room.owner_id, []).append(room.room_id)
    lines += [f"  {link.owner_id:<14} {','.join(rooms[link.owner_id]):<16} {link.url(base)}" for link in links]
    return lines
