"""Every way a resident's request can fail: the page says what to do, and nothing is recorded."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from activities.eventstore import StoreUnavailableError
from domain.errors import BoxClosedError
from tests.web.conftest import give_links, reissue_and_show
from yishi.services.voting import cast_ballot
from yishi.web.security import SlidingWindow


async def ballots(store, deliberation_id: str) -> list:  # type: ignore[no-untyped-def]
    return [e for e in await store.read(deliberation_id) if e.type == "BallotCast"]


def altered(token: str) -> str:
    return token[:-1] + ("B" if token.endswith("A") else "A")


async def test_unknown_and_forged_tokens_are_403(client, open_deliberation) -> None:
    d = await open_deliberation(2)
    forged = secrets.token_urlsafe(32)
    for path in (f"/v/{forged}", "/v/abc", "/v/" + altered(d.tokens["o000"]), "/v/" + "é" * 43):
        response = await client.get(path)
        assert response.status_code == 403, path
        assert "联系业委会" in response.text
    post = await client.post(f"/v/{forged}", data={"choice": "for", "nonce": "x", "csrf": "y"})
    assert post.status_code == 403


async def test_revoked_link_is_410_and_the_new_one_works(app, client, pool, store, open_deliberation,
                                                        fields) -> None:
    d = await open_deliberation(2)
    old_form = fields((await client.get(d.path("o000"))).text)
    new = await reissue_and_show(store, d.id, "o000", secret_key=app.state.secret_key, by="王委员")
    assert new.token != d.tokens["o000"] and new.generation == 2
    gone = await client.get(d.path("o000"))
    assert gone.status_code == 410 and "换发新链接" in gone.text
    posted = await client.post(old_form["_action"], data={**old_form, "choice": "for"})
    assert posted.status_code == 410
    assert await ballots(store, d.id) == []
    assert (await client.get(f"/v/{new.token}")).status_code == 200


async def test_missing_or_bad_choice_is_422_and_shows_the_form_again(client, store, open_deliberation,
                                                                     fields) -> None:
    d = await open_deliberation(2)
    form = fields((await client.get(d.path("o000"))).text)
    for data in ({}, {"choice": "maybe"}, {"choice": ""}):
        response = await client.post(form["_action"], data={**form, **data})
        assert response.status_code == 422
        assert "请先选择" in response.text and 'name="choice"' in response.text
    assert await ballots(store, d.id) == []


@pytest.mark.parametrize("body,ctype", [
    (b'{"choice": "for"}', "application/json"),
    (b"choice=for&choice=against&nonce=a&csrf=b", "application/x-www-form-urlencoded"),
    (b"choice=for", "application/x-www-form-urlencoded"),
    (b"x" * 20000, "application/x-www-form-urlencoded"),
    (b"--zz\r\nbroken", "multipart/form-data; boundary=zz"),
    (b"choice=%FF%FE&nonce=a&csrf=b", "application/x-www-form-urlencoded"),
    (b"&".join(b"f%d=1" % i for i in range(40)), "application/x-www-form-urlencoded"),
])
async def test_malformed_forms_are_422(client, store, open_deliberation, body, ctype) -> None:
    d = await open_deliberation(2)
    response = await client.post(d.path("o000"), content=body, headers={"content-type": ctype})
    assert response.status_code == 422
    assert "未记录任何内容" in response.text
    assert await ballots(store, d.id) == []


async def test_bad_csrf_is_403(client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(2)
    mine = fields((await client.get(d.path("o000"))).text)
    theirs = fields((await client.get(d.path("o001"))).text)
    tampered = await client.post(mine["_action"], data={**mine, "csrf": "0" * 32, "choice": "for"})
    borrowed = await client.post(mine["_action"], data={**theirs, "choice": "for"})  # another link's form keys
    assert tampered.status_code == borrowed.status_code == 403
    assert await ballots(store, d.id) == []


async def test_after_the_seal_voting_closed_page_and_nothing_recorded(client, store, open_deliberation, seal,
                                                                      fields) -> None:
    d = await open_deliberation(2)
    form = fields((await client.get(d.path("o000"))).text)
    await seal(d.id)
    head = await store.head(d.id)
    page = await client.get(d.path("o000"))
    posted = await client.post(form["_action"], data={**form, "choice": "for"})
    assert page.status_code == 200 and "投票已于" in page.text and "北京时间" in page.text  # her page after the close
    assert posted.status_code == 410
    assert "投票已截止" in posted.text and "截止" in posted.text and "北京时间" in posted.text
    assert await store.head(d.id) == head


async def test_after_the_deadline_closed_page(app, client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(2)
    form = fields((await client.get(d.path("o001"))).text)
    app.state.clock = lambda: d.closes_at + timedelta(seconds=1)
    posted = await client.post(form["_action"], data={**form, "choice": "for"})
    assert posted.status_code == 410 and "未被记录" in posted.text
    english = await client.get(d.path("o001") + "?lang=en")
    assert english.status_code == 200 and "Voting closed at" in english.text
    assert await ballots(store, d.id) == []


async def test_guard_refuses_under_the_stream_lock(pool, store, open_deliberation) -> None:
    # The fold still says "open" (the clock is before closes_at) but the stream row says the box closed:
    # the guard, which runs under the row lock, has the last word.
    d = await open_deliberation(2)
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE streams SET accepting_until = $2 WHERE stream_id = $1", d.id, past)
    with pytest.raises(BoxClosedError) as refused:
        await cast_ballot(store, d.id, "o000", "for", idempotency_key="k1", now=datetime.now(UTC))
    assert refused.value.closed_at == past  # type: ignore[attr-defined]
    assert await ballots(store, d.id) == []


async def test_rate_limits_per_token_not_per_address(app, client, open_deliberation) -> None:
    d = await open_deliberation(3)
    app.state.limits.per_token = SlidingWindow(3, 60)
    codes = [(await client.get(d.path("o000"))).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    too_many = await client.get(d.path("o000"))
    assert "操作太频繁" in too_many.text and too_many.headers["Retry-After"] == "60"
    assert (await client.get(d.path("o001"))).status_code == 200  # another link is not affected
    # A link is limited by itself, never by its address: a carrier NAT or the proxy is one address for many.
    app.state.limits.per_address = SlidingWindow(2, 60)
    codes = [(await client.get(d.path("o002"))).status_code for _ in range(3)]
    assert codes == [200, 200, 200]


async def test_guessing_tokens_gets_blocked(app, client, open_deliberation) -> None:
    d = await open_deliberation(2)
    app.state.limits.failures = SlidingWindow(3, 600)
    codes = [(await client.get(f"/v/{secrets.token_urlsafe(32)}")).status_code for _ in range(4)]
    assert codes == [403, 403, 403, 429]
    assert (await client.get(d.path("o000"))).status_code == 200  # a valid link is looked up first and served


class DownStore:
    """A store whose database went away between the fold and the append."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self.real = real

    async def read(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return await self.real.read(*args, **kwargs)

    async def append(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise StoreUnavailableError("connection refused")

    def follow(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass  # appends never reach a transaction here


async def test_store_unavailable_is_503_and_no_receipt(app, client, store, open_deliberation,
                                                       fields) -> None:
    d = await open_deliberation(2)
    form = fields((await client.get(d.path("o000"))).text)
    app.state.store = DownStore(store)
    response = await client.post(form["_action"], data={**form, "choice": "for"})
    assert response.status_code == 503
    assert "尚未记录" in response.text and "receipt-code" not in response.text
    assert response.headers["Retry-After"]
    assert await ballots(store, d.id) == []


async def test_unknown_page_and_wrong_method(client) -> None:
    assert (await client.get("/nowhere")).status_code == 404
    assert "页面不存在" in (await client.get("/nowhere")).text
    assert (await client.put("/receipt")).status_code == 405


async def test_link_before_the_workflow_opened_the_box(client, pool, store) -> None:
    from decimal import Decimal

    from domain.events import Question
    from domain.roll import Roll, Room, Scope
    from yishi.services.deliberations import DeliberationSpec, register, store_roll

    roll = Roll(rooms=(Room(room_id="9-1-101", building="9", entrance="1", floor="1", area_m2=Decimal("70"),
                            owner_id="o000"),))
    now = datetime.now(UTC)
    spec = DeliberationSpec(procedure="test", title="口袋公园选址", rule_id="headcount-majority", scope=Scope(),
                            question=Question(text_zh="同意吗？", text_en="Agree?"), opens_at=now,
                            closes_at=now + timedelta(hours=1))
    deliberation_id = f"web-early-{secrets.token_hex(4)}"
    await register(pool, deliberation_id, spec, await store_roll(pool, roll))
    (link,) = await give_links(store, deliberation_id, ["o000"], secret_key="k" * 32, now=now)
    page = await client.get(f"/v/{link.token}")
    assert page.status_code == 200 and "投票尚未开始" in page.text and "口袋公园选址" in page.text
