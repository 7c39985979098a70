"""What every bench sets up the way a committee would: a roll CSV, a registered deliberation with its box open
(the same ``open_box`` activity the BallotBox workflow runs) and personal links."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from activities.box import BoxActivities
from activities.eventstore import EventStore
from domain.events import Question
from domain.roll import ROLL_COLUMNS, Roll, Scope
from yishi.services.deliberations import DeliberationSpec, box_params, register, store_roll
from yishi.services.link_issuing import Actor, issue_and_disclose
from yishi.services.links import IssuedLink

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡"
GIVEN = ("建国", "秀英", "桂兰", "志强", "海燕", "文华", "玉珍", "德明", "丽娟", "国庆", "淑芬", "永红")
FLOORS, UNITS, ENTRANCES = 18, 4, 3  # a high-rise estate: 18 floors, 4 flats per floor and entrance


def roll_csv(owners: int) -> bytes:
    """A roll of ``owners`` flats, one owner each: buildings of 3 entrances × 18 floors × 4 flats, areas with
    two decimals between 55 and 145 m², some owners without a phone."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ROLL_COLUMNS)
    per_building = FLOORS * UNITS * ENTRANCES
    for n in range(owners):
        building, rest = divmod(n, per_building)
        entrance, rest = divmod(rest, FLOORS * UNITS)
        floor, unit = divmod(rest, UNITS)
        room_id = f"{building + 1}-{entrance + 1}-{floor + 1}{unit + 1:02d}"
        area = Decimal(5500 + (n * 7919) % 9000) / 100  # 55.00 … 144.99, two decimals
        phone = "" if n % 9 == 0 else f"139{n:08d}"
        name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
        writer.writerow([room_id, building + 1, entrance + 1, floor + 1, f"{area:.2f}", f"O-{room_id}", name, phone])
    return out.getvalue().encode("utf-8")


def spec(title: str, *, minutes: int = 60) -> DeliberationSpec:
    now = datetime.now(UTC)
    return DeliberationSpec(
        procedure="bench", title=title, rule_id="cc278-ordinary", scope=Scope(),
        question=Question(text_zh="是否同意更换物业服务企业？", text_en="Replace the property management company?"),
        notice_zh="基准测试用的议事（不是真实表决）。", notice_en="A benchmark deliberation (not a real vote).",
        opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(minutes=minutes),
    )


async def open_deliberation(pool: asyncpg.Pool, store: EventStore, roll: Roll, deliberation_id: str,
                            the_spec: DeliberationSpec) -> None:
    digest = await store_roll(pool, roll)
    await register(pool, deliberation_id, the_spec, digest)
    await BoxActivities(store, pool).open_box(box_params(deliberation_id, the_spec, digest).open)


async def links_for(store: EventStore, deliberation_id: str, roll: Roll, secret_key: str) -> list[IssuedLink]:
    """Every owner's link, issued and shown to the bench (both recorded in the stream, as in production)."""
    owners = list(dict.fromkeys(r.owner_id for r in roll.rooms))
    return await issue_and_disclose(store, deliberation_id, owners, secret_key=secret_key, now=datetime.now(UTC),
                                    actor=Actor("bench", "system"), fmt="csv")
