"""The points console's settings and books over HTTP: rules set in the form keep the domain's rule (no rule may refer
to a ballot's content; points for taking part in a vote off by default, and when on, a rule of taking part only),
the monthly statement page and its CSV, and the shop clerk's link; all in the account's own community."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime

from openpyxl import load_workbook

from domain.legal_calendar import BEIJING
from domain.points_events import points_stream
from tests.web.test_console_points import ledger_with_people
from tests.web.test_person_pages import COMMITTEE, csrf_of
from yishi.services import points

RULE = {"rule_id": "clean", "name_zh": "楼道清洁", "basis": "other", "per": "occasion", "points": "3"}


async def test_rules_in_the_form_never_refer_to_a_ballot(sign_in, store) -> None:  # type: ignore[no-untyped-def]
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    committee = await sign_in("committee", community=community)
    page = await committee.get("/console/points")
    assert "参与投票积分" in page.text and "开启" in page.text, "off by default: the button turns them on"
    stream = points_stream(community)

    async def post(path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
        """A fresh form each time (the console's acts are idempotent per form)."""
        form = csrf_of((await committee.get("/console/points")).text)
        return await committee.post(path, data={**form, **data})

    refusals = ({**RULE, "conditions": "choice = 赞成"}, {**RULE, "conditions": "楼栋 = 反对"},
                {**RULE, "name_zh": "投赞成票加分"}, {**RULE, "description": "votes for the plan earn more"},
                {**RULE, "rule_id": "vote", "basis": "vote_participation"})
    for bad in refusals:
        before = await store.head(stream)
        refused = await post("/console/points/rule", bad)
        assert refused.status_code == 409, (bad, refused.status_code, refused.text[-400:])
        assert "规则" in re.search(r'id="points-error">([^<]*)', refused.text)[1]
        assert await store.head(stream) == before, bad
    done = await post("/console/points/rule", {**RULE, "conditions": "楼栋 = 3号楼"})
    assert done.status_code == 303, done.text[-400:]
    ledger = await points.ledger(store, community)
    assert ledger.rules["clean"].rule.conditions == {"楼栋": "3号楼"} and not ledger.vote_participation
    on = await post("/console/points/vote-participation", {"enabled": "on"})
    assert on.status_code == 303
    took_part = {**RULE, "rule_id": "vote", "name_zh": "参与投票", "basis": "vote_participation"}
    assert (await post("/console/points/rule", took_part)).status_code == 303
    # Even when on, a participation rule may not name a choice.
    choice = {**took_part, "rule_id": "vote2", "conditions": "choice = for"}
    assert (await post("/console/points/rule", choice)).status_code == 409
    off = await post("/console/points/vote-participation", {"enabled": "off"})
    assert off.status_code == 303
    ledger = await points.ledger(store, community)
    assert not ledger.vote_participation and ledger.rules["vote"].retired
    types = [e.payload["by"]["via"] for e in await store.read(stream) if e.type in ("RuleSet", "VoteParticipationSet")]
    assert types and set(types) == {"console"}


async def test_monthly_statement_page_and_csv(sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    people = await ledger_with_people(pool, store, community)
    now = datetime.now(UTC)
    await points.award(store, community, person_id=people["张建国"], rule_id="meeting", by=COMMITTEE, now=now)
    month = now.astimezone(BEIJING).strftime("%Y-%m")
    committee = await sign_in("committee", community=community)
    page = await committee.get("/console/points/statement")
    assert page.status_code == 200 and month in page.text
    table = re.search(r'<table id="statement-people">.*?</table>', page.text, re.S)[0]
    assert "张建国" in table and "<td>5</td>" in table and "李红" in table
    csv = await committee.get(f"/console/points/statement.csv?month={month}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert "张建国" in text and "月末余额" in text.splitlines()[0], text[:300]
    assert (await committee.get("/console/points/statement.csv?month=2025-13")).status_code == 422
    assert f'href="/console/points/statement.xlsx?month={month}"' in page.text, "the XLSX beside the CSV"
    xlsx = await committee.get(f"/console/points/statement.xlsx?month={month}")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert xlsx.headers["content-disposition"] == f'attachment; filename="points-{month}.xlsx"'
    rows = list(load_workbook(io.BytesIO(xlsx.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0].startswith("人员编号") and "张建国" in [row[1] for row in rows[1:]], rows[:3]
    assert (await committee.get("/console/points/statement.xlsx?month=2025-13")).status_code == 422
    outsider = await sign_in("committee", community=f"和平社区-{uuid.uuid4().hex[:6]}")
    theirs = await outsider.get(f"/console/points/statement.csv?month={month}")
    assert theirs.status_code == 200 and "张建国" not in theirs.content.decode("utf-8-sig")
    theirs = await outsider.get(f"/console/points/statement.xlsx?month={month}")
    assert theirs.status_code == 200 and "张建国" not in str(list(
        load_workbook(io.BytesIO(theirs.content)).worksheets[0].iter_rows(values_only=True)))
    assert (await (await sign_in("committee", community=None)).get("/console/points/statement")).status_code == 403
