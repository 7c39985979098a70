"""Scenario 3: a flood of ballots over HTTP while PostgreSQL is restarted, and the books kept on every answer.

Each voter does what a phone does: open the personal link (GET), post the ballot form (POST). An answer is
classified honestly: a receipt (200 with a code), "please try again" (503 with the zh/en busy page and
``Retry-After``), a connection error or timeout, a refusal (4xx), or a server error (any other 5xx). A voter
who got no receipt posts the *same* form again, as a resident pressing the button again would; some voters
double-tap (the same form twice at once). Afterwards the stream is read: every receipt must name a ballot of
that owner in the stream, and no owner may have more than the one ballot they submitted.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from domain.ballots import CHOICES
from domain.events import Question
from domain.roll import Scope
from yishi.check.context import Run, estate, poll
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.link_issuing import Actor, issue_and_disclose
from yishi.services.voting import receipt_code

FORM_RE = re.compile(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', re.S)
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
CODE_RE = re.compile(r'id="receipt-code">([^<]+)<')
BUSY = "系统繁忙"  # the zh title of the "please try again" page (the page language defaults to zh)


@dataclass
class Voters:
    """The personal links of one deliberation and what every HTTP answer was."""

    deliberation_id: str
    tokens: dict[str, str]
    answers: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    receipts: dict[str, set[str]] = field(default_factory=dict)

    @property
    def owners(self) -> list[str]:
        return list(self.tokens)

    @classmethod
    async def issue(cls, run: Run, deliberation_id: str, owners: list[str]) -> Voters:
        links = await issue_and_disclose(run.store, deliberation_id, owners, secret_key=run.stack.secret_key,
                                         now=run.now(), actor=Actor("fault-suite", "system"), fmt="csv")
        return cls(deliberation_id, {link.owner_id: link.token for link in links})

    def headers(self, owner: str) -> dict[str, str]:
        # Residents come from many addresses; the suite speaks as the reverse proxy in front of the web app.
        n = self.owners.index(owner)
        return {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}

    def classify(self, response: httpx.Response | None, what: str) -> str:
        if response is None:
            kind = "connection_error"
        elif response.status_code == 503:
            proper = BUSY in response.text and "Retry-After" in response.headers and not CODE_RE.search(response.text)
            kind = "try_again" if proper else "bad_503"
        elif response.status_code >= 500:
            kind = "server_error"
        elif response.status_code == 200 and CODE_RE.search(response.text):
            kind = "receipt"
        else:
            kind = f"http_{response.status_code}"
        self.answers[f"{what}:{kind}"] += 1
        if kind in ("server_error", "bad_503"):
            assert response is not None
            self.server_errors.append(f"{what} -> {response.status_code}: {response.text[:200]}")
        return kind

    async def verify(self, run: Run, receipts: dict[str, str]) -> dict[str, int]:
        """Every receipt is a ballot of its owner in the stream; nobody has more than one ballot."""
        events = await run.store.read(self.deliberation_id)
        ballots = [e for e in events if e.type == "BallotCast"]
        per_owner = Counter(e.payload["owner_id"] for e in ballots)
        codes = {receipt_code(e.seq, e.hash): e.payload["owner_id"] for e in ballots}
        found = sum(1 for owner, code in receipts.items() if codes.get(code) == owner)
        duplicated = sum(n - 1 for n in per_owner.values() if n > 1)
        conflicting = sum(1 for codes_seen in self.receipts.values() if len(codes_seen) > 1)
        unreceipted = sorted(set(per_owner) - set(receipts))
        r = run.report
        r.accepted += len(receipts)
        r.found += found
        r.lost += len(receipts) - found
        r.duplicated += duplicated + conflicting
        r.server_errors += len(self.server_errors)
        r.check(not unreceipted, f"{self.deliberation_id}: ballots in the stream nobody got a receipt for: "
                                 f"{unreceipted[:5]}")
        return {"receipts": len(receipts), "found": found, "duplicated": duplicated + conflicting,
                "ballots_in_stream": len(ballots), "unreceipted": len(unreceipted)}


async def _request(run: Run, voters: Voters, method: str, url: str, owner: str, what: str,
                   data: dict[str, str] | None = None) -> tuple[str, httpx.Response | None]:
    try:
        response = await run.http.request(method, url, data=data, headers=voters.headers(owner))
    except httpx.TransportError:
        response = None
    return voters.classify(response, what), response


def ballot_form(html: str, token: str) -> dict[str, str] | None:
    for match in FORM_RE.finditer(html):
        if match.group(1).split("?")[0] == f"/v/{token}":
            return {**dict(HIDDEN_RE.findall(match.group(2))), "_action": match.group(1)}
    return None


async def cast_one(run: Run, voters: Voters, owner: str, choice: str, *, double_tap: bool = False,
                   patience: float = 60.0) -> str | None:
    """Open the link and post the ballot until a receipt comes back (or ``patience`` runs out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    token = voters.tokens[owner]
    form = None
    while form is None:
        kind, page = await _request(run, voters, "GET", f"/v/{token}", owner, "open")
        if kind in ("try_again", "connection_error") and loop.time() < deadline:
            await asyncio.sleep(0.3)
            continue
        form = ballot_form(page.text, token) if page is not None and page.status_code == 200 else None
        if form is None:
            return None
    action = form.pop("_action")
    data = {**form, "choice": choice}
    while True:
        posts = [_request(run, voters, "POST", action, owner, "cast", data)]
        if double_tap:
            posts.append(_request(run, voters, "POST", action, owner, "cast-again", data))
            double_tap = False
        answers = await asyncio.gather(*posts)
        codes = {CODE_RE.search(r.text).group(1) for k, r in answers if k == "receipt" and r is not None}  # type: ignore[union-attr]
        if codes:
            voters.receipts.setdefault(owner, set()).update(codes)
            return sorted(codes)[0]
        if not any(k in ("try_again", "connection_error") for k, _ in answers) or loop.time() > deadline:
            return None
        await asyncio.sleep(0.3)  # the page says Retry-After: 5; a resident is quicker, and so are we


async def postgres_flood(run: Run) -> None:
    """3. Many concurrent voters; PostgreSQL stopped and started again in the middle of it."""
    owners = 1500 if run.long else 240
    restarts = 2 if run.long else 1
    roll = estate(owners, building="7", prefix="P")
    now = run.now()
    spec = DeliberationSpec(procedure="consultation", title="故障演练：投票洪峰中重启数据库",
                            rule_id="headcount-majority", scope=Scope(), opens_at=now,
                            question=Question(text_zh="同意吗？", text_en="Agree?"), closes_at=now + timedelta(hours=2))
    did, handle = await start_vote(run.client, run.pool, roll, spec, task_queue=run.stack.task_queue,
                                   checkpoint_every=timedelta(seconds=5))
    await poll(lambda: _opened(run, did), "the flood's ballot box to open", 60)
    voters = await Voters.issue(run, did, [r.owner_id for r in roll.rooms])
    queue: asyncio.Queue[str] = asyncio.Queue()
    for owner in voters.owners:
        queue.put_nowait(owner)
    receipts: dict[str, str] = {}
    taps = 0

    async def client() -> None:
        nonlocal taps
        while not queue.empty():
            owner = queue.get_nowait()
            tap = voters.owners.index(owner) % 10 == 3
            taps += tap
            code = await cast_one(run, voters, owner, CHOICES[voters.owners.index(owner) % 3], double_tap=tap)
            if code:
                receipts[owner] = code

    clients = [asyncio.create_task(client()) for _ in range(24)]
    for n in range(restarts):
        target = owners * (n + 1) // (restarts + 2)
        while len(receipts) < target and not all(c.done() for c in clients):  # noqa: ASYNC110 - counts, no event
            await asyncio.sleep(0.05)
        at = len(receipts)
        await asyncio.to_thread(run.stack.stop_postgres)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(run.stack.start_postgres)
        run.report.faults += 1
        run.log(f"  PostgreSQL restarted after {at} receipts")
    await asyncio.gather(*clients)
    run.report.faults += taps
    busy = sum(n for k, n in voters.answers.items() if k.endswith(":try_again"))
    run.report.check(busy > 0, "scenario 3: no request met the outage (the restart came too late to test anything)")
    figures = await voters.verify(run, receipts)
    run.report.check(figures["receipts"] == owners, f"scenario 3: {owners - figures['receipts']} voters never got a "
                                                    "receipt after the database came back")
    await handle.terminate("fault suite done")
    run.report.scenarios["postgres_flood"] = {**figures, "owners": owners, "double_taps": taps,
                                              "restarts": restarts, "answers": dict(voters.answers)}
    run.log(f"  {figures['receipts']} receipts, {figures['found']} found once in the stream; {busy} 'please try "
            f"again' answers; {taps} double taps; answers: {dict(voters.answers)}")


async def _opened(run: Run, did: str) -> Any:
    return any(e.type == "BoxOpened" for e in await run.store.read(did))
