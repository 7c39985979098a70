"""The street office's red/black list page: its register's estates and companies, a period entered wrong refused
inline with the entry kept, the list worked out and published from the console (from the tickets attributed to a
company: five make the black list), shown with its reasons and exported as CSV; another street's office sees none
of it, and a committee account is not let in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from domain.escalation import EscalationOpened
from tests.points.appraisal_setup import BAD, GOOD, quarter, street_register, ticket_about
from tests.web.test_appraisal_page import csrf_of
from yishi.services import companies
from yishi.services.folds import new_events

NEW = "91110000600037341L"  # a valid code not in the register


async def test_the_street_office_publishes_and_exports_its_list(sign_in, store) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    street = await street_register(store, now)
    for _ in range(5):
        await ticket_about(store, street, BAD, now)
    office = await sign_in("street_office", organisation=street)
    page = await office.get("/console/companies")
    assert page.status_code == 200 and "幸福里" in page.text and BAD in page.text, page.text[-800:]
    assert "这个时期还没有公布名单" in page.text

    wrong = await office.post("/console/companies/publish", data={**csrf_of(page.text), "period": "2026Q5"})
    assert wrong.status_code == 422 and 'value="2026Q5"' in wrong.text and 'role="alert"' in wrong.text
    assert (await companies.register(store, street)).lists == []

    period = quarter(now)
    done = await office.post("/console/companies/publish", data={**csrf_of(page.text), "period": period})
    assert done.status_code == 303 and done.headers["location"] == f"/console/companies?period={period}#list"
    [published] = (await companies.register(store, street)).lists
    assert published.by.name and published.by.role == "street_office" and published.by.via == "console"
    shown = (await office.get(f"/console/companies?period={period}")).text
    row = shown[shown.index(BAD) - 400:shown.index(BAD) + 400]
    assert "黑榜" in shown and "安居物业" in shown and "相关工单 5 件，达到 5 件" in shown, row
    assert "宜家物业" in shown and GOOD in shown

    csv = await office.get(f"/console/companies/list.csv?period={period}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("名单,统一社会信用代码,物业公司")
    assert any(line.startswith(f"黑榜,{BAD},安居物业,") and ",5," in line for line in lines), lines

    elsewhere = await sign_in("street_office", organisation=f"s{uuid.uuid4().hex[:8]}")
    theirs = (await elsewhere.get(f"/console/companies?period={period}")).text
    assert BAD not in theirs and "安居物业" not in theirs
    assert (await elsewhere.get(f"/console/companies/list.csv?period={period}")).status_code == 404
    committee = await sign_in("committee", community="xfl")
    assert (await committee.get("/console/companies")).status_code == 403


async def test_the_street_office_sets_the_items_and_weights(sign_in, store) -> None:  # type: ignore[no-untyped-def]
    street = await street_register(store, datetime.now(UTC))
    office = await sign_in("street_office", organisation=street)
    page = await office.get("/console/companies")
    assert "cleaning:保洁:25" in page.text and "repairs:维修:30" in page.text  # the items set today, to edit
    wrong = "cleaning:保洁:25\ngreen:绿化:二十"
    refused = await office.post("/console/companies/items", data={**csrf_of(page.text), "items": wrong,
                                                                  "owner_weight": "area"})
    assert refused.status_code == 422 and "第2行" in refused.text and "绿化:二十" in refused.text
    assert 'id="weight-area" name="owner_weight" type="radio" value="area" checked' in refused.text
    assert len((await companies.register(store, street)).items) == 4  # nothing recorded

    done = await office.post("/console/companies/items", data={**csrf_of(page.text), "owner_weight": "area",
                                                               "items": "cleaning：保洁：40\ngreen:绿化:60"})
    assert done.status_code == 303
    register = await companies.register(store, street)
    assert [(i.item_id, i.name_zh, i.weight) for i in register.items] == [("cleaning", "保洁", 40),
                                                                          ("green", "绿化", 60)]
    assert register.owner_weight == "area"


async def test_the_street_office_keeps_its_register_from_the_console(sign_in, store) -> None:  # type: ignore[no-untyped-def]
    """A company registered by its checked credit code (a wrong code refused inline, the entry kept), an estate
    assigned to it, and a ticket of one of the street's estates attributed to it: each an event naming the account;
    a ticket of no estate of this street is refused."""
    now = datetime.now(UTC)
    street = await street_register(store, now)
    office = await sign_in("street_office", organisation=street)
    form = csrf_of((await office.get("/console/companies")).text)

    wrong = await office.post("/console/companies/company", data={**form, "credit_code": "91350200776049653B",
                                                                  "name": "新城物业"})
    assert wrong.status_code == 422 and 'id="company-error"' in wrong.text, wrong.text[-800:]
    assert 'value="91350200776049653B"' in wrong.text and 'value="新城物业"' in wrong.text
    assert NEW not in (await companies.register(store, street)).companies

    done = await office.post("/console/companies/company", data={**form, "credit_code": NEW.lower(),
                                                                 "name": " 新城物业 "})
    assert done.status_code == 303 and done.headers["location"] == "/console/companies?done=company#register-company"
    register = await companies.register(store, street)
    assert register.companies[NEW].name == "新城物业"

    late = await office.post("/console/companies/estate", data={**form, "estate": "和美园", "community": "hmy",
                                                                "credit_code": NEW, "since": "2024-13-01"})
    assert late.status_code == 422 and 'id="estate-error"' in late.text and 'value="和美园"' in late.text
    done = await office.post("/console/companies/estate", data={**form, "estate": "和美园", "community": "hmy",
                                                                "credit_code": NEW, "since": "2024-03-01"})
    assert done.status_code == 303
    estate = (await companies.register(store, street)).estates["和美园"]
    assert (estate.credit_code, str(estate.since), estate.community) == (NEW, "2024-03-01", "hmy")
    assert estate.by.role == "street_office" and estate.by.via == "console"

    ticket_id = f"esc-{uuid.uuid4().hex[:12]}"
    await store.append(ticket_id, new_events([EscalationOpened(
        at=now, ticket_id=ticket_id, parent_id=None, community="xfl", category="housing", subject="电梯停运",
        detail="3号楼", initiator="O321", initiator_kind="owner", levels=(), outcomes=("resolved",))]))
    unknown = await office.post("/console/companies/ticket", data={**form, "ticket_id": "esc-nosuchticket",
                                                                   "credit_code": NEW, "note": "维修慢"})
    assert unknown.status_code == 422 and 'id="ticket-error"' in unknown.text and 'value="维修慢"' in unknown.text
    assert "没有工单 esc-nosuchticket" in unknown.text  # services/companies.py attribute_ticket, as the CLI
    done = await office.post("/console/companies/ticket", data={**form, "ticket_id": ticket_id, "credit_code": NEW,
                                                                "note": "维修慢"})
    assert done.status_code == 303
    attributed = (await companies.register(store, street)).attributions[ticket_id]
    assert attributed.credit_code == NEW and attributed.note == "维修慢" and attributed.by.via == "console"
    shown = (await office.get("/console/companies?done=ticket")).text
    assert "已记录" in shown and ticket_id in shown and "新城物业" in shown and "和美园" in shown

    elsewhere = await sign_in("street_office", organisation=f"s{uuid.uuid4().hex[:8]}")
    theirs = csrf_of((await elsewhere.get("/console/companies")).text)
    assert (await elsewhere.post("/console/companies/company", data={**theirs, "credit_code": GOOD,
                                                                     "name": "宜家物业"})).status_code == 303
    aside = await elsewhere.post("/console/companies/ticket", data={**theirs, "ticket_id": ticket_id,
                                                                    "credit_code": NEW, "street": street})
    assert aside.status_code == 422  # no estate of its street is in community xfl; nothing written anywhere
    assert f"工单 {ticket_id} 不属于本街道的小区" in aside.text
    committee = await sign_in("committee", community="xfl")
    assert (await committee.post("/console/companies/company", data={**form, "credit_code": NEW,
                                                                     "name": "x"})).status_code == 403
