"""A volunteer team's poster over HTTP: the committee prints it from the volunteer console; a resident's phone opening
its QR address ``/vt/<token>`` joins the team and signs up for its activity (events via ``poster``) once their own
link has been opened on that phone; without it the page asks for it and offers no button; forged forms, another
community's person and another team's activity are refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from domain.volunteer_events import volunteers_stream
from tests.web.conftest import SECRET
from tests.web.test_person_pages import COMMITTEE, a_person, csrf_of
from yishi.services import points


async def test_join_and_sign_up_through_the_poster(app, sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    community, _member, _ = await a_person(pool, store)
    now = datetime.now(UTC)
    newcomer = await points.register_person(pool, store, community, name="刘阿姨", kind="resident", by=COMMITTEE,
                                            now=now)
    own = (await points.person_link(pool, store, community, newcomer, by=COMMITTEE, secret_key=SECRET,
                                    now=now)).token
    _, _, stranger_token = await a_person(pool, store, "外社区")
    committee = await sign_in("committee", community=community)
    console = await committee.get("/console/volunteers")
    assert "打印海报" in console.text
    printed = await committee.post("/console/volunteers/poster", data={**csrf_of(console.text), "team": "green"})
    assert printed.status_code == 200 and "绿色家园志愿服务队" in printed.text, printed.text[-400:]
    token = re.search(r'id="poster-url">[^<]*/vt/([A-Za-z0-9_-]{43})<', printed.text)[1]
    stream = volunteers_stream(community)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as phone:
        first = await phone.get(f"/vt/{token}")
        assert first.status_code == 200 and 'id="open-own-link"' in first.text and "<button" not in first.text
        assert (await phone.post(f"/vt/{token}", data={"nonce": "x", "csrf": "y"})).status_code == 403
        assert (await phone.get(f"/me/{own}")).status_code == 200  # leaves the person's link on this phone
        page = await phone.get(f"/vt/{token}")
        assert "加入绿色家园志愿服务队" in page.text and "清理楼道杂物" in page.text, page.text[-600:]
        before = await store.head(stream)
        forged = {"nonce": csrf_of(page.text)["nonce"], "csrf": csrf_of(console.text)["csrf"]}
        assert (await phone.post(f"/vt/{token}", data=forged)).status_code == 403
        assert await store.head(stream) == before
        joined = await phone.post(f"/vt/{token}", data=csrf_of(page.text))
        assert joined.status_code == 200 and "加入" in joined.text, joined.text[-400:]
        page = await phone.get(f"/vt/{token}")
        assert 'id="member"' in page.text
        signed = await phone.post(f"/vt/{token}", data={**csrf_of(page.text), "activity": "a1"})
        assert signed.status_code == 200 and "报名成功" in signed.text, signed.text[-400:]
        other = await phone.post(f"/vt/{token}", data={**csrf_of(page.text), "activity": "nope"})
        assert other.status_code == 403
    events = [(e.type, e.payload.get("person_id"), e.payload.get("via")) for e in await store.read(stream)
              if e.type in ("MemberJoined", "SignedUp") and e.payload.get("via") == "poster"]
    assert events == [("MemberJoined", newcomer, "poster"), ("SignedUp", newcomer, "poster")]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        await elsewhere.get(f"/me/{stranger_token}")
        assert (await elsewhere.get(f"/vt/{token}")).status_code == 403, "a person of another community"


async def test_printed_codes_warn_without_a_public_address(app, sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    """As the topic poster: with no public address set, the poster, the check-in code and the shop's link say so."""
    community, _, _ = await a_person(pool, store)
    committee = await sign_in("committee", community=community)
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"public_base_url": None})
    try:
        for path, fields, page in (("/console/volunteers/poster", {"team": "green"}, "/console/volunteers"),
                                   ("/console/volunteers/qr", {"activity": "a1"}, "/console/volunteers"),
                                   ("/console/points/shop-link", {"shop": "便民超市"}, "/console/points")):
            form = csrf_of((await committee.get(page)).text)
            printed = await committee.post(path, data={**form, **fields})
            assert printed.status_code == 200 and 'data-warning="unset"' in printed.text, (path, printed.text[-400:])
    finally:
        app.state.settings = settings
