"""The partner shop's clerk page ``/sh/<token>`` over HTTP: the committee prints the shop's link; the clerk looks a
redemption code up (the item, the person's name masked) and hands it over once (an event under the shop's name); a
forged form, a second hand-over and another community's code are refused; the resident's QR address ``/sh/r/<code>``
opens the code's page on the counter phone only."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from domain.points_decide import ListItem
from domain.points_events import Item, points_stream
from tests.web.conftest import SECRET
from tests.web.test_console_points import ledger_with_people
from tests.web.test_person_pages import COMMITTEE, csrf_of
from yishi.services import points
from yishi.services.capabilities import revoke_capability


async def a_redemption(pool, store, community: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    people = await ledger_with_people(pool, store, community)
    now = datetime.now(UTC)
    await points.award(store, community, person_id=people["张建国"], rule_id="meeting", by=COMMITTEE, now=now)
    await points.act(store, community, ListItem(at=now, by=COMMITTEE, stock=3,
                                                item=Item(item_id="soap", name_zh="洗衣皂", cost=2)))
    done = await points.redeem(store, community, person_id=people["张建国"], item_id="soap", by=COMMITTEE, now=now,
                               secret_key=SECRET)
    return people["张建国"], done.code


async def test_clerk_hands_a_redemption_over_once(app, sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    person, code = await a_redemption(pool, store, community)
    _, other_code = await a_redemption(pool, store, f"和平社区-{uuid.uuid4().hex[:6]}")
    committee = await sign_in("committee", community=community)
    printed = await committee.post("/console/points/shop-link",
                                   data={**csrf_of((await committee.get("/console/points")).text), "shop": "便民超市"})
    assert printed.status_code == 200, printed.text[-400:]
    token = re.search(r'id="shop-url">[^<]*/sh/([A-Za-z0-9_-]{43})<', printed.text)[1]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as clerk:
        page = await clerk.get(f"/sh/{token}?code={quote(code)}")
        assert page.status_code == 200, page.text[-400:]
        found = re.search(r'<section class="card" aria-labelledby="found-h" id="found">.*?</section>', page.text,
                          re.S)[0]
        assert "洗衣皂" in found and "张**" in found and "张建国" not in page.text and person not in page.text
        stream = points_stream(community)
        before = await store.head(stream)
        for bad in ({}, csrf_of((await committee.get("/console/points")).text)):
            assert (await clerk.post(f"/sh/{token}", data={**bad, "code": code})).status_code == 403
        assert await store.head(stream) == before
        form = csrf_of(page.text)
        done = await clerk.post(f"/sh/{token}", data={**form, "code": code})
        assert done.status_code == 200 and "洗衣皂" in done.text, done.text[-400:]
        again = await clerk.post(f"/sh/{token}", data={**form, "code": code})
        assert again.status_code == 409, "never handed over twice"
        theirs = await clerk.post(f"/sh/{token}", data={**form, "code": other_code})
        assert theirs.status_code == 409, "another community's code is no code here"
        assert "没有这个兑换码" in (await clerk.get(f"/sh/{token}?code={quote(other_code)}")).text
        # The resident's QR address: on the counter phone (the cookie of the shop's link) it opens the code's page.
        scanned = await clerk.get(f"/sh/r/{code}")
        assert scanned.status_code == 303 and scanned.headers["location"] == f"/sh/{token}?code={code}"
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as stranger:
        other = await stranger.get(f"/sh/r/{code}")
        assert other.status_code == 200 and "这是兑换码" in other.text and "洗衣皂" not in other.text
    handed = [e.payload for e in await store.read(stream) if e.type == "RedemptionHandedOver"]
    assert [(h["by"]["name"], h["by"]["role"], h["by"]["via"]) for h in handed] == [("便民超市", "clerk", "link")]
    ledger = await points.ledger(store, community)
    assert ledger.items["soap"].stock == 2 and ledger.people[person].points == 3
    await revoke_capability(pool, store, kind="shop", subject=stream, holder="便民超市", by="committee:李书记",
                            reason="店铺退出", now=datetime.now(UTC))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as clerk:
        assert (await clerk.get(f"/sh/{token}")).status_code == 410
    # Printed again after the revocation: a new link (the next generation, its issue recorded), the old one dead.
    again = await committee.post("/console/points/shop-link",
                                 data={**csrf_of((await committee.get("/console/points")).text), "shop": "便民超市"})
    assert again.status_code == 200, again.text[-400:]
    renewed = re.search(r'id="shop-url">[^<]*/sh/([A-Za-z0-9_-]{43})<', again.text)[1]
    assert renewed != token
    issued = [e.payload["generation"] for e in await store.read(stream)
              if e.type == "CapabilityIssued" and e.payload["kind"] == "shop"]
    assert issued == [1, 2]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as clerk:
        assert (await clerk.get(f"/sh/{renewed}")).status_code == 200
        assert (await clerk.get(f"/sh/{token}")).status_code == 410


async def test_the_residents_qr_code_is_the_counter_phones_address(client, pool, store) -> None:  # type: ignore[no-untyped-def]
    """The person's page shows the code, and its QR code holds the ``/sh/r/<code>`` address."""
    from tests.web.test_person_pages import a_person

    community, person, token = await a_person(pool, store)
    await points.act(store, community, ListItem(at=datetime.now(UTC), by=COMMITTEE, stock=1,
                                                item=Item(item_id="soap", name_zh="肥皂", cost=2)))
    done = await points.redeem(store, community, person_id=person, item_id="soap", by=COMMITTEE,
                               now=datetime.now(UTC), secret_key=SECRET)
    html = (await client.get(f"/me/{token}")).text
    assert done.code in html
    from yishi.web.sheets import qr_data_uri

    assert qr_data_uri(f"http://testserver/sh/r/{done.code}") in html
