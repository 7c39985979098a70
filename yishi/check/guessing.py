"""Scenario 6: one shared address under attack (the reverse proxy, a carrier NAT).

Everything is sent to the suite's own web process on loopback, the shared address simulated with
``X-Forwarded-For`` as the reverse proxy in front of the app would write it (loopback is a trusted proxy by
default). An attacker behind the same address as the residents guesses personal links and receipt codes past
the address's budget, then a resident at that address opens their link, votes and checks their receipt: all
must work. Sign-in: wrong passwords for a committee account from ten addresses, then the right password from
another; the name spelled with spaces and full-width letters must share the count of the plain name;
successful sign-ins never count. And HTTPS as the proxy reports it: cookies Secure, HSTS sent.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import httpx

from domain.events import Question
from domain.roll import Scope
from yishi.check.context import Run, estate, poll
from yishi.check.flood import HIDDEN_RE, Voters, cast_one
from yishi.services.deliberations import DeliberationSpec, start_vote

NAT = "100.64.7.9"  # carrier-grade NAT space: the attacker and the residents behind it
GUESSES = 40  # past the per-address budget of misses (30 per 10 minutes)


class SharedAddressVoters(Voters):
    def headers(self, owner: str) -> dict[str, str]:
        return {"X-Forwarded-For": NAT}


async def shared_address(run: Run) -> None:
    """6. Guesses and sign-in attacks from one shared address never lock the real user out."""
    voters, handle = await _deliberation(run)
    figures: dict[str, Any] = {}
    figures["link_guesses"] = await _guess_links(run, voters)
    code = await cast_one(run, voters, voters.owners[0], "for")
    run.report.check(code is not None, "scenario 6: a resident behind the guessing address got no receipt")
    figures["receipt_guesses"] = await _guess_receipts(run, code)
    receipts = {voters.owners[0]: code} if code else {}
    figures.update(await voters.verify(run, receipts))
    figures["sign_in"] = await _sign_in_attacks(run)
    figures["https"] = await _https_from_the_proxy(run)
    server_errors = figures["link_guesses"].get("5xx", 0) + figures["receipt_guesses"].get("5xx", 0)
    run.report.server_errors += server_errors
    await handle.terminate("fault suite done")
    run.report.scenarios["shared_address"] = figures
    run.log(f"  {figures['link_guesses']} link guesses, {figures['receipt_guesses']} receipt guesses from {NAT}; "
            f"the resident there voted and checked the receipt; sign-in: {figures['sign_in']}")


async def _deliberation(run: Run) -> tuple[SharedAddressVoters, Any]:
    roll = estate(3, building="8", prefix="N")
    now = run.now()
    spec = DeliberationSpec(procedure="consultation", title="故障演练：同一出口地址的猜测",
                            rule_id="headcount-majority", scope=Scope(), opens_at=now,
                            question=Question(text_zh="同意吗？", text_en="Agree?"), closes_at=now + timedelta(hours=1))
    did, handle = await start_vote(run.client, run.pool, roll, spec, task_queue=run.stack.task_queue)
    await poll(lambda: _opened(run, did), "scenario 6's ballot box to open", 60)
    issued = await Voters.issue(run, did, [r.owner_id for r in roll.rooms])
    return SharedAddressVoters(did, issued.tokens), handle


async def _opened(run: Run, did: str) -> bool:
    return any(e.type == "BoxOpened" for e in await run.store.read(did))


def _tally(counts: dict[str, int], status: int) -> None:
    key = "5xx" if status >= 500 else str(status)
    counts[key] = counts.get(key, 0) + 1


async def _guess_links(run: Run, voters: Voters) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _ in range(GUESSES):
        response = await run.http.get(f"/v/{secrets.token_urlsafe(32)}", headers={"X-Forwarded-For": NAT})
        _tally(counts, response.status_code)
    run.report.attacks += GUESSES
    run.report.check(counts.get("429", 0) > 0, f"scenario 6: {GUESSES} unknown links were never slowed: {counts}")
    run.report.check(set(counts) <= {"403", "429"}, f"scenario 6: unknown links answered {counts}")
    resident = voters.owners[1]
    page = await run.http.get(f"/v/{voters.tokens[resident]}", headers={"X-Forwarded-For": NAT})
    run.report.check(page.status_code == 200, f"scenario 6: a resident's valid link behind the guessing address "
                                              f"answered {page.status_code}")
    return counts


async def _guess_receipts(run: Run, code: str | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    seq = (code or "1-").split("-")[0]
    for n in range(GUESSES):
        response = await run.http.get("/receipt", params={"code": f"{seq}-{n:05X}-{secrets.token_hex(3)[:5]}"},
                                      headers={"X-Forwarded-For": NAT})
        _tally(counts, response.status_code)
    run.report.attacks += GUESSES
    run.report.check(counts.get("429", 0) > 0, f"scenario 6: {GUESSES} mistyped receipt codes were never slowed")
    if code:
        page = await run.http.get("/receipt", params={"code": code}, headers={"X-Forwarded-For": NAT})
        run.report.check(page.status_code == 200, f"scenario 6: a valid receipt code behind the guessing address "
                                                  f"answered {page.status_code}")
        api = await run.http.get(f"/api/v1/receipts/{code}", headers={"X-Forwarded-For": NAT})
        run.report.check(api.status_code == 200, f"scenario 6: the API's receipt check answered {api.status_code}")
    return counts


async def _sign_in(run: Run, name: str, password: str, address: str) -> int:
    headers = {"X-Forwarded-For": address}
    async with httpx.AsyncClient(base_url=run.stack.web_url, timeout=20) as browser:
        page = await browser.get("/login", headers=headers)
        form = dict(HIDDEN_RE.findall(page.text))
        response = await browser.post("/login", data={**form, "name": name, "password": password}, headers=headers)
    return response.status_code


async def _sign_in_attacks(run: Run) -> dict[str, Any]:
    from yishi.services.accounts import add_account

    name, password = f"gridA-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    await add_account(run.pool, name, "committee", password, community=run.community, by="fault-suite")
    wrong = [await _sign_in(run, name, "not the password", f"198.18.6.{n}") for n in range(10)]
    right = await _sign_in(run, name, password, "198.18.7.1")
    run.report.check(right == 303, f"scenario 6: 10 wrong passwords from 10 addresses refused the right one ({right})")
    # Five failures from one address, then each further one after its wait has passed (1, 2, 4 s), spelled in
    # full-width letters: if the spellings shared no count, none of this would slow the last attempt down.
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in name)
    for pause in (0, 0, 0, 0, 0, 1.1, 2.1, 4.1):
        await asyncio.sleep(pause)
        wrong.append(await _sign_in(run, wide if pause else name, "not the password", "198.18.6.200"))
    run.report.check(set(wrong) == {401}, f"scenario 6: wrong passwords answered {wrong}")
    spelled = await _sign_in(run, f" {name}\u3000", "not the password", "198.18.6.200")  # within the 8 s wait
    run.report.check(spelled == 429, f"scenario 6: a spelling of the name with spaces got a count of its own "
                                     f"({spelled})")
    repeated = [await _sign_in(run, name, password, "198.18.7.2") for _ in range(12)]
    run.report.check(set(repeated) == {303}, f"scenario 6: successful sign-ins were counted: {repeated}")
    run.report.attacks += len(wrong) + 1
    run.report.server_errors += sum(1 for s in [*wrong, spelled, right, *repeated] if s >= 500)
    return {"wrong": len(wrong), "right_after_wrong": right, "other_spelling": spelled, "repeated_ok": len(repeated)}


async def _https_from_the_proxy(run: Run) -> dict[str, bool]:
    page = await run.http.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": NAT})
    secure = "secure" in page.headers.get("set-cookie", "").lower()
    hsts = "strict-transport-security" in page.headers
    run.report.check(secure and hsts, f"scenario 6: HTTPS reported by the proxy: Secure cookie {secure}, HSTS {hsts}")
    return {"secure_cookie": secure, "hsts": hsts}
