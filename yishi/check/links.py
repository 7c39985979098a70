"""Scenario 6: a committee member who wants to vote as other owners (issue 17, item 6), against the running stack.

A personal link votes as its owner, and the committee is who hands the links out. The member tries what a hostile
one would: take the live links without a trace (a GET that a link preview or a script can fire; a forged form), take
them openly (the CSV; a reissued household's new sheet, then vote with it), and, as an operator with the database,
write a link behind the chain's back. Each attempt is counted in the summary line (``attacks``); each must end in
a refusal that records nothing, or in events of the deliberation's stream that name the member and the households
(token hashes, never a token), a ballot that records its link's generation, the owner's own page saying who
reissued their link, and ``yishi audit verify`` listing the ballot, or failing its ``links`` check.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import timedelta
from typing import Any

import httpx

from domain.events import Question
from domain.roll import Scope
from yishi.check.context import Run, estate, poll
from yishi.check.flood import HIDDEN_RE, Voters, cast_one
from yishi.services.audit import verify
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.links import derive_token, new_row, token_hash

TOKEN_RE = re.compile(r"/v/([A-Za-z0-9_-]{43})")
SCENARIO = "scenario 7"


async def staff_and_links(run: Run) -> None:
    """6. The committee's ways to a live link, each refused or recorded; the audit lists or catches each ballot."""
    did, owners = await _deliberation(run)
    name, staff = await _committee(run)
    found: dict[str, Any] = {"deliberation": did}
    try:
        await staff.post(f"/console/d/{did}/links", data=_form((await staff.get(f"/console/d/{did}/links")).text))
        await _untraced_takes(run, staff, did, owners[0])
        tokens = await _issue_and_download(run, staff, did, name, owners)
        voters = Voters(did, tokens)
        found["reissued_owner"] = await _reissue_and_vote(run, staff, did, name, voters)
    finally:
        await staff.aclose()
    events = await run.store.read(did)
    text = "\n".join(str(e.payload) for e in events)
    run.report.check(not [t for t in voters.tokens.values() if t in text],
                     f"{SCENARIO}: a live token is written in the stream")
    report = await verify(did, pool=run.pool, client=run.client)
    listed = report.links.get("reissued_ballots", [])
    run.report.check([(b["owner_id"], b["reissued_by"]) for b in listed] == [(found["reissued_owner"], name)],
                     f"{SCENARIO}: the audit does not list the ballot through the reissued link: {listed}")
    found["detected_behind_the_chain"] = await _behind_the_chain(run, did, voters)
    found["link_events"] = sum(e.type in ("LinksIssued", "LinkReissued", "LiveLinksDisclosed") for e in events)
    run.report.scenarios["staff_links"] = found


async def _deliberation(run: Run) -> tuple[str, list[str]]:
    roll = estate(6, building="8", prefix="L")
    now = run.now()
    spec = DeliberationSpec(procedure="consultation", title="故障演练：工作人员与投票链接", community=run.community,
                            rule_id="headcount-majority", scope=Scope(), opens_at=now,
                            closes_at=now + timedelta(hours=1), question=Question(text_zh="同意吗？", text_en="Agree?"))
    did, _ = await start_vote(run.client, run.pool, roll, spec, task_queue=run.stack.task_queue)
    await poll(lambda: _opened(run, did), "scenario 7's ballot box to open", 60)
    return did, sorted({r.owner_id for r in roll.rooms})


async def _opened(run: Run, did: str) -> bool:
    return any(e.type == "BoxOpened" for e in await run.store.read(did))


async def _committee(run: Run) -> tuple[str, httpx.AsyncClient]:
    from yishi.services.accounts import add_account

    name, password = f"委员-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    await add_account(run.pool, name, "committee", password, community=run.community)
    staff = httpx.AsyncClient(base_url=run.stack.web_url, timeout=20)
    page = await staff.get("/login")
    signed = await staff.post("/login", data={**dict(HIDDEN_RE.findall(page.text)), "name": name,
                                              "password": password})
    run.report.check(signed.status_code == 303, f"{SCENARIO}: committee sign-in failed ({signed.status_code})")
    return name, staff


def _form(html: str) -> dict[str, str]:
    return {k: v for k, v in HIDDEN_RE.findall(html) if k in ("nonce", "csrf")}


async def _untraced_takes(run: Run, staff: httpx.AsyncClient, did: str, owner: str) -> None:
    """A GET (a preview, a script in another tab) and a form without its CSRF field: refused, nothing recorded."""
    head = await run.store.head(did)
    attempts = (("GET", "links.csv", None), ("GET", "sheets", None), ("GET", f"sheets?owner={owner}", None),
                ("POST", "links.csv", {}), ("POST", "sheets", {"owner": owner}))
    for method, path, data in attempts:
        run.report.attacks += 1
        answer = await staff.request(method, f"/console/d/{did}/{path}", data=data)
        run.report.check(answer.status_code in (403, 405) and not TOKEN_RE.search(answer.text),
                         f"{SCENARIO}: {method} {path} without a form answered {answer.status_code} with links")
    run.report.check(await run.store.head(did) == head, f"{SCENARIO}: a refused request changed the stream")


