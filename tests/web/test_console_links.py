"""Personal links and notice sheets from the console: read-only pages, issuing, reissuing, roles and walls."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import structlog
from structlog.testing import capture_logs

from domain.events import Question
from domain.roll import Scope
from tests.web.conftest import BASE_URL, form_fields, make_roll
from tests.web.test_console_walls import console_form, other_community
from tests.web.test_links import decode_qr_codes, run_cli
from yishi.services import link_runs
from yishi.services.deliberations import DeliberationSpec, register, store_roll
from yishi.services.link_issuing import Actor, issue_links
from yishi.web import console_links


@pytest.fixture
def logs(monkeypatch):  # type: ignore[no-untyped-def]
    with capture_logs() as entries:
        monkeypatch.setattr(console_links, "log", structlog.get_logger("yishi.web.console_links"))
        yield entries


async def counts(pool, deliberation_id: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """Rows of ``links`` (all, revoked) and events of the deliberation: what a GET must leave as it was."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(revoked_at) AS revoked FROM links WHERE deliberation_id = $1", deliberation_id)
        events = await conn.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", deliberation_id)
    return row["n"], row["revoked"], events


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def stream_types(pool, deliberation_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return [r["type"] for r in await conn.fetch(
            "SELECT type FROM events WHERE stream_id = $1 ORDER BY seq", deliberation_id)]


async def last_event(pool, deliberation_id: str) -> dict:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT type, payload::text AS payload FROM events WHERE stream_id = $1"
                                  " ORDER BY seq DESC LIMIT 1", deliberation_id)
    return {"type": row["type"], **json.loads(row["payload"])}


async def test_pages_write_nothing_until_the_committee_issues_the_links(
        sign_in, open_deliberation, pool, database_url, logs) -> None:  # type: ignore[no-untyped-def]
    d = await open_deliberation(8, links=False)
    committee = await sign_in("committee")
    progress = await committee.get(f"/console/d/{d.id}")
    assert f'href="/console/d/{d.id}/links"' in progress.text
    before = await counts(pool, d.id)
    assert before[:2] == (0, 0)

    page = await committee.get(f"/console/d/{d.id}/links")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "表决范围内业主 8 户，已有有效投票链接 0 户" in page.text and "8 户还没有投票链接" in page.text
    assert "o007 · " in page.text and "/sheets" not in page.text, "nothing to print before links exist"
    for path in ("sheets", "links.csv"):  # showing live links is a recorded act: never a GET
        assert (await committee.get(f"/console/d/{d.id}/{path}")).status_code == 405
    sheets = await committee.post(f"/console/d/{d.id}/sheets", data=console_form(page.text))
    assert sheets.status_code == 200 and "以下 8 户还没有投票链接" in sheets.text and "/v/" not in sheets.text
    assert f'href="/console/d/{d.id}/links"' in sheets.text  # the pointer to the issue button
    empty = await committee.post(f"/console/d/{d.id}/links.csv", data=console_form(page.text))
    assert csv_rows(empty.content) == [["owner_id", "rooms", "url"]]
    assert await counts(pool, d.id) == before, "GET issued nothing; showing no link records nothing"

    issued = await committee.post(f"/console/d/{d.id}/links", data=form_fields(page.text, "/links"))
    assert issued.status_code == 303 and issued.headers["location"] == f"/console/d/{d.id}/links"
    after = await committee.get(f"/console/d/{d.id}/links")
    assert "已有有效投票链接 8 户" in after.text and "还没有投票链接" not in after.text
    assert "每次打印通知单、下载链接表" in after.text, "the page says every print and download is recorded"
    assert await counts(pool, d.id) == (8, 0, before[2] + 1), "one LinksIssued"

    exported = await committee.post(f"/console/d/{d.id}/links.csv", data=form_fields(after.text, "/links.csv"))
    assert exported.headers["Cache-Control"] == "no-store"
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    disclosed = await last_event(pool, d.id)
    assert disclosed["type"] == "LiveLinksDisclosed" and disclosed["format"] == "csv"
    assert disclosed["owners"] == d.owners and disclosed["via"] == "console"
    rows = csv_rows(exported.content)
    code, cli_out, err = await run_cli(database_url, d.id, "--format", "csv")
    assert code == 0, err
    assert rows == list(csv.reader(io.StringIO(cli_out))) and len(rows) == 9, "the CLI's CSV, the same links"
    assert (await last_event(pool, d.id))["via"] == "cli", "the CLI's print is recorded too"
    urls = sorted(row[2] for row in rows[1:])
    assert all(url.startswith(f"{BASE_URL}/v/") for url in urls)

    printed = await committee.post(f"/console/d/{d.id}/sheets", data=form_fields(after.text, "/sheets"))
    assert printed.status_code == 200 and printed.headers["Cache-Control"] == "no-store"
    assert "style-src 'self' 'sha256-" in printed.headers["Content-Security-Policy"], "the sheets' own CSS applies"
    assert "@page { size: A4" in printed.text and "共 8 户的通知单" in printed.text
    assert all(url in printed.text for url in urls)
    assert sorted(decode_qr_codes(printed.text)) == urls
    assert (await last_event(pool, d.id))["format"] == "sheets"
    again = await committee.post(f"/console/d/{d.id}/links", data=console_form(after.text))
    assert again.status_code == 303
    assert await stream_types(pool, d.id) == ["BoxOpened", "LinksIssued"] + ["LiveLinksDisclosed"] * 3, \
        "issuing twice keeps the printed links and records nothing; each print and download is recorded"
    assert await counts(pool, d.id) == (8, 0, before[2] + 4)

    names = [entry["event"] for entry in logs]
    assert {"console.links_disclosed", "console.links_issued"} <= set(names)
    assert not any(url.rsplit("/", 1)[1] in repr(logs) for url in urls), "no token in the logs"
    assert all(entry["deliberation_id"] == d.id and entry["account_id"] for entry in logs
               if entry["event"].startswith("console.link"))


