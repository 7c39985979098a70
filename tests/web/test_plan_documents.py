"""The matter's documents (issue 21, item 1): the committee attaches the plan and the cost table on the
deliberation's page before voting opens (type and size checked, kept by hash, a ``DocumentAttached`` event in the
deliberation's stream); the ballot lists them under the notice and serves them as files, never as pages."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from activities.eventstore import NewEvent
from domain.events import Question
from domain.roll import Scope
from domain.stage_events import DocumentAttached, ProcedureStarted, StageEntered, TaskOpened
from tests.web.test_ballot_facts import elevator_vote
from yishi.services.deliberations import DeliberationSpec, register, store_roll

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def new(*events) -> list[NewEvent]:  # type: ignore[no-untyped-def]
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at) for e in events]


async def attach_documents(store, pool, deliberation_id: str) -> None:  # type: ignore[no-untyped-def]
    """The plan (a PDF) and the cost table (a photo), as the committee's upload records them."""
    from yishi.services import attachments

    for kind, name, data in (("plan", "plan.pdf", PDF), ("cost_table", "费用表.png", PNG)):
        blob = attachments.check(name, data)
        await attachments.store(pool, blob)
        await store.append(deliberation_id, new(DocumentAttached(
            at=datetime.now(UTC), kind=kind, name=name, sha256=blob.sha256, bytes=len(data),  # type: ignore[arg-type]
            media_type=blob.media_type, by="张主任")))


def feasibility_task(at: datetime) -> TaskOpened:
    return TaskOpened(at=at, task_id="feasibility-1", kind="feasibility", stage="feasibility", roles=("street_office",),
                      outcomes=("feasible", "not_feasible"), title_zh="可行性论证", title_en="Feasibility check")


async def before_the_vote(pool, store, community: str = "幸福社区",  # type: ignore[no-untyped-def]
                          keep: dict | None = None, ready: bool = True, started: bool = True) -> str:
    """An elevator procedure in its feasibility stage: registered, its stream started, no vote yet (``keep`` gets
    the spec and the roll's digest, to open the vote later). ``ready``: the stage's task is open (else the stage was
    entered a moment ago and the matter page is still "preparing"); ``started``: else only registered, its stream not
    written yet (the matter page says "starting")."""
    from tests.web.conftest import make_roll

    now = datetime.now(UTC)
    deliberation_id = f"web-{uuid.uuid4().hex[:12]}"
    spec = DeliberationSpec(
        procedure="elevator", title="7栋加装电梯", rule_id="consent-2of3", scope=Scope(), details={},
        question=Question(text_zh="是否同意加装电梯？", text_en="Install an elevator?"), notice_zh="", notice_en="",
        opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(days=1), community=community)
    digest = await store_roll(pool, make_roll(4))
    if keep is not None:
        keep.update(spec=spec, digest=digest)
    await register(pool, deliberation_id, spec, digest)
    if not started:
        return deliberation_id
    await store.append(deliberation_id, new(
        ProcedureStarted(at=now, deliberation_id=deliberation_id, procedure="elevator", title="7栋加装电梯",
                         scope=Scope(), rule_id="consent-2of3", roll_digest=digest, periods={}, initiated_by="张主任",
                         initiator_role="committee"),
        StageEntered(at=now, stage="feasibility"), *([feasibility_task(now)] if ready else [])))
    return deliberation_id


async def test_the_committee_attaches_the_plan_before_voting(sign_in, store, pool) -> None:
    d = await before_the_vote(pool, store)
    committee = await sign_in("committee")
    page = await committee.get(f"/console/d/{d}/matter")
    assert page.status_code == 200 and "给业主看的文件" in page.text and "暂无文件" in page.text, page.text[-800:]
    form = {**dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page.text)), "deliberation": d}

    script = await committee.post("/console/documents", data={**form, "kind": "plan"},
                                  files={"document": ("plan.html", b"<script>alert(1)</script>", "application/pdf")})
    nothing = await committee.post("/console/documents", data={**form, "kind": "plan"})
    assert script.status_code == nothing.status_code == 422, script.text[-800:]
    assert "plan.html" in script.text and not [e for e in await store.read(d) if e.type == "DocumentAttached"]

    done = await committee.post("/console/documents", data={**form, "kind": "plan"},
                                files={"document": ("7栋电梯方案.pdf", PDF, "text/plain")})
    again = await committee.post("/console/documents", data={**form, "kind": "plan"},
                                 files={"document": ("copy.pdf", PDF, "application/pdf")})
    assert done.status_code == again.status_code == 303, done.text[-800:]
    (event,) = [e.payload for e in await store.read(d) if e.type == "DocumentAttached"]
    assert event["sha256"] == hashlib.sha256(PDF).hexdigest() and event["media_type"] == "application/pdf"
    assert event["name"] == "7栋电梯方案.pdf" and event["bytes"] == len(PDF) and event["kind"] == "plan"
    assert event["by"].startswith("committee-")
    after = (await committee.get(f"/console/d/{d}/matter")).text
    assert "7栋电梯方案.pdf" in after and "方案" in after
    served = await committee.get(f"/console/d/{d}/documents/{event['sha256']}")
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-type"] == "application/pdf" and "sandbox" in served.headers[
        "content-security-policy"] and served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("inline; filename*=UTF-8''7")

    elsewhere = await sign_in("committee", community="别的社区")
    hidden = await elsewhere.post("/console/documents", data={
        **dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', (await elsewhere.get("/console")).text)),
        "deliberation": d, "kind": "cost_table"}, files={"document": ("t.png", PNG, "image/png")})
    assert hidden.status_code == 404 and (await elsewhere.get(f"/console/d/{d}/documents/{event['sha256']}")
                                          ).status_code == 404


