"""The console's monthly figures (issue 16): a committee sees its own community's figures only, the street office
every community's; the page's table rows are the CSV's and the XLSX's rows; the figures include meetings held and
the page and the public page draw a chart. Topics and meetings are written to their streams as the workflows do
(tests/topics/test_figures.py), no worker needed."""

from __future__ import annotations

import html
import io
import re
import uuid
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from openpyxl import load_workbook

from tests.topics.test_figures import MARCH, meeting, topic
from tests.web.test_browser import PHONE, assert_accessible, shot

ROW = re.compile(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", re.S)
CELL = re.compile(r"<td>(.*?)</td>", re.S)
TABLE = re.compile(r'<table class="figures"[^>]*data-community="([^"]+)">(.*?)</table>', re.S)


async def seed(store, pool, community: str) -> None:  # type: ignore[no-untyped-def]
    """March: two topics raised, one meeting held; April: one meeting held."""
    await topic(store, pool, community, MARCH, "p:a")
    await topic(store, pool, community, MARCH + timedelta(days=1), "p:b")
    await meeting(store, pool, community, MARCH, held=True)
    await meeting(store, pool, community, MARCH + timedelta(days=25), held=True)


def page_rows(text: str) -> list[list[str]]:
    """The page's figure tables as CSV rows: community, then the cells ('—' is an empty rate)."""
    rows = []
    for community, table in TABLE.findall(text):
        for month, cells in ROW.findall(table):
            rows.append([html.unescape(community), month,
                         *("" if c == "—" else html.unescape(c) for c in CELL.findall(cells))])
    return rows


def csv_rows(response: httpx.Response) -> list[list[str]]:
    import csv

    return [row for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))][1:]


def xlsx_rows(response: httpx.Response) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[1][:3] == ["community", "month", "raised"] and rows[0][0] == "社区"
    return rows[2:]


async def test_the_figures_page_and_its_exports_keep_the_wall_and_agree(app, pool, store, client,
                                                                        sign_in) -> None:
    mine, theirs = f"东湖社区-{uuid.uuid4().hex[:6]}", f"西湖社区-{uuid.uuid4().hex[:6]}"
    await seed(store, pool, mine)
    await seed(store, pool, theirs)

    committee = await sign_in("committee", community=mine)
    page = await committee.get("/console/topics/figures")
    assert page.status_code == 200 and 'class="fig-bars"' in page.text, "a chart is drawn"
    shown = page_rows(page.text)
    assert shown == [[mine, "2026-03", "2", "0", "0", "0", "0", "0", "1", "0", "0", "0", ""],
                     [mine, "2026-04", "0", "0", "0", "0", "0", "0", "1", "0", "0", "0", ""]], shown
    assert theirs not in page.text, "a committee sees its own community only"
    assert csv_rows(await committee.get("/console/topics/figures.csv")) == shown
    xlsx = await committee.get("/console/topics/figures.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert xlsx_rows(xlsx) == shown

    street = await sign_in("street_office", community=None)
    everything = page_rows((await street.get("/console/topics/figures")).text)
    assert {r[0] for r in everything} >= {mine, theirs}, "the street office sees every community"
    assert csv_rows(await street.get("/console/topics/figures.csv")) == everything
    assert xlsx_rows(await street.get("/console/topics/figures.xlsx")) == everything

    for path in ("/console/topics/figures", "/console/topics/figures.csv", "/console/topics/figures.xlsx"):
        assert (await client.get(path)).status_code == 303, f"{path}: signed-in staff only"
    public = await client.get(f"/p/{quote(mine)}/topics")
    assert public.status_code == 200 and 'class="fig-bars"' in public.text
    assert "<td>1</td>" in public.text.split('id="figures"')[1].split("</table>")[0], "meetings held on the page"


@pytest.mark.browser
async def test_the_public_page_chart_on_a_phone(browser, live_server, pool, store, artifacts_dir) -> None:
    community = f"南湖社区-{uuid.uuid4().hex[:6]}"
    await seed(store, pool, community)
    phone = await browser.new_context(**PHONE)
    page = await phone.new_page()
    try:
        await page.goto(f"{live_server}/p/{quote(community)}/topics")
        await page.locator("svg.fig-bars").wait_for()
        assert await page.locator("svg.fig-bars rect").count() == 10, "two months of five bars"
        header = await page.locator("#figures thead").inner_text()
        assert "开会" in header or "会议" in header, header
        await shot(page, artifacts_dir, "topic-public-figures-zh")
        await assert_accessible(page, "public topic page with the chart")
    finally:
        await phone.close()


@pytest.mark.browser
async def test_the_street_office_reads_the_figures_page_on_a_laptop(browser, live_server, pool, store,
                                                                     artifacts_dir) -> None:
    from tests.web.conftest import PASSWORD
    from yishi.services.accounts import add_account

    community = f"北湖社区-{uuid.uuid4().hex[:6]}"
    await seed(store, pool, community)
    name = f"街道-{uuid.uuid4().hex[:6]}"
    await add_account(pool, name, "street_office", PASSWORD, community=None)
    laptop = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await laptop.new_page()
    try:
        await page.goto(f"{live_server}/login")
        await page.get_by_label("账号").fill(name)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("link", name="议题", exact=True).click()
        await page.locator("#figures-page").click()
        table = page.locator(f'table.figures[data-community="{community}"]')
        await table.wait_for()
        assert await table.locator("tbody tr").count() == 2
        assert await page.locator("svg.fig-bars").count() >= 1
        await shot(page, artifacts_dir, "console-topic-figures-zh")
        await assert_accessible(page, "console figures page")
    finally:
        await laptop.close()