async def test_a_big_roll_is_issued_in_the_background_with_progress_and_continues_after_a_crash(
        sign_in, open_deliberation, app, pool, store) -> None:  # type: ignore[no-untyped-def]
    d = await open_deliberation(9, links=False)
    app.state.link_batch, app.state.link_wait_s = 2, 0  # several batches; the post answers at once
    name = f"李委员-{uuid.uuid4().hex[:4]}"
    committee = await sign_in("committee", name=name)
    page = (await committee.get(f"/console/d/{d.id}/links")).text
    # A run that died with its process after its first batches: three links issued, its heartbeat long stale.
    await issue_links(store, d.id, d.owners[:3], secret_key=app.state.secret_key, now=datetime.now(UTC),
                      actor=Actor("王主任", "console"))
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO link_runs (deliberation_id, started_by, heartbeat_at)"
                           " VALUES ($1, '王主任', now() - interval '1 hour')", d.id)
        first = dict(await conn.fetch("SELECT owner_id, token_hash FROM links WHERE deliberation_id = $1", d.id))
    stopped = (await committee.get(f"/console/d/{d.id}/links")).text
    assert 'id="links-interrupted"' in stopped and "（已生成 3 / 9）" in stopped
    assert "data-reload-every" not in stopped and ">生成投票链接</button>" in stopped
    before = await stream_types(pool, d.id)

    blocker = await pool.acquire()  # holds the batches back, so the page is seen while the run goes on
    held = blocker.transaction()
    await held.start()
    await blocker.execute("LOCK TABLE links IN SHARE ROW EXCLUSIVE MODE")
    try:
        started = await committee.post(f"/console/d/{d.id}/links", data=form_fields(page, "/links"))
        assert started.status_code == 303 and started.headers["location"] == f"/console/d/{d.id}/links"
        running = (await committee.get(f"/console/d/{d.id}/links")).text
        assert 'data-reload-every="3"' in running
        assert 'id="links-issuing"' in running and "已生成 3 / 9" in running
        assert ">生成投票链接</button>" not in running and 'id="links-interrupted"' not in running
        # A reload would drop an owner id typed into the reissue form: it waits for the issuing to end.
        assert 'name="owner_id"' not in running and 'id="reissue-waiting"' in running
        again = await committee.post(f"/console/d/{d.id}/links", data=form_fields(page, "/links"))
        assert again.status_code == 303
        runs = [task for task in link_runs._tasks if task.get_name() == f"links:{d.id}"]
        assert len(runs) == 1 and not runs[0].done(), "a second post starts no second run"
    finally:
        await held.rollback()
        await pool.release(blocker)
    await asyncio.wait_for(runs[0], 30)

    done = (await committee.get(f"/console/d/{d.id}/links")).text
    assert "已有有效投票链接 9 户" in done and "还没有投票链接" not in done
    assert "data-reload-every" not in done and 'id="links-issuing"' not in done
    assert 'id="links-interrupted"' not in done and "打印通知单" in done
    assert 'name="owner_id"' in done and 'id="reissue-waiting"' not in done
    async with pool.acquire() as conn:
        per_owner = dict(await conn.fetch("SELECT owner_id, count(*) FROM links WHERE deliberation_id = $1"
                                          " GROUP BY owner_id", d.id))
        hashes = dict(await conn.fetch("SELECT owner_id, token_hash FROM links WHERE deliberation_id = $1", d.id))
    assert per_owner == {owner_id: 1 for owner_id in d.owners}, "exactly one link per owner"
    assert {o: hashes[o] for o in first} == first, "the links issued before the crash stay as printed"
    assert await stream_types(pool, d.id) == before + ["LinksIssued"] * 3, "six owners in batches of two"
    assert (await link_runs.run_state(pool, d.id)) == link_runs.RunState(False, False, name, "")


