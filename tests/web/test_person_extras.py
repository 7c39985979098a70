"""The person's own link, more of it: the printable certificate of hours (from the volunteer stream's figures, naming
its head) and the choice to appear on the public leaderboard (an event; only those who opted in are shown)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

from domain.points_decide import SetRule
from domain.points_events import points_stream
from domain.volunteer_decide import RecordHours, SignUp
from domain.volunteer_events import volunteers_stream
from tests.web.test_console_volunteers import HOURS
from tests.web.test_person_pages import COMMITTEE, a_person, csrf_of
from yishi.services import points, volunteers
from yishi.services.capabilities import revoke_capability


async def test_certificate_of_hours_from_the_stream(client, pool, store) -> None:  # type: ignore[no-untyped-def]
    community, person, token = await a_person(pool, store)
    now = datetime.now(UTC)
    await points.act(store, community, SetRule(at=now, by=COMMITTEE, rule=HOURS))
    await volunteers.act(store, community, SignUp(at=now, by=COMMITTEE, activity_id="a1", person_id=person,
                                                  via="coordinator"))
    await volunteers.act(store, community, RecordHours(at=now, by=COMMITTEE, activity_id="a1", person_id=person,
                                                       minutes=90, reason="补记"))
    page = await client.get(f"/me/{token}/certificate")
    assert page.status_code == 200, page.text[-600:]
    text = page.text
    assert "志愿服务时长证明" in text and "张建国" in text and "绿色家园志愿服务队" in text
    assert "清理楼道杂物" in text and "1小时30分" in text, re.findall(r'id="cert-hours">[^<]*', text)
    seq, digest = await store.head(volunteers_stream(community))
    assert digest in text and volunteers_stream(community) in text and f"第 {seq} 条" in text
    assert person not in text, "no internal id on the certificate"
    assert f'href="/me/{token}/certificate"' in (await client.get(f"/me/{token}")).text
    await revoke_capability(pool, store, kind="person", subject=points_stream(community), holder=person,
                            by="committee:李书记", reason="手机丢失", now=now)
    assert (await client.get(f"/me/{token}/certificate")).status_code == 410


async def test_leaderboard_shows_only_who_opted_in(client, pool, store) -> None:  # type: ignore[no-untyped-def]
    community, person, token = await a_person(pool, store)
    _, other, other_token = await a_person(pool, store, "李红")
    public = f"/c/{quote(community)}/points"
    assert "张" not in re.search(r'<table id="leaderboard">.*?</table>', (await client.get(public)).text, re.S)[0]
    mine = csrf_of((await client.get(f"/me/{token}")).text)
    before = await store.head(points_stream(community))
    # Another page's pair, no pair, a sign-up form's pair (another purpose): refused, nothing written.
    theirs = csrf_of((await client.get(f"/me/{other_token}")).text)
    for bad in (theirs, {}, mine):
        refused = await client.post(f"/me/{token}/leaderboard", data={**bad, "choice": "in"})
        assert refused.status_code == 403
    assert await store.head(points_stream(community)) == before
    html = (await client.get(f"/me/{token}")).text
    board = re.search(r'action="/me/[^/]+/leaderboard"[^>]*>.*?name="nonce" value="([^"]*)".*?name="csrf" '
                      r'value="([^"]*)"', html, re.S)
    form = {"nonce": board[1], "csrf": board[2]}
    done = await client.post(f"/me/{token}/leaderboard", data={**form, "choice": "in", "display_name": "热心的老张"})
    assert done.status_code == 200, done.text[-600:]
    shown = re.search(r'<table id="leaderboard">.*?</table>', (await client.get(public)).text, re.S)[0]
    assert "热心的老张" in shown and "<td>10</td>" in shown and "张建国" not in shown and "李" not in shown
    assert other not in shown and person not in shown
    types = [e.type for e in await store.read(points_stream(community))]
    assert types[-1] == "LeaderboardOptedIn"
    html = (await client.get(f"/me/{token}")).text
    assert "退出积分榜" in html
    board = re.search(r'action="/me/[^/]+/leaderboard"[^>]*>.*?name="nonce" value="([^"]*)".*?name="csrf" '
                      r'value="([^"]*)"', html, re.S)
    out = await client.post(f"/me/{token}/leaderboard", data={"nonce": board[1], "csrf": board[2], "choice": "out"})
    assert out.status_code == 200
    shown = re.search(r'<table id="leaderboard">.*?</table>', (await client.get(public)).text, re.S)[0]
    assert "热心的老张" not in shown
    assert [e.type for e in await store.read(points_stream(community))][-1] == "LeaderboardOptedOut"
