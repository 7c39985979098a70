"""Issue 17, item 6: what staff do to personal links is in the deliberation's hash chain.

The committee hands out the links, so it could vote as any owner: print a sheet, download the CSV, reissue a
link and keep the new one. None of that may leave no trace: issuing, reissuing and every showing of live links
is an event in the stream (who, when, which households, the token's hash and never the token), each online
ballot records the generation of the link it came through, and the owner sees on their own pages who reissued
or printed their link.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from activities.eventstore import StoreUnavailableError
from domain import link_events
from tests.web.conftest import BASE_URL, SECRET, form_fields
from tests.web.test_console_walls import console_form
from tests.web.test_proxy import authorise, represented_form, room_of
from yishi.services.link_issuing import Actor, reissue_link
from yishi.services.links import RevokedLinkError, resolve_link, token_hash
from yishi.services.voting import cast_ballot, load_box


async def stream(pool, deliberation_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """``(type, payload as stored JSON text)`` of every event of the stream, in order."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT type, payload::text AS payload FROM events WHERE stream_id = $1 ORDER BY seq",
                                deliberation_id)
    return [(r["type"], r["payload"]) for r in rows]


async def live_hashes(pool, deliberation_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT owner_id, token_hash FROM links WHERE deliberation_id = $1"
                                " AND revoked_at IS NULL", deliberation_id)
    return {r["owner_id"]: r["token_hash"] for r in rows}


def payloads(events: list[tuple[str, str]], kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(text) for type_, text in events if type_ == kind]


