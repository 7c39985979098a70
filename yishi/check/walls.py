"""Scenario 6: hostile staff (issue 17 items 1, 7, 8). Staff accounts of another community, of a wrong
organisation, or of no community try to act on a community's deliberation and escalation tickets through the
web tier, the organisations' JSON API and Temporal directly; every attempt must be refused and write nothing.
No staff page may show a resident's capability link, and no page may link off the site.

Each attempt counts as one attack in the summary line (``attacks: N``); one that gets through, or
writes something, fails the run."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx

from activities.escalation import load_ticket
from domain.escalation import Ticket
from domain.events import Question
from domain.roll import Scope
from workflows.escalation import TicketAction
from yishi.check.context import Run, estate, poll
from yishi.check.flood import HIDDEN_RE as HIDDEN
from yishi.services.accounts import add_account
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.escalations import RefusedError, TicketRequest, act, issue_org_token, open_ticket, register_org

HOME, OTHER = "walls-home", "walls-other"  # default ladders: 24-hour deadlines, nothing moves while we attack
STREET = TicketAction(role="street_office", actor="walls-street", org="street")
TOKEN = re.compile(r"/[fv]/[A-Za-z0-9_-]{43}")
HOSTILE_PATHS = ("//evil.example/x", "/%2F%2Fevil.example/x", "/%5Cevil.example", "/%5C%5Cevil.example/x")
Staff = Callable[..., Awaitable[httpx.AsyncClient]]


@asynccontextmanager
async def staff_accounts(run: Run) -> AsyncIterator[Staff]:
    """Sign in fresh accounts, each from its own address (X-Forwarded-For from loopback, as behind the proxy)."""
    clients: list[httpx.AsyncClient] = []

    async def sign_in(role: str, community: str | None, organisation: str | None = None) -> httpx.AsyncClient:
        name, password = f"walls-{role}-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
        await add_account(run.pool, name, role, password, community=community, organisation=organisation)
        address = f"172.17.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
        client = httpx.AsyncClient(base_url=run.stack.web_url, timeout=20, headers={"X-Forwarded-For": address})
        clients.append(client)
        hidden = dict(HIDDEN.findall((await client.get("/login")).text))
        signed = await client.post("/login", data={**hidden, "name": name, "password": password})
        run.report.check(signed.status_code == 303, f"scenario 8: {role} sign-in failed ({signed.status_code})")
        return client

    try:
        yield sign_in
    finally:
        for client in clients:
            await client.aclose()


async def hostile_staff(run: Run) -> None:
    async with staff_accounts(run) as sign_in:
        outsider = await sign_in("committee", OTHER)
        await _deliberation(run, outsider)
        await _committee_ticket(run, sign_in, outsider)
        await _owner_ticket(run, sign_in, outsider)
        await _hostile_paths(run)


async def _facts(run: Run, stream: str) -> tuple[Any, ...]:
    facts = [(e.seq, e.hash) for e in await run.store.read(stream) if not e.type.startswith("Notice")]
    async with run.pool.acquire() as conn:
        links = await conn.fetch("SELECT owner_id, generation, revoked_at FROM links WHERE deliberation_id = $1"
                                 " ORDER BY 1, 2", stream)
    return tuple(facts), tuple(tuple(r) for r in links)


def _attack(run: Run, what: str, status: int, allowed: tuple[int, ...], harmless: bool) -> None:
    """Count one attack: refused when it got one of the ``allowed`` answers and did no harm (nothing written,
    nothing shown that it should not see)."""
    run.report.attacks += 1
    if status >= 500:
        run.report.server_errors += 1
    refused = status in allowed and harmless
    run.report.check(refused, f"scenario 8: {what}: answered {status} (expected {'/'.join(map(str, allowed))})"
                              f"{'' if harmless else ', and it did harm'}")


async def _post(run: Run, client: httpx.AsyncClient, path: str, data: dict[str, str], stream: str, what: str,
                allowed: tuple[int, ...] = (404,)) -> None:
    before = await _facts(run, stream)
    form = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', (await client.get("/console")).text))
    response = await client.post(path, data={**form, **data})
    _attack(run, what, response.status_code, allowed, await _facts(run, stream) == before)


async def _deliberation(run: Run, outsider: httpx.AsyncClient) -> None:
    roll = estate(4, prefix="W")
    now = run.now()
    spec = DeliberationSpec(procedure="consultation", title="围墙演练", rule_id="headcount-majority", scope=Scope(),
                            question=Question(text_zh="同意吗？", text_en="Agree?"), opens_at=now,
                            closes_at=now + timedelta(hours=1), community=HOME)
    did, _ = await start_vote(run.client, run.pool, roll, spec, task_queue=run.stack.task_queue)

    async def opened() -> bool:
        return any(e.type == "BoxOpened" for e in await run.store.read(did))

    await poll(opened, "the walled deliberation's box", 60)
    room = roll.rooms[0].room_id
    await _post(run, outsider, f"/console/d/{did}/paper", {"room": room, "paper_ref": "W-1", "choice": "for"}, did,
                "a committee of another community enters a paper ballot")
    await _post(run, outsider, f"/console/d/{did}/links", {}, did, "a committee of another community issues links")


async def _ticket(run: Run, ticket_id: str, check: Callable[[Ticket], bool], what: str) -> None:
    async def ready() -> bool:
        return check((await load_ticket(run.store, ticket_id))[0])

    await poll(ready, what, 60)


async def _open(run: Run, **fields: Any) -> str:
    request = TicketRequest(**{"community": HOME, "category": "housing", "subject": "围墙演练", "initiator": "业委会",
                               "start_level": "street", **fields})
    tid, _ = await open_ticket(run.client, request, task_queue=run.stack.task_queue)
    await _ticket(run, tid, lambda t: t.current is not None, "the ticket's assignment")
    return tid


async def _committee_ticket(run: Run, sign_in: Staff, outsider: httpx.AsyncClient) -> None:
    """The reported attack: committee B answers committee A's ticket (then would rate it)."""
    tid = await _open(run)
    await act(run.client, tid, "request_info", STREET.model_copy(update={"text": "请补充材料"}))
    await _ticket(run, tid, lambda t: t.status == "info_requested", "the request for information")
    path = f"/console/escalations/t/{tid}/act"
    await _post(run, outsider, path, {"action": "provide_info", "text": "x"}, tid,
                "a committee of another community answers a ticket")
    for role, org in (("street_office", "street:walls-other"), ("department", "dept:urban")):
        await _post(run, await sign_in(role, None, org), path, {"action": "acknowledge"}, tid,
                    f"{org} acknowledges a ticket it does not own")
    await _post(run, await sign_in("committee", None), path, {"action": "provide_info", "text": "x"}, tid,
                "a committee of no community answers another community's ticket", (409,))
    before = await _facts(run, tid)
    try:
        await act(run.client, tid, "provide_info", TicketAction(role="committee", actor="walls", text="x",
                                                                org=f"committee:{OTHER}"))
        status = 200
    except RefusedError:
        status = 409
    _attack(run, "another community's committee straight to the workflow", status, (409,),
            await _facts(run, tid) == before)
    org = f"dept:walls-{secrets.token_hex(3)}"
    await register_org(run.pool, org, role="department")
    token = await issue_org_token(run.pool, org)
    before = await _facts(run, tid)
    response = await run.http.post(f"/api/v1/escalations/{tid}/actions", json={"action": "acknowledge", "actor": "x"},
                                   headers={"Authorization": f"Bearer {token}"})
    _attack(run, "another organisation's system acts on a ticket", response.status_code, (404,),
            await _facts(run, tid) == before)