async def test_reissue_stops_the_old_link_and_offers_the_households_new_sheet(
        sign_in, open_deliberation, client, pool, logs) -> None:  # type: ignore[no-untyped-def]
    d = await open_deliberation(4)
    name = f"王主任-{uuid.uuid4().hex[:4]}"
    committee = await sign_in("committee", name=name)
    page = (await committee.get(f"/console/d/{d.id}/links")).text
    assert "表决范围内业主 4 户，已有有效投票链接 4 户" in page
    form = form_fields(page, "/links/reissue")
    before = await counts(pool, d.id)

    forged = await committee.post(f"/console/d/{d.id}/links/reissue", data={"owner_id": "o001"})
    assert forged.status_code == 403
    unknown = await committee.post(f"/console/d/{d.id}/links/reissue", data={**form, "owner_id": "o999"})
    assert unknown.status_code == 422 and "“o999”不是本事项表决范围内的业主编号或房号" in unknown.text
    assert await counts(pool, d.id) == before, "nothing revoked"
    assert (await client.get(d.path("o001"))).status_code == 200

    done = await committee.post(f"/console/d/{d.id}/links/reissue", data={**form, "owner_id": "o001"})
    assert done.status_code == 303 and done.headers["location"] == f"/console/d/{d.id}/links?reissued=o001"
    reissued = await last_event(pool, d.id)
    assert (reissued["type"], reissued["owner_id"], reissued["generation"], reissued["revoked_generation"]) == (
        "LinkReissued", "o001", 2, 1)
    assert (reissued["by"], reissued["via"]) == (name, "console")
    offered = await committee.get(done.headers["location"])
    assert "已为业主 o001 重新生成投票链接" in offered.text and "/v/" not in offered.text, "no token on a GET"
    assert await counts(pool, d.id) == (before[0] + 1, 1, before[2] + 1), "the page revoked and recorded nothing"
    sheet = await committee.post(f"/console/d/{d.id}/sheets", data=form_fields(offered.text, "/sheets"))
    assert sheet.status_code == 200 and sheet.headers["Cache-Control"] == "no-store"
    new_url = re.search(r'id="one-link">([^<]+)<', sheet.text).group(1)  # type: ignore[union-attr]
    assert decode_qr_codes(sheet.text) == [new_url], "one household's sheet, its new code"
    assert "第 2 版" in sheet.text and "此前的链接和通知单已失效" in sheet.text
    printed = await last_event(pool, d.id)
    assert (printed["type"], printed["format"], printed["owners"], printed["by"]) == (
        "LiveLinksDisclosed", "sheet", ["o001"], name)
    new_path = unquote(new_url.removeprefix(BASE_URL))
    assert (await client.get(d.path("o001"))).status_code == 410
    assert (await client.get(new_path)).status_code == 200
    assert (await client.get(d.path("o000"))).status_code == 200, "the others' links are untouched"
    async with pool.acquire() as conn:
        revoked_by = await conn.fetchval("SELECT revoked_by FROM links WHERE deliberation_id = $1 AND owner_id = "
                                         "'o001' AND generation = 1", d.id)
    assert revoked_by == name
    # A room number names its owner too.
    room = d.roll.rooms[2].room_id
    by_room = await committee.post(f"/console/d/{d.id}/links/reissue", data={**form, "owner_id": room.lower()})
    assert by_room.headers["location"].endswith("?reissued=o002")
    assert await counts(pool, d.id) == (before[0] + 2, 2, before[2] + 3)
    reissued_logs = [entry for entry in logs if entry["event"] == "console.link_reissued"]
    assert [(e["owner_id"], e["deliberation_id"]) for e in reissued_logs] == [("o001", d.id), ("o002", d.id)]
    assert new_path.rsplit("/", 1)[1] not in repr(logs)


