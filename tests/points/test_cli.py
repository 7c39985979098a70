"""`yishi points|volunteer|appraisal …` as an operator runs them against PostgreSQL (and the Temporal dev server for
opening an appraisal): every act records the operator's name and role; refusals exit 2 with the reason in Chinese
(English on request); a rule about ballot content is refused; the statement is written; the coordinator's list."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from activities.eventstore import EventStore
from domain.escalation import EscalationOpened
from domain.legal_calendar import BEIJING
from domain.points_events import points_stream
from domain.volunteer_events import volunteers_stream
from tests.points.appraisal_setup import BAD, estate_roll, street_register
from yishi.cli import cli
from yishi.services import companies
from yishi.services.folds import new_events
from yishi.settings import get_settings

LOG_LINE = re.compile(r"^(\x1b\[\d+m)?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, temporal_server: Any) -> Any:
    values = {"YISHI_DATABASE_URL": database_url, "YISHI_TEMPORAL_ADDRESS": temporal_server.address,
              "YISHI_TASK_QUEUE": f"cli-points-{uuid.uuid4().hex[:8]}", "YISHI_SECRET_KEY": "cli-points-key",
              "YISHI_PUBLIC_BASE_URL": "https://yishi.example.cn", "USER": "zhangsan"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


async def run(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


def out(result: Result) -> str:
    return "\n".join(line for line in result.output.splitlines() if not LOG_LINE.match(line))


async def ok(*args: str) -> str:
    result = await run(*args)
    assert result.exit_code == 0, (args, result.output)
    return out(result)


async def test_points_and_volunteers_from_the_shell(env: Any, store: EventStore, community: str,
                                                    tmp_path: Path) -> None:
    c = ("--community", community)
    refused = await run("points", "rule", *c, "--id", "yes", "--name-zh", "投赞成票奖励", "--basis", "other",
                        "--points", "5")
    assert refused.exit_code == 2 and "涉及投票内容" in refused.output
    await ok("points", "rule", *c, "--id", "hours", "--name-zh", "志愿服务每小时", "--basis", "volunteer_hours",
             "--per", "hour", "--points", "10", "--pioneer", "2", "--name", "李书记")
    await ok("points", "item", *c, "--id", "soap", "--name-zh", "洗衣皂", "--cost", "15", "--stock", "1")
    team = await ok("volunteer", "team", *c, "--id", "green", "--team-name", "绿色家园", "--role", "grid_worker")
    assert "https://yishi.example.cn/vt/" in team
    person = (await ok("volunteer", "join", *c, "green", "--person-name", "张建国", "--kind", "party_member"))
    person = person.strip().splitlines()[-1]
    qr = await ok("volunteer", "activity", *c, "--team", "green", "--id", "a1", "--title", "清理楼道",
                  "--place", "3号楼", "--starts", "2025-11-08T09:00", "--ends", "2025-11-08T11:00", "--capacity", "3")
    assert "https://yishi.example.cn/ck/" in qr
    await ok("volunteer", "check", *c, "a1", person, "in", "--at", "2025-11-08T09:05")
    checked = await ok("volunteer", "check", *c, "a1", person, "out", "--at", "2025-11-08T11:30", "--name", "王队长")
    assert "1小时55分（23/12 小时）" in checked
    listing = await ok("volunteer", "list", *c, "a1")
    assert "张建国" in listing and "1小时55分" in listing
    redeemed = await ok("points", "redeem", *c, person, "soap")
    code = redeemed.split("兑换码：")[1].strip()
    short = await run("points", "redeem", *c, person, "soap", "--lang", "en")
    assert short.exit_code == 2 and "out of stock" in short.output
    await ok("points", "hand-over", *c, code, "--role", "clerk", "--name", "超市店员")
    assert "积分余额 4，先锋指数 3，累计获得 19" in await ok("points", "show", *c, person)  # 115 min: 19; 15 spent

    stored = await store.read(points_stream(community))
    redeemed_by = next(e.payload["by"] for e in stored if e.type == "Redeemed")
    handed_by = next(e.payload["by"] for e in stored if e.type == "RedemptionHandedOver")
    assert redeemed_by == {"name": "zhangsan", "role": "committee", "via": "cli"}
    assert handed_by == {"name": "超市店员", "role": "clerk", "via": "cli"}
    roster = await store.read(volunteers_stream(community))
    assert next(e.payload["by"] for e in roster if e.type == "CheckedOut")["name"] == "王队长"
    assert next(e.payload["by"] for e in roster if e.type == "TeamFormed")["role"] == "grid_worker"

    target = tmp_path / "statement.xlsx"
    last = datetime.fromisoformat(next(e.payload["at"] for e in stored if e.type == "RedemptionHandedOver"))
    month = f"{last.astimezone(BEIJING):%Y-%m}"  # the month of the last act: every act so far is in or before it
    await ok("points", "statement", *c, "--month", month, "-o", str(target))
    people = list(load_workbook(target).worksheets[0].iter_rows(values_only=True))
    assert people[0][0].startswith("人员编号") and people[1][1] == "张建国"
    csv_file = tmp_path / "statement.csv"
    await ok("points", "statement", *c, "--month", month, "--format", "csv", "-o", str(csv_file))
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    assert rows[1][1] == "张建国" and rows[1][8] == "4"  # closing balance: 19 earned - 15 spent
    assert "zhangsan" not in await ok("points", "leaderboard", *c)  # nobody opted in: nobody shown
    first = await ok("points", "link", *c, person)
    assert first == await ok("points", "link", *c, person)  # the same link again (a reprint)
    again = await ok("points", "link", *c, person, "--reissue", "--reason", "手机丢失")
    assert again != first and "/me/" in again
    assert "已作废" in await ok("points", "link", *c, person, "--revoke", "--reason", "离开社区")
    kinds = [(e.type, e.payload.get("reason")) for e in await store.read(points_stream(community))
             if e.type.startswith("Capability")]
    assert kinds[-3:] == [("CapabilityRevoked", "手机丢失"), ("CapabilityIssued", None),
                          ("CapabilityRevoked", "离开社区")]


async def test_appraisal_register_and_open_from_the_shell(env: Any, store: EventStore, tmp_path: Path) -> None:
    street = ("--street", f"s{uuid.uuid4().hex[:8]}", "--role", "street_office")
    wrong = await run("appraisal", "company", *street, "--code", BAD[:-1] + "B", "--company-name", "安居物业")
    assert wrong.exit_code == 2 and "校验位应为“A”" in wrong.output
    await ok("appraisal", "company", *street, "--code", BAD.lower(), "--company-name", "安居物业")
    await ok("appraisal", "estate", *street, "--estate", "幸福里", "--community", "xfl", "--code", BAD,
             "--since", "2020-01-01")
    await ok("appraisal", "items", *street, "--item", "cleaning:保洁:40", "--item", "repairs:维修:60")
    roll = tmp_path / "roll.csv"
    rows = [("房号", "楼栋", "单元", "楼层", "建筑面积(㎡)", "业主编号", "业主姓名")]
    rows += [(r.room_id, r.building, r.entrance, r.floor, str(r.area_m2), r.owner_id, "业主")
             for r in estate_roll().rooms]
    roll.write_text("\n".join(",".join(row) for row in rows), encoding="utf-8")
    appraisal_id = (await ok("appraisal", "open", *street[:2], "--estate", "幸福里", "--period", "2025Q4",
                             "--roll", str(roll), "--name", "李书记")).strip().splitlines()[-1]
    assert appraisal_id.startswith("appraisal-")
    links = await ok("appraisal", "links", appraisal_id, "--by", "李书记")
    assert links.count("https://yishi.example.cn/v/") == 11
    status = await ok("appraisal", "status", appraisal_id)
    assert "安居物业" in status and "0 / 11" in status
    events = await store.read(appraisal_id)
    assert [e.type for e in events][:2] == ["AppraisalOpened", "LinksIssued"]
    assert events[0].payload["by"] == {"name": "李书记", "role": "committee", "via": "cli"}


async def test_attribute_keeps_to_the_streets_own_estates(env: Any, store: EventStore) -> None:
    """`yishi appraisal attribute` applies the console's rule (services/companies.py ``attribute_ticket``): no such
    ticket, and a ticket of a community where the street has no estate, are refused with exit 2 and nothing
    recorded; a ticket of its estate's community (a topic's, not only ``esc-…``) is attributed."""
    now = datetime.now(BEIJING)
    street = await street_register(store, now)  # 幸福里, in community xfl
    opened = {}
    for ticket_id, community in ((f"topic-{uuid.uuid4().hex[:12]}/esc-1", "xfl"),
                                 (f"esc-{uuid.uuid4().hex[:12]}", "hpl")):
        await store.append(ticket_id, new_events([EscalationOpened(
            at=now, ticket_id=ticket_id, parent_id=None, community=community, category="housing", subject="电梯停运",
            detail="", initiator="O321", initiator_kind="owner", levels=(), outcomes=("resolved",))]))
        opened[community] = ticket_id
    office = ("--street", street, "--role", "street_office", "--code", BAD)
    unknown = await run("appraisal", "attribute", "esc-nosuchticket", *office)
    assert unknown.exit_code == 2 and "没有工单 esc-nosuchticket" in unknown.output, unknown.output
    other = await run("appraisal", "attribute", opened["hpl"], *office)
    assert other.exit_code == 2 and f"工单 {opened['hpl']} 不属于本街道的小区" in other.output, other.output
    assert (await companies.register(store, street)).attributions == {}, "nothing recorded on a refusal"
    await ok("appraisal", "attribute", opened["xfl"], *office, "--note", "维修慢")
    assert list((await companies.register(store, street)).attributions) == [opened["xfl"]]