async def _owner_ticket(run: Run, sign_in: Staff, outsider: httpx.AsyncClient) -> None:
    """A resolved owner's ticket: no staff page shows the owner's link; another community cannot print it."""
    tid = await _open(run, initiator="W-owner", initiator_kind="owner")
    await act(run.client, tid, "resolve", STREET.model_copy(update={"outcome": "resolved", "text": "已办结"}))
    await _ticket(run, tid, lambda t: t.status == "resolved", "the resolution")
    await _post(run, outsider, f"/console/escalations/t/{tid}/slip", {}, tid,
                "a committee of another community prints an owner's link")
    for role, community, org in (("committee", HOME, None), ("street_office", None, None),
                                 ("auditor", None, None)):
        page = await (await sign_in(role, community, org)).get(f"/console/escalations/t/{tid}")
        _attack(run, f"the ticket page shows a {role} the owner's link", page.status_code, (200,),
                TOKEN.search(page.text) is None and "/f/" not in page.text)


async def _hostile_paths(run: Run) -> None:
    for path in HOSTILE_PATHS:
        response = await run.http.get(run.stack.web_url + path)
        switch = re.search(r'<a class="lang" href="([^"]*)"', response.text)
        href = switch.group(1) if switch else ""
        _attack(run, f"the page of {path} links off the site ({href})", response.status_code, (404,),
                bool(href) and not href.startswith(("//", "/\\")) and "evil.example" not in href)