async def test_only_the_committee_of_the_community(sign_in, open_deliberation, client, pool) -> None:  # type: ignore[no-untyped-def]
    d = await open_deliberation(2, community="幸福社区")
    before = await counts(pool, d.id)
    page = f"/console/d/{d.id}/links"
    posts = [f"/console/d/{d.id}/links", f"/console/d/{d.id}/links/reissue", f"/console/d/{d.id}/sheets",
             f"/console/d/{d.id}/links.csv"]
    refused = await client.get(page)
    assert refused.status_code == 303 and refused.headers["location"] == "/login"
    for path in posts:
        refused = await client.post(path, data={"owner_id": "o000"})
        assert refused.status_code in (303, 403) and "/v/" not in refused.text, path
    for role in ("grid_worker", "street_office", "auditor"):
        staff = await sign_in(role)
        form = console_form((await staff.get("/console")).text)
        assert (await staff.get(page)).status_code == 403, role
        for path in posts:
            assert (await staff.post(path, data={**form, "owner_id": "o000"})).status_code == 403, (role, path)
        if role == "auditor":
            assert "/links" not in (await staff.get(f"/console/d/{d.id}")).text
    outsider = await sign_in("committee", community=other_community())
    form = console_form((await outsider.get("/console")).text)
    hidden = await outsider.get(page)
    assert hidden.status_code == 404 and "页面不存在" in hidden.text and "/v/" not in hidden.text
    for path in posts:
        hidden = await outsider.post(path, data={**form, "owner_id": "o000"})
        assert hidden.status_code == 404 and "/v/" not in hidden.text, path
    assert await counts(pool, d.id) == before == (2, 0, before[2]), "nothing issued, revoked or shown"


