"""Scenario 9: hostile files and slow bodies against the committee's roll upload (issue 17, items 2 and 4).

Against the web process of the stack (its resident memory read with psutil):

- a signed-in committee member uploads a zip-bomb XLSX (1.4 MB that unpacks to 310 MB, a million rows) while
  residents vote: it is refused in seconds with the message naming the limit, the web process does not grow, and
  every ballot gets its receipt with request times that stay short;
- a roll of 100,000 bad rows answers a page listing 50 problems and counting the rest;
- 40 outsiders start chunked uploads and stall, each offering 2 MiB more when no answer comes: each is answered
  (303 to the sign-in page) without its body being read, the connection closed, and the web process holds none
  of it;
- the member's own upload stalls after its first bytes: 408 after the idle timeout, the connection closed.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import timedelta
from typing import Any

import httpx
import psutil

from domain.events import Question
from domain.roll import Scope
from yishi.check.context import Run, estate, poll
from yishi.check.flood import CODE_RE, HIDDEN_RE, Voters, ballot_form
from yishi.check.hostile_files import (
    bad_rows_csv,
    first_answer_to_expect_continue,
    multipart,
    stalled_post,
    zip_bomb_xlsx,
)
from yishi.services.deliberations import DeliberationSpec, start_vote

MB = 1024 * 1024
STALLED = 40
RSS_BOUND_MB = 100  # the web process may not grow by more than this during either attack
P99_BOUND_S = 1.0  # a loose guard on a shared machine, not a benchmark


async def hostile_uploads(run: Run) -> None:
    assert run.stack.web is not None and run.stack.web.process is not None
    web = psutil.Process(run.stack.web.process.pid)
    voters = await _voters(run)
    committee = await _committee(run)
    try:
        await _bomb(run, web, committee, voters)
        await _bad_rows(run, committee)
        await _stalled_outsiders(run, web)
        await _stalled_member(run, committee)
    finally:
        await committee.aclose()
    await voters.verify(run, {owner: sorted(codes)[0] for owner, codes in voters.receipts.items()})


def _mb(web: psutil.Process) -> float:
    return web.memory_info().rss / MB


async def _voters(run: Run) -> Voters:
    roll = estate(200, building="6", prefix="B")
    now = run.now()
    spec = DeliberationSpec(procedure="consultation", title="名册上传期间的投票", rule_id="headcount-majority",
                            scope=Scope(), question=Question(text_zh="同意吗？", text_en="Agree?"),
                            opens_at=now, closes_at=now + timedelta(hours=1), ballots_changeable=True)
    did, _ = await start_vote(run.client, run.pool, roll, spec, task_queue=run.stack.task_queue)

    async def opened() -> bool:
        return any(e.type == "BoxOpened" for e in await run.store.read(did))

    await poll(opened, "the upload scenario's box", 60)
    return await Voters.issue(run, did, sorted({room.owner_id for room in roll.rooms}))


async def _committee(run: Run) -> httpx.AsyncClient:
    from yishi.services.accounts import add_account

    name, password = f"upload-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    await add_account(run.pool, name, "committee", password, community=run.community)
    client = httpx.AsyncClient(base_url=run.stack.web_url, timeout=120)
    hidden = dict(HIDDEN_RE.findall((await client.get("/login")).text))
    signed = await client.post("/login", data={**hidden, "name": name, "password": password})
    run.report.check(signed.status_code == 303, f"scenario 9: committee sign-in failed ({signed.status_code})")
    return client


async def _form(committee: httpx.AsyncClient) -> dict[str, str]:
    page = (await committee.get("/console/new")).text
    match = re.search(r'<form method="post" action="/console/new"[^>]*>(.*?)</form>', page, re.S)
    return {**dict(HIDDEN_RE.findall(match.group(1) if match else "")), "title": "上传演练", "proxy_limit": "3"}


async def _upload(committee: httpx.AsyncClient, roll: bytes, filename: str) -> httpx.Response:
    return await committee.post("/console/new", data=await _form(committee),
                                files={"roll": (filename, roll, "application/octet-stream")})


async def _ballots_while(run: Run, voters: Voters, job: asyncio.Task[Any]) -> list[float]:
    """Residents vote, one ballot each, until ``job`` is done: the seconds of every request."""
    loop = asyncio.get_running_loop()
    seconds: list[float] = []
    n = 0
    while n < len(voters.owners) and (not job.done() or n < 10):
        owner = voters.owners[n % len(voters.owners)]
        token = voters.tokens[owner]
        began = loop.time()
        page = await run.http.get(f"/v/{token}", headers=voters.headers(owner))
        seconds.append(loop.time() - began)
        form = ballot_form(page.text, token) if page.status_code == 200 else None
        if not run.report.check(form is not None, f"scenario 9: {owner}'s ballot page -> {page.status_code}"):
            break
        action = form.pop("_action")  # type: ignore[union-attr]
        began = loop.time()
        cast = await run.http.post(action, data={**form, "choice": ("for", "against")[n % 2]},  # type: ignore[dict-item]
                                   headers=voters.headers(owner))
        seconds.append(loop.time() - began)
        code = CODE_RE.search(cast.text) if cast.status_code == 200 else None
        if not run.report.check(code is not None, f"scenario 9: a ballot during the upload -> {cast.status_code}"):
            break
        voters.receipts[owner] = {code.group(1)}  # type: ignore[union-attr]
        n += 1
    return seconds


async def _bomb(run: Run, web: psutil.Process, committee: httpx.AsyncClient, voters: Voters) -> None:
    bomb = await asyncio.to_thread(zip_bomb_xlsx)
    before = peak = _mb(web)
    loop = asyncio.get_running_loop()
    began = loop.time()
    job = asyncio.create_task(_upload(committee, bomb, "bomb.xlsx"))

    async def sample() -> None:
        nonlocal peak
        while not job.done():
            peak = max(peak, _mb(web))
            await asyncio.sleep(0.05)

    seconds, _ = await asyncio.gather(_ballots_while(run, voters, job), sample())
    refused = await job
    took = loop.time() - began
    run.report.bad_inputs += 1
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    grew = peak - before
    run.report.scenarios["hostile_uploads"] = {"bomb_bytes": len(bomb), "bomb_refused_s": round(took, 2),
                                               "web_rss_growth_mb": round(grew, 1), "ballot_requests": len(seconds),
                                               "ballot_p99_s": round(p99, 3)}
    run.report.check(refused.status_code == 422 and "解压后" in refused.text and "超过上限" in refused.text,
                     f"scenario 9: the zip bomb -> {refused.status_code}, not the page naming the limit")
    run.report.check(took < 30, f"scenario 9: the zip bomb took {took:.1f}s to refuse")
    run.report.check(grew < RSS_BOUND_MB, f"scenario 9: the web process grew by {grew:.0f} MB during the bomb")
    run.report.check(p99 < P99_BOUND_S, f"scenario 9: ballot requests p99 {p99:.2f}s during the bomb")
    run.log(f"  zip bomb ({len(bomb) / MB:.1f} MB) refused in {took:.1f}s; web RSS +{grew:.0f} MB; "
            f"{len(seconds)} ballot requests meanwhile, p99 {p99 * 1000:.0f} ms")


async def _bad_rows(run: Run, committee: httpx.AsyncClient) -> None:
    page = await _upload(committee, bad_rows_csv(100_000), "bad-rows.csv")
    run.report.bad_inputs += 1
    run.report.scenarios["hostile_uploads"]["bad_rows_page_bytes"] = len(page.content)
    capped = "另有 99,950 处问题未列出" in page.text and len(page.content) < 100_000
    run.report.check(page.status_code == 422 and capped,
                     f"scenario 9: 100,000 bad rows -> {page.status_code}, {len(page.content):,} bytes")


async def _stalled_outsiders(run: Run, web: psutil.Process) -> None:
    before = _mb(web)
    first, then = b"x" * 32_768, b"x" * (2 * MB)
    answers = await asyncio.gather(*(stalled_post(run.stack.web_url, "/console/new", body=first, then=then, wait=5)
                                     for _ in range(STALLED)))
    grew = _mb(web) - before
    run.report.bad_inputs += STALLED
    statuses = sorted({a.status for a in answers}, key=str)
    slowest = max(a.seconds for a in answers)
    run.report.scenarios["hostile_uploads"].update(stalled_statuses=statuses, stalled_slowest_s=round(slowest, 2),
                                                   stalled_web_rss_growth_mb=round(grew, 1))
    # 303 to the sign-in page, or, the server closing on a client still sending, a reset that lost it: never held
    run.report.check(set(statuses) <= {303, None} and all(a.closed for a in answers) and slowest < 5,
                     f"scenario 9: stalled outsider uploads -> {statuses}, slowest {slowest:.1f}s")
    first = await first_answer_to_expect_continue(run.stack.web_url, "/console/new")
    run.report.bad_inputs += 1
    run.report.check(first == 303, f"scenario 9: an outsider's upload announced with Expect: 100-continue -> {first} "
                                   "first (100 would mean the server asked for the body)")
    run.report.check(grew < RSS_BOUND_MB / 2, f"scenario 9: 40 stalled uploads grew the web process by {grew:.0f} MB")
    run.log(f"  {STALLED} stalled outsider uploads: {statuses} within {slowest:.2f}s, web RSS +{grew:.0f} MB")


async def _stalled_member(run: Run, committee: httpx.AsyncClient) -> None:
    from yishi.web.staff import SESSION_COOKIE

    first = multipart(await _form(committee), "roll.csv", b"room_id")[:2000]
    idle = float(run.stack.env().get("YISHI_BODY_IDLE_TIMEOUT_S", "15"))
    answer = await stalled_post(run.stack.web_url, "/console/new", body=first, chunked=False,
                                content_length=1_000_000, wait=idle + 10,
                                headers={"Cookie": f"{SESSION_COOKIE}={committee.cookies[SESSION_COOKIE]}"})
    run.report.bad_inputs += 1
    run.report.scenarios["hostile_uploads"]["stalled_member_s"] = round(answer.seconds, 2)
    run.report.check(answer.status == 408 and answer.closed and answer.seconds < idle + 5,
                     f"scenario 9: a signed-in body that stalls -> {answer}")
