"""Scenario 5: bad input at every surface. Nothing may answer 5xx, nothing may be recorded by a refused request,
names are escaped on every page that shows them, and every CSV cell is safe to open in a spreadsheet."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import subprocess
import sys
from datetime import timedelta
from typing import Any

import httpx

from domain.errors import RollError
from domain.events import Question
from domain.roll import Scope
from domain.roll_parse import parse_roll
from yishi.check.context import Run, poll
from yishi.check.flood import HIDDEN_RE as HIDDEN
from yishi.check.flood import Voters, ballot_form, cast_one
from yishi.check.hostile_files import workbook, zip_bomb_xlsx
from yishi.services.csvsafe import FORMULA_PREFIXES
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.link_issuing import Actor, reissue_link

HEADER = "room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone\n"
SCRIPT = '<script>alert("yishi")</script>'
# Owners whose names and ids a spreadsheet would run as formulas, and one whose name is markup.
HOSTILE_ROLL = HEADER + "".join([
    f'9-1-101,9,1,1,88.5,H001,"{SCRIPT.replace(chr(34), chr(34) * 2)}",13800000001\n',
    '9-1-102,9,1,1,88.5,"=HYPERLINK(""http://x"")",=1+1,13800000002\n',
    "9-1-201,9,1,2,90,+H003,+86 138,13800000003\n",
    "9-1-202,9,1,2,90,-H004,-2+3,13800000004\n",
    "9-1-301,9,1,3,75,@H005,@SUM(A1),13800000005\n",
    '9-1-302,9,1,3,75,H006,"<img src=x onerror=alert(1)>",13800000006\n',
])
BAD_ROLLS: dict[str, bytes] = {
    "negative area": (HEADER + "9-1-101,9,1,1,-88.5,H001,甲,1\n").encode(),
    "zero area": (HEADER + "9-1-101,9,1,1,0,H001,甲,1\n").encode(),
    "area not a number": (HEADER + "9-1-101,9,1,1,八十,H001,甲,1\n").encode(),
    "overflowing area": (HEADER + "9-1-101,9,1,1,1e999999999,H001,甲,1\n").encode(),
    "duplicate room": (HEADER + "9-1-101,9,1,1,80,H001,甲,1\n9-1-101,9,1,1,80,H002,乙,1\n").encode(),
    "broken encoding": HEADER.encode() + b"9-1-101,9,1,1,80,H001,\xff\xfe\x81,1\n",
    "UTF-16 file": ("\ufeff" + HEADER + "9-1-101,9,1,1,80,H001,甲,1\n").encode("utf-16"),
    "NUL in a name": (HEADER + "9-1-101,9,1,1,80,H001,甲\x00乙,1\n").encode(),
    "oversized cell": (HEADER + "9-1-101,9,1,1,80,H001," + "甲" * 200_000 + ",1\n").encode(),
    "missing column": b"room_id,building,area_m2\n9-1-101,9,80\n",
    "empty file": b"",
    "damaged xlsx": b"PK\x03\x04 not really a workbook",
    "cell of 5,000 characters": (HEADER + "9-1-101,9,1,1,80,H001," + "甲" * 5_000 + ",1\n").encode(),
    "xlsx row beyond Excel's last": workbook(3, last_row_at=1_048_577),
    "xlsx zip bomb": zip_bomb_xlsx(200_000),
}
FILE_LEVEL = ("unreadable", "missing-columns", "unzipped-too-large", "part-too-large", "compression-ratio",
              "file-too-large")


async def bad_inputs(run: Run) -> None:
    did, voters = await _hostile_deliberation(run)
    await _forms(run, voters)
    await _tokens(run, voters)
    _rolls(run)
    receipts = await _names_and_csv(run, did, voters)
    receipts.update(await _api(run, voters))
    await voters.verify(run, receipts)


async def _hostile_deliberation(run: Run) -> tuple[str, Voters]:
    roll = parse_roll(HOSTILE_ROLL.encode(), "hostile.csv")
    now = run.now()
    spec = DeliberationSpec(procedure="consultation", title=f"恶意输入演练 {SCRIPT}", rule_id="headcount-majority",
                            scope=Scope(), question=Question(text_zh=f"同意吗？{SCRIPT}", text_en="Agree?"),
                            opens_at=now, closes_at=now + timedelta(hours=1))
    did, _ = await start_vote(run.client, run.pool, roll, spec, task_queue=run.stack.task_queue)
    await poll(lambda: _opened(run, did), "the hostile deliberation's box", 60)
    voters = await Voters.issue(run, did, sorted({r.owner_id for r in roll.rooms}))
    return did, voters


async def _opened(run: Run, did: str) -> bool:
    return any(e.type == "BoxOpened" for e in await run.store.read(did))


def _answer(run: Run, what: str, response: httpx.Response | None, allowed: tuple[int, ...]) -> None:
    run.report.bad_inputs += 1
    status = response.status_code if response is not None else 0
    if status >= 500:
        run.report.server_errors += 1
        run.report.failures.append(f"scenario 5: {what} -> {status}: {response.text[:200]}")  # type: ignore[union-attr]
    elif status not in allowed:
        run.report.failures.append(f"scenario 5: {what} -> {status}, expected one of {allowed}")


async def _send(run: Run, what: str, allowed: tuple[int, ...], method: str, url: str, **kwargs: Any) -> httpx.Response:
    headers = {"X-Forwarded-For": f"172.16.{secrets.randbelow(250)}.{secrets.randbelow(250)}",
               **kwargs.pop("headers", {})}
    try:
        response = await run.http.request(method, url, headers=headers, **kwargs)
    except httpx.TransportError:
        response = None
    _answer(run, what, response, allowed)
    return response  # type: ignore[return-value]


async def _forms(run: Run, voters: Voters) -> None:
    owner = voters.owners[0]
    token = voters.tokens[owner]
    page = await run.http.get(f"/v/{token}", headers=voters.headers(owner))
    form = ballot_form(page.text, token)
    assert form is not None, "the hostile deliberation's ballot page has no form"
    url = form.pop("_action")
    good = {**form, "choice": "for"}
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    cases: list[tuple[str, tuple[int, ...], dict[str, Any]]] = [
        ("form as JSON", (422,), {"json": good}),
        ("form as multipart", (422,), {"files": {"f": ("a.txt", b"x")}, "data": good}),
        ("form with bad UTF-8", (422,), {"content": b"nonce=\xff\xfe&csrf=\x80&choice=for", "headers": form_type}),
        ("form field repeated", (422,), {"content": f"nonce={form['nonce']}&csrf={form['csrf']}&choice=for"
                                                    "&choice=against".encode(), "headers": form_type}),
        ("form without CSRF", (422,), {"data": {"nonce": form["nonce"], "choice": "for"}}),
        ("form with a forged CSRF", (403,), {"data": {**good, "csrf": "0" * 32}}),
        ("form with an unknown choice", (422,), {"data": {**good, "choice": "maybe"}}),
        ("form with NUL in the choice", (422,), {"data": {**good, "choice": "for\x00"}}),
        ("form voting for another owner", (403, 422), {"data": {**good, "for_owner": voters.owners[1]}}),
        ("form of 1 MiB", (413,), {"data": {**good, "pad": "x" * (1 << 20)}}),
        ("form of 100k fields", (413, 422), {"content": "&".join(f"f{i}=1" for i in range(100_000)).encode(),
                                             "headers": form_type}),
        ("chunked form of 1 MiB", (413,), {"content": _chunks(1 << 20), "headers": form_type}),
        ("chunked small garbage", (422,), {"content": _chunks(300), "headers": form_type}),
    ]
    for what, allowed, kwargs in cases:
        await _send(run, what, allowed, "POST", url, **kwargs)
    for path in (f"/v/{token}/proxy", f"/v/{token}/proxy/revoke", "/login", "/console/d/x/paper"):
        await _send(run, f"1 MiB post to {path}", (413,), "POST", path, data={"pad": "x" * (1 << 20)})
        await _send(run, f"garbage post to {path}", (303, 403, 422), "POST", path, content=b"\xff" * 64,
                    headers=form_type)
    events = await run.store.read(voters.deliberation_id)
    run.report.check(not any(e.type == "BallotCast" for e in events), "scenario 5: a refused form recorded a ballot")


async def _chunks(total: int) -> Any:
    sent = 0
    while sent < total:
        size = min(16 * 1024, total - sent)
        sent += size
        yield b"x" * size


async def _tokens(run: Run, voters: Voters) -> None:
    forged = secrets.token_urlsafe(32)
    cases = [("forged token", forged, (403, 429)), ("short token", "abc", (403, 429)),
             ("token with NUL", "a%00" * 11, (403, 404, 429)), ("10 kB token", "A" * 10_000, (403, 404, 414, 429)),
             ("token in another alphabet", "令" * 43, (403, 429))]
    for what, token, allowed in cases:
        await _send(run, f"GET {what}", allowed, "GET", f"/v/{token}")
        await _send(run, f"POST {what}", allowed, "POST", f"/v/{token}", data={"nonce": "n", "csrf": "c"})
    owner = voters.owners[-1]
    old = voters.tokens[owner]
    await reissue_link(run.store, voters.deliberation_id, owner, secret_key=run.stack.secret_key, now=run.now(),
                       actor=Actor("fault-suite", "system"))
    await _send(run, "GET revoked token", (410,), "GET", f"/v/{old}")
    await _send(run, "POST revoked token", (410,), "POST", f"/v/{old}", data={"nonce": "n", "csrf": "c"})
    sealed: Voters | None = run.shared.get("sealed_voters")
    if sealed is not None:  # scenario 2's box is sealed: its links have expired with it
        expired = sealed.owners[-1]
        # After the seal the link shows her vote and the result (issue 21 item 2), and never a ballot form.
        page = await _send(run, "GET expired link", (200,), "GET", f"/v/{sealed.tokens[expired]}",
                           headers=sealed.headers(expired))
        run.report.check(page is None or ballot_form(page.text, sealed.tokens[expired]) is None,
                         "scenario 5: the link of a sealed box still offers a ballot form")
        await _send(run, "API ballot on an expired link", (410,), "POST", "/api/v1/ballots",
                    json={"token": sealed.tokens[expired], "choice": "for", "submission_id": "expired-0001"})


def _rolls(run: Run) -> None:
    for what, data in BAD_ROLLS.items():
        run.report.bad_inputs += 1
        filename = "roll.xlsx" if "xlsx" in what else "roll.csv"
        try:
            parse_roll(data, filename)
        except RollError as exc:
            named = all(issue.row is not None or issue.code in FILE_LEVEL for issue in exc.issues)
            run.report.check(named, f"scenario 5: roll with {what}: an issue names no row: {exc.issues}")
        except Exception as exc:
            run.report.server_errors += 1
            run.report.failures.append(f"scenario 5: roll with {what} crashed the import: {exc!r}")
        else:
            run.report.failures.append(f"scenario 5: roll with {what} was accepted")


async def _names_and_csv(run: Run, did: str, voters: Voters) -> dict[str, str]:
    owner = voters.owners[0]
    code = await cast_one(run, voters, owner, "for")
    receipt = await run.http.get(f"/receipt?code={code}")
    pages = {"ballot page": (await run.http.get(f"/v/{voters.tokens[owner]}", headers=voters.headers(owner))).text,
             "receipt check": receipt.text}
    pages.update(await _console_pages(run, did))
    env = run.stack.env()
    for fmt in ("html", "csv"):
        command = [sys.executable, "-m", "yishi.cli", "links", did, "--format", fmt]
        out = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)
        run.report.check(out.returncode == 0, f"scenario 5: yishi links --format {fmt} failed: {out.stderr[-300:]}")
        pages[f"yishi links --format {fmt}"] = out.stdout
    for name, html in pages.items():
        run.report.bad_inputs += 1
        run.report.check("<script>alert" not in html and "<img src=x" not in html,
                         f"scenario 5: owner-supplied markup reached {name} unescaped")
    run.report.check("&lt;script&gt;" in pages["console non-voters"], "scenario 5: the names are not shown escaped")
    rows = list(csv.reader(io.StringIO(pages["yishi links --format csv"])))
    hot = [cell for row in rows for cell in row if cell.startswith(FORMULA_PREFIXES)]
    run.report.bad_inputs += 1
    run.report.check(len(rows) == 1 + len(voters.owners) and not hot,
                     f"scenario 5: CSV cells a spreadsheet would run as formulas: {hot[:3]}")
    run.report.check(any(row[0] == "'=HYPERLINK(\"http://x\")" for row in rows), "scenario 5: CSV ids were altered")
    return {owner: code} if code else {}


async def _console_pages(run: Run, did: str) -> dict[str, str]:
    from yishi.services.accounts import add_account

    name, password = f"faults-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    await add_account(run.pool, name, "committee", password, community=run.community)
    async with httpx.AsyncClient(base_url=run.stack.web_url, timeout=20) as staff:
        page = await staff.get("/login")
        hidden = dict(HIDDEN.findall(page.text))
        signed = await staff.post("/login", data={**hidden, "name": name, "password": password})
        run.report.check(signed.status_code == 303, f"scenario 5: committee sign-in failed ({signed.status_code})")
        return {title: (await staff.get(path)).text for title, path in (
            ("console list", "/console"), ("console progress", f"/console/d/{did}"),
            ("console non-voters", f"/console/d/{did}/non-voters"), ("console paper", f"/console/d/{did}/paper"))}


async def _api(run: Run, voters: Voters) -> dict[str, str]:
    from yishi.check.apifuzz import fuzz_api

    owner = voters.owners[1]
    body = {"token": voters.tokens[owner], "choice": "against", "submission_id": "fault-suite-api-1"}
    first = await _send(run, "API ballot", (200,), "POST", "/api/v1/ballots", json=body)
    again = await _send(run, "API ballot sent twice", (200,), "POST", "/api/v1/ballots", json=body)
    codes = {r.json().get("code") for r in (first, again) if r is not None and r.status_code == 200}
    run.report.check(len(codes) == 1, f"scenario 5: the same API submission got different receipts: {codes}")
    receipts = {owner: codes.pop()} if len(codes) == 1 else {}
    requests, errors = await fuzz_api(run)
    run.report.bad_inputs += requests
    run.report.server_errors += len(errors)
    run.report.check(not errors, f"scenario 5: the API answered 5xx: {errors[:3]}")
    run.log(f"  schemathesis: {requests} generated requests against the JSON API, {len(errors)} server errors")
    return receipts