async def test_before_the_vote_and_after_a_key_change(sign_in, open_deliberation, app, pool, store) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    pending = f"web-{uuid.uuid4().hex[:12]}"
    spec = DeliberationSpec(procedure="elevator", title="3栋加装电梯", rule_id="cc278-ordinary", scope=Scope(),
                            question=Question(text_zh="是否同意加装电梯？", text_en="Install an elevator?"),
                            opens_at=now + timedelta(days=10), closes_at=now + timedelta(days=20))
    await register(pool, pending, spec, await store_roll(pool, make_roll(2)))
    committee = await sign_in("committee")
    page = await committee.get(f"/console/d/{pending}/links")
    assert page.status_code == 200 and "投票开始后才能生成每户的投票链接" in page.text
    assert f'href="/console/d/{pending}/matter"' in page.text and "<form method=\"post\" action=\"/console/d/" \
        f"{pending}/links\"" not in page.text
    for path in ("sheets", "links.csv"):
        assert (await committee.post(f"/console/d/{pending}/{path}", data=console_form(page.text))).status_code == 409
    refused = await committee.post(f"/console/d/{pending}/links", data=console_form(page.text))
    assert refused.status_code == 409 and (await counts(pool, pending))[0] == 0

    d = await open_deliberation(2, links=False)
    await issue_links(store, d.id, d.owners, secret_key="a-key-this-installation-no-longer-has", now=now,
                      actor=Actor("test", "system"))
    before = await counts(pool, d.id)
    sheets = await committee.post(f"/console/d/{d.id}/sheets?lang=en", data=console_form(page.text))
    assert sheets.status_code == 409 and "Owner o000&#39;s link was issued under another secret key" in sheets.text
    assert await counts(pool, d.id) == before, "no link shown: no disclosure recorded"
    # Without YISHI_PUBLIC_BASE_URL the console uses its own address, and says so.
    app.state.settings = app.state.settings.model_copy(update={"public_base_url": ""})
    fresh = await open_deliberation(1)
    printed = await committee.post(f"/console/d/{fresh.id}/sheets", data=console_form(page.text))
    assert 'id="sheets-base-fallback"' in printed.text and "YISHI_PUBLIC_BASE_URL" in printed.text
    assert decode_qr_codes(printed.text) == [f"{BASE_URL}/v/{fresh.tokens['o000']}"]


async def test_sheets_are_chinese_unless_english_is_asked_and_warn_without_a_public_address(
        sign_in, open_deliberation, app) -> None:  # type: ignore[no-untyped-def]
    d = await open_deliberation(4)
    committee = await sign_in("committee")
    fields = console_form((await committee.get(f"/console/d/{d.id}/links")).text)
    chinese = await committee.post(f"/console/d/{d.id}/sheets", data=fields)
    assert "投票截止" in chinese.text and "Voting closes" not in chinese.text and "notice to owners" not in chinese.text
    assert "data-warning" not in chinese.text, "YISHI_PUBLIC_BASE_URL is set: no warning"
    toggle = re.search(r'<form method="post" action="([^"]+)" id="sheets-english-form">(.*?)</form>', chinese.text,
                       re.S)
    assert toggle and toggle.group(1) == f"/console/d/{d.id}/sheets" and "加印英文" in toggle.group(2)
    asked = dict(re.findall(r'name="([a-z]+)" value="([^"]*)"', toggle.group(2)))
    assert asked["english"] == "1" and "owner" not in asked
    both = await committee.post(toggle.group(1), data=asked)
    assert "Voting closes" in both.text and "notice to owners" in both.text and "投票截止" in both.text
    back = re.search(r'id="sheets-english-form">(.*?)</form>', both.text, re.S)
    assert back and "只印中文" in back.group(1) and 'name="english"' not in back.group(1)
    one = await committee.post(f"/console/d/{d.id}/sheets", data={**fields, "owner": "o001"})
    one_toggle = re.search(r'id="sheets-english-form">(.*?)</form>', one.text, re.S)
    assert one_toggle and 'name="owner" value="o001"' in one_toggle.group(1)

    for base, warning in (("", "unset"), ("http://127.0.0.1:8000", "local")):
        app.state.settings = app.state.settings.model_copy(update={"public_base_url": base})
        printed = await committee.post(f"/console/d/{d.id}/sheets", data=fields)
        sheets = printed.text.split("<section")[1:]
        assert sheets and all(f'data-warning="{warning}"' in sheet for sheet in sheets), warning
        assert ('id="sheets-base-local"' in printed.text) == (warning == "local")
    assert "请勿张贴" in printed.text and "http://127.0.0.1:8000/v/" in printed.text
    # The links page warns before anything is printed, in red, while the public address is the server itself.
    links = (await committee.get(f"/console/d/{d.id}/links")).text
    assert 'role="alert" id="links-base-local"' in links and "暂时不要打印或张贴通知单" in links
    app.state.settings = app.state.settings.model_copy(update={"public_base_url": "https://yishi.example.cn"})
    links = (await committee.get(f"/console/d/{d.id}/links")).text
    assert 'id="links-base-local"' not in links