async def test_no_file_input_while_the_matter_page_reloads_itself(sign_in, store, pool) -> None:
    """Right after a start the page says "preparing" and reloads every 3 s: a file chosen there would be lost, so
    the form waits (a plain notice in its place) until the stage's task is open and the page stops reloading."""
    d = await before_the_vote(pool, store, ready=False)
    committee = await sign_in("committee")
    page = (await committee.get(f"/console/d/{d}/matter")).text
    assert "data-reload-every" in page and 'id="matter-preparing"' in page, page[-1500:]
    assert 'type="file"' not in page and 'id="documents-waiting"' in page and "正在准备…，完成后可上传方案文件" in page
    await store.append(d, new(feasibility_task(datetime.now(UTC))))
    ready = (await committee.get(f"/console/d/{d}/matter")).text
    assert "data-reload-every" not in ready and 'name="document"' in ready and 'id="documents-waiting"' not in ready


async def test_no_document_once_voting_has_opened(sign_in, store, pool, open_deliberation) -> None:
    d = await open_deliberation(2, community="幸福社区")
    committee = await sign_in("committee")
    form = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', (await committee.get("/console")).text))
    late = await committee.post("/console/documents", data={**form, "deliberation": d.id, "kind": "plan"},
                                files={"document": ("plan.pdf", PDF, "application/pdf")})
    assert late.status_code == 422 and "投票已经开始" in late.text, late.text[-800:]
    assert not [e for e in await store.read(d.id) if e.type == "DocumentAttached"]


async def test_the_ballot_lists_the_documents_under_the_notice(client, store, pool, open_deliberation) -> None:
    d = await elevator_vote(open_deliberation, store)
    await attach_documents(store, pool, d.id)
    page = (await client.get(d.path("o002"))).text
    links = re.findall(r'<a class="link-button" href="(/v/[^"]+/documents/[0-9a-f]{64})">([^<]+)</a>', page)
    assert [text for _, text in links] == ["方案", "费用分摊表"], page
    assert page.index('id="documents"') < page.index('id="rule"'), "under the notice"
    png = await client.get(links[1][0])
    assert png.status_code == 200 and png.content == PNG and png.headers["content-type"] == "image/png"
    other = await client.get(links[1][0].replace(hashlib.sha256(PNG).hexdigest(), hashlib.sha256(b"x").hexdigest()))
    assert other.status_code == 404


async def test_a_re_vote_ballot_lists_the_documents_of_its_deliberation(client, store, pool) -> None:
    """A re-vote's box has its own stream (``…~r2``); the plan attached to the deliberation before round 1 is still
    what the owners decide on: the re-vote's ballot lists it and the same personal link opens it."""
    from activities.box import BoxActivities
    from domain.procedures import round_stream
    from domain.stage_events import VoteRoundOpened
    from tests.web.conftest import give_links
    from yishi.i18n import translator
    from yishi.services.deliberations import box_params

    kept: dict = {}
    d = await before_the_vote(pool, store, keep=kept)
    await attach_documents(store, pool, d)
    spec, digest = kept["spec"], kept["digest"]
    await BoxActivities(store, pool).open_box(box_params(d, spec, digest).open)
    (token,) = [link.token for link in await give_links(store, d, ["o001"])]
    second = round_stream(d, 2)
    again = spec.model_copy(update={"closes_at": spec.closes_at + timedelta(days=9)})
    await BoxActivities(store, pool).open_box(box_params(second, again, digest).open)
    await store.append(d, new(VoteRoundOpened(at=datetime.now(UTC), round=2, box_stream=second, questions=("main",),
                                              closes_at=again.closes_at)))
    page = (await client.get(f"/v/{token}")).text
    assert f"投票截止：{translator('zh').when(again.closes_at)}" in page, "the re-vote's ballot"
    links = re.findall(r'<a class="link-button" href="(/v/[^"]+/documents/[0-9a-f]{64})">([^<]+)</a>', page)
    assert [text for _, text in links] == ["方案", "费用分摊表"], page
    plan = await client.get(links[0][0])
    assert plan.status_code == 200 and plan.content == PDF and plan.headers["content-type"] == "application/pdf"
    assert not [e for e in await store.read(second) if e.type == "DocumentAttached"], "kept in the deliberation's"


