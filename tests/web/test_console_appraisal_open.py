"""The committee opens an appraisal of its estate's property company from the console: the estate chosen among its
community's (the company and its credit code from the street's register, the street's items), the roll frozen, the
read model and the page show it open; the same form twice opens one; a wrong period, day count or roll answers the
form again with what was entered and opens nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.points.appraisal_setup import BAD, ITEMS, street_register
from tests.web.test_console_start import TEMPLATE_CSV, settings, temporal  # noqa: F401
from tests.workflows.conftest import stream_types
from yishi.services import appraisals, companies
from yishi.services.appraisal_rows import community_rows


def form_of(html: str) -> dict[str, str]:
    match = re.search(r'<form method="post" action="/console/appraisals/open"[^>]*>(.*?)</form>', html, re.S)
    assert match, html[-800:]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match.group(1)))


async def test_the_committee_opens_an_appraisal_once(sign_in, store, pool, temporal) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    street = await street_register(store, datetime.now(UTC))
    committee = await sign_in("committee", community="xfl")
    page = await committee.get("/console/appraisals")
    assert page.status_code == 200 and f'value="{street}::幸福里"' in page.text and BAD in page.text
    keys = form_of(page.text)
    roll = {"roll": ("名册.csv", TEMPLATE_CSV, "text/csv")}
    fields = {**keys, "estate": f"{street}::幸福里", "period": "2026Q5", "window_days": "0"}
    wrong = await committee.post("/console/appraisals/open", data=fields)
    assert wrong.status_code == 422 and 'id="open-errors"' in wrong.text
    for said in ("2026Q5", "业主评分的天数：应为 1 到 90 的整数", "请选择业主名册文件"):
        assert said in wrong.text, said
    assert 'value="2026Q5"' in wrong.text and 'value="0"' in wrong.text  # the entry kept
    assert (await companies.register(store, street)).appraisals == {}

    fields = {**fields, "period": "2026Q1", "window_days": "10"}
    done = await committee.post("/console/appraisals/open", data=fields, files=roll)
    assert done.status_code == 303, done.text[-800:]
    again = await committee.post("/console/appraisals/open", data=fields, files=roll)  # a double tap
    assert again.status_code == 303 and again.headers["location"] == done.headers["location"]
    [appraisal_id] = (await companies.register(store, street)).appraisals
    assert done.headers["location"] == f"/console/appraisals#{appraisal_id}"
    state = await appraisals.appraisal(store, appraisal_id)
    opened = state.opened
    assert opened is not None and opened.company.credit_code == BAD and opened.items == ITEMS
    assert (opened.by.role, opened.by.via, opened.period) == ("committee", "console", "2026Q1")
    assert (opened.closes_at - opened.opens_at).days in (10, 11)  # ten calendar days, to 24:00 of the last
    assert await stream_types(store, appraisal_id) == ["AppraisalOpened"]
    [row] = [r for r in await community_rows(pool, "xfl", 50) if r["appraisal_id"] == appraisal_id]
    assert row["status"] == "open" and row["credit_code"] == BAD
    shown = (await committee.get("/console/appraisals")).text
    assert f'id="{appraisal_id}"' in shown and "2026Q1" in shown
    await temporal.get_workflow_handle(appraisal_id).terminate("test done")
