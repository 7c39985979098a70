"""The street office keeps its register of property companies in real Chromium (laptop, zh-CN): a company's credit
code copied wrong is refused by its form with what was typed kept, then registered; an estate assigned to it; an
escalation ticket of one of the street's estates attributed to it. Axe clean on each page, screenshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain.escalation import EscalationOpened
from tests.points.appraisal_setup import street_register
from tests.web.test_appraisal_run_browser import signed_in
from tests.web.test_browser import assert_accessible, shot
from yishi.services import companies
from yishi.services.folds import new_events

NEW = "91110000600037341L"


@pytest.mark.browser
async def test_the_street_office_registers_a_company_an_estate_and_a_ticket(browser, live_server, pool, store,
                                                                            artifacts_dir) -> None:
    now = datetime.now(UTC)
    street = await street_register(store, now)
    ticket_id = f"esc-{uuid.uuid4().hex[:12]}"
    await store.append(ticket_id, new_events([EscalationOpened(
        at=now, ticket_id=ticket_id, parent_id=None, community="xfl", category="housing", subject="电梯停运",
        detail="3号楼", initiator="O321", initiator_kind="owner", levels=(), outcomes=("resolved",))]))
    context, office = await signed_in(browser, live_server, pool, "street_office", organisation=street)
    try:
        await office.goto(f"{live_server}/console/companies")
        await office.get_by_label("统一社会信用代码（18位）").fill(NEW[:-1] + "A")
        await office.get_by_label("公司名称").fill("新城物业")
        await office.get_by_role("button", name="登记公司").click()
        await office.locator("#company-error").wait_for()
        assert await office.get_by_label("公司名称").input_value() == "新城物业"
        await assert_accessible(office, "street office: a wrong credit code")
        await shot(office, artifacts_dir, "company-register-refused-zh")
        await office.get_by_label("统一社会信用代码（18位）").fill(NEW)
        await office.get_by_role("button", name="登记公司").click()
        await office.wait_for_url("**/console/companies?done=company*")

        await office.locator("#estate-estate").fill("和美园")
        await office.locator("#estate-community").fill("xfl")
        await office.locator("#estate-code").select_option(NEW)
        await office.locator("#estate-since").fill("2024-03-01")
        await office.locator("#register-estate button").click()
        await office.wait_for_url("**/console/companies?done=estate*")

        await office.get_by_label("工单编号（esc-…）").fill(ticket_id)
        await office.locator("#ticket-code").select_option(NEW)
        await office.locator("#ticket-note").fill("维修不及时")
        await office.get_by_role("button", name="归入工单").click()
        await office.wait_for_url("**/console/companies?done=ticket*")
        assert "新城物业" in await office.locator("tr", has_text=ticket_id).inner_text()
        await assert_accessible(office, "street office: the register")
        await shot(office, artifacts_dir, "company-register-zh")
    finally:
        await context.close()
    register = await companies.register(store, street)
    assert register.companies[NEW].name == "新城物业" and register.estates["和美园"].credit_code == NEW
    assert register.attributions[ticket_id].by.via == "console"