async def test_issuing_and_printing_record_who_and_which_households_with_hashes_never_tokens(
        sign_in, open_deliberation, pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(link_events, "CHUNK", 3)  # 8 households: events of 3, 3 and 2
    d = await open_deliberation(8, links=False)
    name = f"李委员-{uuid.uuid4().hex[:4]}"
    committee = await sign_in("committee", name=name)
    page = (await committee.get(f"/console/d/{d.id}/links")).text
    assert (await committee.post(f"/console/d/{d.id}/links", data=console_form(page))).status_code == 303
    issued = payloads(await stream(pool, d.id), "LinksIssued")
    assert [(p["part"], p["parts"], len(p["links"])) for p in issued] == [(1, 3, 3), (2, 3, 3), (3, 3, 2)]
    assert {(p["by"], p["via"]) for p in issued} == {(name, "console")}
    hashes = await live_hashes(pool, d.id)
    assert {e["owner_id"]: e["token_hash"] for p in issued for e in p["links"]} == hashes, "the table's hashes"
    assert {e["generation"] for p in issued for e in p["links"]} == {1}

    page = (await committee.get(f"/console/d/{d.id}/links")).text
    exported = await committee.post(f"/console/d/{d.id}/links.csv", data=form_fields(page, "/links.csv"))
    tokens = re.findall(r"/v/([A-Za-z0-9_-]{43})", exported.content.decode("utf-8-sig"))
    assert len(tokens) == 8 and {token_hash(t) for t in tokens} == set(hashes.values())
    shown = payloads(await stream(pool, d.id), "LiveLinksDisclosed")
    assert [(p["format"], p["part"], p["parts"], p["by"]) for p in shown] == [("csv", n, 3, name) for n in (1, 2, 3)]
    assert [o for p in shown for o in p["owners"]] == d.owners

    everything = "\n".join(text for _, text in await stream(pool, d.id))
    assert not [t for t in tokens if t in everything], "a token in the stream would be a live link for every reader"
    assert all(h in everything for h in hashes.values())


async def test_a_ballot_through_a_reissued_link_carries_its_generation_and_the_owner_sees_who_reissued_it(
        sign_in, open_deliberation, client, pool, fields) -> None:  # type: ignore[no-untyped-def]
    d = await open_deliberation(4)
    name = f"张三-{uuid.uuid4().hex[:4]}"
    committee = await sign_in("committee", name=name)
    page = (await committee.get(f"/console/d/{d.id}/links")).text
    done = await committee.post(f"/console/d/{d.id}/links/reissue",
                                data={**form_fields(page, "/links/reissue"), "owner_id": "o001"})
    offered = (await committee.get(done.headers["location"])).text
    sheet = await committee.post(f"/console/d/{d.id}/sheets", data=form_fields(offered, "/sheets"))
    new_path = unquote(re.search(r'id="one-link">([^<]+)<', sheet.text).group(1).removeprefix(BASE_URL))  # type: ignore[union-attr]

    ballot_page = await client.get(new_path)
    assert ballot_page.status_code == 200
    trace = re.search(r'<section class="card link-trace".*?</section>', ballot_page.text, re.S).group(0)  # type: ignore[union-attr]
    assert f"由 业委会 {name} 重新发放（第 2 版）" in trace
    assert f"业委会 {name} 单独打印了您家的通知单" in trace and "系统（test） 下载了投票链接表（CSV）" in trace
    english = (await client.get(new_path + "?lang=en")).text
    assert "reissued on" in english and f"by committee member {name} (version 2)" in english

    form = fields(ballot_page.text)
    receipt = await client.post(form["_action"], data={**form, "choice": "against"})
    assert receipt.status_code == 200 and f"由 业委会 {name} 重新发放（第 2 版）" in receipt.text
    own = fields((await client.get(d.path("o000"))).text)
    plain = await client.post(own["_action"], data={**own, "choice": "for"})
    assert plain.status_code == 200 and "重新发放" not in plain.text, "o000's link was never reissued"
    api = await client.post("/api/v1/ballots", json={"token": d.tokens["o002"], "choice": "for",
                                                     "submission_id": uuid.uuid4().hex})
    assert api.status_code == 200
    # o003 lets o001 vote for them: the proxy's ballot came through the proxy's (reissued) link.
    assert (await authorise(client, d, "o003", room_of(d, "o001"), fields)).status_code == 200
    proxy_form = represented_form((await client.get(new_path)).text, "o003")
    assert (await client.post(proxy_form["_action"], data={**proxy_form, "choice": "for"})).status_code == 200

    ballots = payloads(await stream(pool, d.id), "BallotCast")
    assert [(b["owner_id"], b.get("cast_by"), b["link_generation"]) for b in ballots] == [
        ("o001", None, 2), ("o000", None, 1), ("o002", None, 1), ("o003", "o001", 2)]


async def test_live_links_are_only_shown_once_the_showing_is_recorded(
        sign_in, open_deliberation, app, pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    d = await open_deliberation(3)
    committee = await sign_in("committee")
    page = (await committee.get(f"/console/d/{d.id}/links")).text
    before = await stream(pool, d.id)
    real_append = app.state.store.append

    async def refusing(stream_id, events=(), **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("prepare") is not None:  # the database goes away as the showing is recorded
            raise StoreUnavailableError("connection lost")
        return await real_append(stream_id, events, **kwargs)

    monkeypatch.setattr(app.state.store, "append", refusing)
    for path in ("links.csv", "sheets"):
        refused = await committee.post(f"/console/d/{d.id}/{path}", data=console_form(page))
        assert refused.status_code == 503, path
        assert not [t for t in d.tokens.values() if t.encode() in refused.content], "no link without its record"
    assert await stream(pool, d.id) == before
    monkeypatch.setattr(app.state.store, "append", real_append)
    shown = await committee.post(f"/console/d/{d.id}/links.csv", data=console_form(page))
    assert shown.status_code == 200 and all(t.encode() in shown.content for t in d.tokens.values())
    assert (await stream(pool, d.id))[-1][0] == "LiveLinksDisclosed"


@pytest.mark.parametrize("path", ["sheets", "links.csv"])
async def test_get_never_shows_live_links(sign_in, open_deliberation, pool, path) -> None:  # type: ignore[no-untyped-def]
    d = await open_deliberation(2)
    committee = await sign_in("committee")
    before = await stream(pool, d.id)
    for url in (f"/console/d/{d.id}/{path}", f"/console/d/{d.id}/{path}?owner=o000"):
        got = await committee.get(url)
        assert got.status_code == 405 and not [t for t in d.tokens.values() if t in got.text]
    assert await stream(pool, d.id) == before


async def test_no_ballot_through_a_link_follows_the_event_that_revoked_it(pool, store, open_deliberation) -> None:  # type: ignore[no-untyped-def]
    """A reissue racing ballots through the old link: the revocation and its event commit together, under the
    stream lock, before the group's ballots are checked, so the chain never shows a ballot through a link after
    the event that revoked it."""
    d = await open_deliberation(2)
    holder = await resolve_link(pool, d.tokens["o000"])
    box = await load_box(store, d.id)

    async def ballot(n: int) -> str:
        try:
            await cast_ballot(store, d.id, "o000", ("for", "against")[n % 2], idempotency_key=f"race-{n}",
                              now=datetime.now(UTC), box=box, link=holder)
        except RevokedLinkError:
            return "refused"
        return "cast"

    async def reissue() -> str:
        await reissue_link(store, d.id, "o000", secret_key=SECRET, now=datetime.now(UTC),
                           actor=Actor("race", "console"))
        return "reissued"

    work = [ballot(n) for n in range(40)]
    work.insert(20, reissue())
    outcomes = await asyncio.gather(*work)
    events = await stream(pool, d.id)
    at = next(n for n, (type_, _) in enumerate(events) if type_ == "LinkReissued")
    after = [json.loads(text) for type_, text in events[at:] if type_ == "BallotCast"]
    assert after == [], "a ballot through the revoked link after its revocation"
    before = [json.loads(text) for type_, text in events[:at] if type_ == "BallotCast"]
    assert len(before) == outcomes.count("cast") and all(b["link_generation"] == 1 for b in before)