async def _issue_and_download(run: Run, staff: httpx.AsyncClient, did: str, name: str,
                              owners: list[str]) -> dict[str, str]:
    """The CSV taken openly: its download is in the stream (member, households) before the file arrives."""
    run.report.attacks += 1
    issued = [e for e in await run.store.read(did) if e.type == "LinksIssued"]
    hashes = {x["owner_id"]: x["token_hash"] for e in issued for x in e.payload["links"]}
    run.report.check(sorted(hashes) == owners and {e.payload["by"] for e in issued} == {name},
                     f"{SCENARIO}: issuing is not recorded with the member's name: {issued}")
    page = await staff.get(f"/console/d/{did}/links")
    download = await staff.post(f"/console/d/{did}/links.csv", data=_form(page.text))
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))[1:]
    tokens = {row[0]: TOKEN_RE.findall(row[2])[0] for row in rows if len(row) == 3 and TOKEN_RE.search(row[2])}
    last = (await run.store.read(did))[-1]
    run.report.check(last.type == "LiveLinksDisclosed" and last.payload["by"] == name
                     and sorted(last.payload["owners"]) == owners and last.payload["format"] == "csv",
                     f"{SCENARIO}: the CSV download is not recorded: {last.type} {last.payload}")
    run.report.check({o: token_hash(t) for o, t in tokens.items()} == hashes,
                     f"{SCENARIO}: the downloaded links are not the ones recorded as issued")
    return tokens


async def _reissue_and_vote(run: Run, staff: httpx.AsyncClient, did: str, name: str, voters: Voters) -> str:
    """Reissue a household's link, print its sheet, vote with it: every step in the stream, the owner told."""
    run.report.attacks += 1
    owner = voters.owners[1]
    page = await staff.get(f"/console/d/{did}/links")
    done = await staff.post(f"/console/d/{did}/links/reissue", data={**_form(page.text), "owner_id": owner})
    offered = await staff.get(done.headers.get("location", f"/console/d/{did}/links"))
    sheet = await staff.post(f"/console/d/{did}/sheets", data={**_form(offered.text), "owner": owner})
    found = TOKEN_RE.findall(sheet.text)
    run.report.check(bool(found), f"{SCENARIO}: the reissued household's sheet has no link ({sheet.status_code})")
    if not found:
        return owner
    voters.tokens[owner] = found[0]
    kinds = [(e.type, e.payload.get("by"), e.payload.get("owner_id") or e.payload.get("owners"))
             for e in (await run.store.read(did))[-2:]]
    run.report.check(kinds == [("LinkReissued", name, owner), ("LiveLinksDisclosed", name, [owner])],
                     f"{SCENARIO}: the reissue and the reprint are not recorded: {kinds}")
    code = await cast_one(run, voters, owner, "for")
    ballot = next((e for e in reversed(await run.store.read(did)) if e.type == "BallotCast"), None)
    run.report.check(code is not None and ballot is not None and ballot.payload.get("link_generation") == 2,
                     f"{SCENARIO}: the ballot does not record its reissued link: {ballot and ballot.payload}")
    own_page = await run.http.get(f"/v/{found[0]}", headers=voters.headers(owner))
    run.report.check(f"由 业委会 {name} 重新发放" in own_page.text,
                     f"{SCENARIO}: the owner's page does not say who reissued the link")
    return owner


async def _behind_the_chain(run: Run, did: str, voters: Voters) -> bool:
    """The operator writes a live link straight into the table and votes with it: the audit names that ballot."""
    run.report.attacks += 1
    owner = voters.owners[2]
    nonce, digest = new_row(run.stack.secret_key, did, owner, 5)
    async with run.pool.acquire() as conn:
        await conn.execute("UPDATE links SET revoked_at = now() WHERE deliberation_id = $1 AND owner_id = $2"
                           " AND revoked_at IS NULL", did, owner)
        await conn.execute("INSERT INTO links (deliberation_id, owner_id, generation, nonce, token_hash, issued_at)"
                           " VALUES ($1, $2, 5, $3, $4, now())", did, owner, nonce, digest)
    voters.tokens[owner] = derive_token(run.stack.secret_key, did, owner, 5, nonce)
    await cast_one(run, voters, owner, "against")
    report = await verify(did, pool=run.pool, client=run.client)
    failed = [c for c in report.checks if not c.ok]
    detected = [c.name for c in failed] == ["links"] and f"owner {owner}" in failed[0].detail
    run.report.check(detected, f"{SCENARIO}: a link written behind the chain is not caught: {failed}")
    return detected
