"""The resident's ballot over HTTP, against the real event store: happy paths and idempotency."""

from __future__ import annotations

import re
from datetime import timedelta

from activities.eventstore import EventStore
from yishi.services.voting import load_box, receipt_code


def code_of(html: str) -> str:
    match = re.search(r'id="receipt-code">([^<]+)<', html)
    assert match, "no receipt code on the page"
    return match.group(1)


async def ballots(store: EventStore, deliberation_id: str) -> list:
    return [e for e in await store.read(deliberation_id) if e.type == "BallotCast"]


async def test_get_shows_everything_and_changes_nothing(client, store, open_deliberation) -> None:
    d = await open_deliberation(4)
    head = await store.head(d.id)
    response = await client.get(d.path("o001"))
    assert response.status_code == 200
    html = response.text
    room = next(r for r in d.roll.rooms if r.owner_id == "o001")
    for text in ("加装电梯方案已在一楼公告栏张贴", "是否同意在本楼加装电梯", room.room_id, "81.5",
                 "投票截止", "截止前可以改票", 'value="for"', 'value="against"', 'value="abstain"'):
        assert text in html, text
    assert re.search(r'<label class="choice choice-for" for="self-for">', html), "options need labels"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # One optional script of our own (a ballot lost to the network keeps her choice: tests/web/test_resident_phone.py);
    # the page works without it.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/ballot.js" defer>']
    for _ in range(3):  # link scanners in chat apps open links: nothing may change
        await client.get(d.path("o001"))
    assert await store.head(d.id) == head


async def test_vote_gives_receipt_from_the_stored_event(client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    form = fields((await client.get(d.path("o000"))).text)
    response = await client.post(form["_action"], data={**form, "choice": "against"})
    assert response.status_code == 200
    (ballot,) = await ballots(store, d.id)
    assert code_of(response.text) == receipt_code(ballot.seq, ballot.hash)
    assert ballot.payload["owner_id"] == "o000" and ballot.payload["choice"] == "against"
    assert "反对" in response.text and "之前改票，以最后一次为准" in response.text


async def test_double_submit_of_one_form_is_one_ballot(client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    form = fields((await client.get(d.path("o002"))).text)
    first = await client.post(form["_action"], data={**form, "choice": "for"})
    second = await client.post(form["_action"], data={**form, "choice": "for"})
    assert first.status_code == second.status_code == 200
    assert code_of(first.text) == code_of(second.text)
    assert len(await ballots(store, d.id)) == 1


async def test_concurrent_double_submit_is_one_ballot(client, store, open_deliberation, fields) -> None:
    import asyncio

    d = await open_deliberation(4)
    form = fields((await client.get(d.path("o002"))).text)
    responses = await asyncio.gather(*(client.post(form["_action"], data={**form, "choice": "for"})
                                       for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    assert len({code_of(r.text) for r in responses}) == 1
    assert len(await ballots(store, d.id)) == 1


async def test_changed_vote_the_last_counts(client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    for choice in ("for", "against", "abstain"):
        form = fields((await client.get(d.path("o003"))).text)
        response = await client.post(form["_action"], data={**form, "choice": choice})
        assert response.status_code == 200
    box = await load_box(store, d.id)
    assert box.state.tally().counted_choice("o003") == "abstain"
    assert len(await ballots(store, d.id)) == 3
    page = (await client.get(d.path("o003"))).text
    assert "您已投票：弃权" in page


async def test_reusing_a_form_for_another_choice_is_refused(client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    form = fields((await client.get(d.path("o001"))).text)
    first = await client.post(form["_action"], data={**form, "choice": "for"})
    again = await client.post(form["_action"], data={**form, "choice": "against"})
    assert again.status_code == 409
    assert code_of(first.text) in again.text
    box = await load_box(store, d.id)
    assert box.state.tally().counted_choice("o001") == "for"


async def test_ballots_not_changeable(client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4, changeable=False)
    page = (await client.get(d.path("o001"))).text
    assert "投票提交后不能更改" in page
    first, second = fields(page), fields((await client.get(d.path("o001"))).text)  # two open tabs
    assert (await client.post(first["_action"], data={**first, "choice": "for"})).status_code == 200
    after = (await client.get(d.path("o001"))).text
    assert "您已投票：同意" in after and 'name="choice"' not in after  # nothing left to submit
    refused = await client.post(second["_action"], data={**second, "choice": "against"})
    assert refused.status_code == 409 and "不允许改票" in refused.text
    assert len(await ballots(store, d.id)) == 1


async def test_before_opening_the_page_says_when(app, client, store, open_deliberation) -> None:
    d = await open_deliberation(2)
    box = await load_box(store, d.id)
    app.state.clock = lambda: box.opened.opens_at - timedelta(minutes=1)
    page = await client.get(d.path("o000"))
    assert page.status_code == 200 and "投票将于" in page.text and 'name="choice"' not in page.text


async def test_english_switch_and_cookie(client, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    page = await client.get(d.path("o000") + "?lang=en")
    assert page.status_code == 200 and 'lang="en"' in page.text
    assert "Install an elevator" in page.text and "Voting closes" in page.text
    assert "The elevator plan is posted" in page.text
    assert page.cookies.get("lang") == "en"
    again = await client.get(d.path("o000"))  # the cookie remembers
    assert "Cast my ballot" in again.text and "中文" in again.text
    form = fields(again.text)
    receipt = await client.post(form["_action"], data={**form, "choice": "for"})
    assert "You may change your ballot until" in receipt.text and "the last one counts" in receipt.text