@pytest.mark.browser
async def test_in_chromium_the_committee_attaches_the_plan_and_the_owner_opens_it(
        browser, live_server, pool, store, open_deliberation, artifacts_dir: Path, tmp_path: Path) -> None:
    """A committee member on a laptop attaches the plan on the matter's page; an owner on a phone finds it under the
    notice of her ballot (44 px to tap) and opens it; both pages axe clean, screenshots kept."""
    from tests.web.conftest import PASSWORD
    from tests.web.test_browser import PHONE, assert_accessible, shot
    from tests.web.test_resident_phone import too_small
    from yishi.services.accounts import add_account

    kept: dict = {}
    d = await before_the_vote(pool, store, keep=kept, ready=False)
    name = f"孙委员-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "committee", PASSWORD, community="幸福社区")
    plan = tmp_path / "7栋电梯方案.pdf"
    plan.write_bytes(PDF)
    laptop = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await laptop.new_page()
    try:
        await page.goto(f"{live_server}/login")
        await page.get_by_label("账号").fill(name)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url("**/console")
        await page.goto(f"{live_server}/console/d/{d}/matter")
        # The stage was entered a moment ago and its task is not open yet: the page reloads itself, so it offers no
        # file to choose (a reload would drop it), only a plain notice.
        await page.locator("#matter-preparing").wait_for()
        assert await page.locator("[data-reload-every]").count() == 1
        assert await page.locator("input[type=file]").count() == 0
        assert "正在准备…，完成后可上传方案文件" in await page.locator("#documents-waiting").inner_text()
        # It reloads itself through static/reload.js (no meta refresh: axe's meta-refresh, WCAG 2.2.1), with a
        # button to pause it instead of the plain link a page without JavaScript shows.
        toggle = page.get_by_role("button", name="暂停自动刷新")
        await toggle.wait_for()
        assert not await page.get_by_role("link", name="刷新", exact=True).is_visible()
        assert (await toggle.bounding_box())["height"] >= 44
        await assert_accessible(page, "matter page while preparing")
        await shot(page, artifacts_dir, "committee-documents-preparing-zh")
        await store.append(d, new(feasibility_task(datetime.now(UTC))))  # what the workflow does next
        # The page's own reload (no reload here) brings the form, on a page that no longer reloads itself.
        await page.locator("input[type=file]").wait_for(timeout=15_000)
        assert await page.locator("[data-reload-every]").count() == 0
        await page.get_by_label("方案", exact=True).check()
        await page.get_by_label("文件（PDF 或照片，最大 5 MB）").set_input_files(str(plan))
        await page.get_by_role("button", name="添加文件").click()
        await page.locator("#documents [role=status]").wait_for()
        assert await page.get_by_role("link", name="7栋电梯方案.pdf").count() == 1
        await assert_accessible(page, "matter page with its documents")
        await shot(page, artifacts_dir, "committee-documents-zh")
    finally:
        await laptop.close()

    # Round 1 of the vote opens in the deliberation's own stream, after the document.
    from activities.box import BoxActivities
    from tests.web.conftest import give_links
    from yishi.services.deliberations import box_params

    await BoxActivities(store, pool).open_box(box_params(d, kept["spec"], kept["digest"]).open)
    (link_of_o001,) = [link.token for link in await give_links(store, d, ["o001"])]
    phone = await browser.new_context(**PHONE)
    page = await phone.new_page()
    try:
        await page.goto(f"{live_server}/v/{link_of_o001}")
        link = page.locator("#documents a")
        assert await link.inner_text() == "方案" and not await too_small(page)
        await assert_accessible(page, "ballot with its documents")
        await shot(page, artifacts_dir, "ballot-documents-phone-zh")
        answer = await page.request.get(live_server + (await link.get_attribute("href") or ""))
        assert answer.status == 200 and await answer.body() == PDF
    finally:
        await phone.close()