@pytest.mark.browser
async def test_in_chromium_issue_print_and_reissue(browser, live_server, pool, open_deliberation,
                                                   artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import PASSWORD
    from tests.web.test_browser import assert_accessible, shot
    from yishi.services.accounts import add_account

    d = await open_deliberation(4, links=False)
    name = f"赵委员-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "committee", PASSWORD, community="幸福社区")
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    refused: list[str] = []  # a style the policy blocks is reported on the console
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    try:
        await page.goto(f"{live_server}/login")
        await page.get_by_label("账号").fill(name)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("heading", name="表决事项").wait_for()
        await page.goto(f"{live_server}/console/d/{d.id}")
        await page.get_by_role("link", name="投票链接与通知单（二维码）").click()
        blocker = await pool.acquire()  # holds the batches back, so the page is seen while the issuing goes on
        held = blocker.transaction()
        await held.start()
        await blocker.execute("LOCK TABLE links IN SHARE ROW EXCLUSIVE MODE")
        try:
            await page.get_by_role("button", name="生成投票链接").click()
            await page.locator("#links-issuing").wait_for()
            # It reloads itself (static/reload.js), with a button to pause that, and passes axe: no meta refresh.
            await page.get_by_role("button", name="暂停自动刷新").wait_for()
            assert not await page.get_by_role("link", name="刷新", exact=True).is_visible()
            await assert_accessible(page, "links page while issuing")
            await shot(page, artifacts_dir, "console-links-issuing-zh")
        finally:
            await held.rollback()
            await pool.release(blocker)
        await page.get_by_text("已有有效投票链接 4 户").wait_for(timeout=30_000)  # by its own reload
        assert await page.locator("[data-reload-every]").count() == 0
        await assert_accessible(page, "links page")
        await shot(page, artifacts_dir, "console-links-zh")

        await page.get_by_role("button", name="打印通知单（A4，按单元，含二维码）").click()
        await page.get_by_text("共 4 户的通知单").wait_for()
        width = await page.locator(".slip img").first.evaluate("img => getComputedStyle(img).width")
        assert abs(float(width.removesuffix("px")) - 32 / 25.4 * 96) < 1, width  # the sheets' own CSS: 32 mm
        await page.emulate_media(media="print")
        assert not await page.locator("#preface").is_visible(), "the console's note is not printed"
        await page.emulate_media(media="screen")
        await shot(page, artifacts_dir, "console-sheets-zh")

        await page.get_by_role("link", name="返回投票链接页面（生成或更换链接）").click()
        await page.get_by_label("业主编号或房号").fill("o003")
        await page.get_by_role("button", name="作废旧链接并重新生成").click()
        await page.get_by_role("button", name="打印业主 o003 的新通知单").click()
        await page.get_by_text("业主 o003 的投票链接（第 2 版）").wait_for()
        assert await page.locator(".slip").count() == 1
        assert refused == [], refused
    finally:
        await context.close()
