"""The topic pages over HTTP, on the real app, PostgreSQL and Temporal: a resident raises a topic with a photo through
the community's intake link and follows it; a neighbour finds it before raising a duplicate and joins it; the
committee takes one up and declines another with a reason the proposer reads; a comment hidden with a reason; hostile
input (a non-image, an oversized body, markup, a bad link) refused with a page, nothing stored."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.web.conftest import BASE_URL, SECRET, form_fields
from tests.workflows.conftest import running_worker, stream_types
from yishi.services.topic_links import intake_link
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

QUEUE = f"topic-pages-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address, task_queue=QUEUE, topic_photo_max_bytes=200_000,
                    topic_photo_max_count=2, intake_effort_bits=(4, 8))


@pytest.fixture
async def worker(app, store, pool, temporal_server) -> AsyncIterator[Client]:  # type: ignore[no-untyped-def]
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        yield temporal


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


async def poster(pool: Any, store: Any, community: str) -> str:
    link = await intake_link(pool, store, community, None, by="test", secret_key=SECRET, now=datetime.now(UTC))
    return link.token


def raise_fields(html: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="/t/[^"]+" enctype="multipart/form-data"[^>]*>(.*?)</form>', html,
                     re.S)
    assert form, html[-800:]
    return dict(re.findall(r'<input type="hidden" name="(nonce|csrf)" value="([^"]*)"', form.group(1)))


async def raise_topic(c: httpx.AsyncClient, token: str, title: str, description: str,
                      photos: list[tuple[str, bytes, str]] = (), **extra: str) -> httpx.Response:  # type: ignore[assignment]
    page = await c.get(f"/t/{token}", params={"title": title, "description": description})
    assert page.status_code == 200, page.text[-600:]
    data = {**raise_fields(page.text), "title": title, "description": description, **extra}
    files = [("photos", p) for p in photos] or [("photos", ("", b"", "application/octet-stream"))]
    return await c.post(f"/t/{token}", data=data, files=files)


async def tracked(c: httpx.AsyncClient, path: str, words: str, tries: int = 100) -> str:
    """The tracking page once it shows ``words`` (the workflow records the take-up deadline on its own)."""
    import asyncio

    for _ in range(tries):
        html = (await c.get(path)).text
        if words in html:
            return html
        await asyncio.sleep(0.1)
    raise AssertionError(f"{words!r} never shown: {html[-800:]}")


async def test_raise_with_a_photo_join_instead_of_a_duplicate_take_and_follow(app, pool, store, worker,
                                                                            sign_in) -> None:
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    token = await poster(pool, store, community)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as resident, \
            httpx.AsyncClient(transport=transport, base_url=BASE_URL) as neighbour:
        first = await resident.get(f"/t/{token}")
        assert first.status_code == 200 and "yishi_intake" in first.headers.get("set-cookie", "")
        sent = await raise_topic(resident, token, "3号楼电梯经常停运", "这周停了三次，老人上下楼困难",
                                 [("电梯.jpg", jpeg(), "image/jpeg")], phone="13812345678", room="3-1-502")
        assert sent.status_code == 303 and sent.headers["location"].startswith("/tt/"), sent.text[-600:]
        track = sent.headers["location"].split("?")[0]
        html = await tracked(resident, track, "须在")
        assert "3号楼电梯经常停运" in html and "议题已提出" in html and "1张照片" in html
        assert "13812345678" not in html and "3-1-502" not in html, "no phone or room on the resident's page"

        similar = await neighbour.get(f"/t/{token}", params={"title": "三号楼电梯老是停运", "description": "又停了"})
        assert "3号楼电梯经常停运" in similar.text and "支持这个议题" in similar.text
        join = form_fields(similar.text, "/join")
        joined = await neighbour.post(join.pop("_action"), data=join)
        assert joined.status_code == 303 and joined.headers["location"].startswith("/tt/"), joined.text[-600:]
        assert "已记下您的支持" in (await neighbour.get(joined.headers["location"])).text

    committee = await sign_in("committee", community=community)
    listed = await committee.get("/console/topics")
    topic_id = re.search(r'href="/console/topics/(topic-[0-9a-f]{12})"', listed.text).group(1)
    page = await committee.get(f"/console/topics/{topic_id}")
    assert "13812345678" in page.text and "3-1-502" in page.text, "the committee may call back"
    assert track.removeprefix("/tt/") not in page.text, "staff never see a resident's link"
    shown = await committee.get(f"/console/topics/{topic_id}/photos/0")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg" and shown.content == jpeg()
    assert (await committee.get(f"/console/topics/{topic_id}/photos/1")).status_code == 404
    outsider = await sign_in("committee", community="别的社区")
    assert (await outsider.get(f"/console/topics/{topic_id}/photos/0")).status_code == 404
    assert (await outsider.get(f"/console/topics/{topic_id}")).status_code == 404
    take = form_fields(page.text, "/act")
    done = await committee.post(take.pop("_action"), data={**take, "text": "本周五议事会讨论"})
    assert done.status_code == 303, done.text[-600:]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as resident:
        html = await tracked(resident, track, "社区已领题")
        assert "本周五议事会讨论" in html and "2" in html
    types = await stream_types(store, topic_id)
    assert types.count("SupportAdded") == 1 and "TopicTaken" in types


async def test_decline_with_a_reason_the_proposer_reads_and_a_hidden_comment(app, pool, store, worker,
                                                                            sign_in) -> None:
    community = f"和谐社区-{uuid.uuid4().hex[:6]}"
    token = await poster(pool, store, community)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as resident:
        sent = await raise_topic(resident, token, "<script>alert(1)</script>小区门口摆摊", "每天早上占道")
        track = sent.headers["location"].split("?")[0]
        html = await tracked(resident, track, "须在")
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
        comment = form_fields(html, "/comment")
        posted = await resident.post(comment.pop("_action"), data={**comment, "text": "某某家的摊子最吵"})
        assert posted.status_code == 303
    committee = await sign_in("committee", community=community)
    topic_id = re.search(r'href="/console/topics/(topic-[0-9a-f]{12})"',
                         (await committee.get("/console/topics")).text).group(1)
    page = (await committee.get(f"/console/topics/{topic_id}")).text
    hide = form_fields(page, "/act")  # the first form is "take"; the hide form is found by its field
    hide_form = re.search(r'<form method="post" action="[^"]+" class="hide-form">(.*?)</form>', page, re.S).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', hide_form))
    hidden = await committee.post(hide["_action"], data={**fields, "text": "点名道姓"})
    assert hidden.status_code == 303, hidden.text[-600:]
    page = (await committee.get(f"/console/topics/{topic_id}")).text
    decline = form_fields(page, "/act")  # the session's CSRF pair; the action is the posted field
    refused = await committee.post(decline.pop("_action"), data={**decline, "action": "decline", "text": ""})
    assert refused.status_code == 409 and "请写下拒绝的理由" in refused.text
    page = (await committee.get(f"/console/topics/{topic_id}")).text
    decline = form_fields(page, "/act")
    declined = await committee.post(decline.pop("_action"), data={**decline, "action": "decline",
                                                                  "text": "属于城管职责，请拨打12345"})
    assert declined.status_code == 303, declined.text[-600:]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as resident:
        html = await tracked(resident, track, "不予受理")
        assert "属于城管职责，请拨打12345" in html and "这条留言已被社区隐藏。理由：点名道姓" in html
        assert "某某家的摊子最吵" not in html
    types = await stream_types(store, topic_id)
    assert "CommentHidden" in types and "TopicDeclined" in types
    events = await store.read(topic_id)
    posted = next(e.payload for e in events if e.type == "CommentPosted")
    hidden_event = next(e.payload for e in events if e.type == "CommentHidden")
    assert "某某家的摊子最吵" in posted["text"], "the hidden text stays in the stream for auditors"
    assert (hidden_event["comment_id"], hidden_event["reason"]) == (posted["comment_id"], "点名道姓")


async def test_hostile_input_is_refused_with_a_page_and_nothing_stored(app, pool, store, worker) -> None:
    community = f"平安社区-{uuid.uuid4().hex[:6]}"
    token = await poster(pool, store, community)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        svg = ("photo.jpg", b"<svg onload=alert(1)>", "image/jpeg")
        fake = await raise_topic(c, token, "楼道堆物", "堆了很多纸箱", [svg])
        assert fake.status_code == 422 and "JPEG" in fake.text and "发送前请重新选择照片" in fake.text, fake.text[-800:]
        page = await c.get(f"/t/{token}", params={"title": "x", "description": "y"})
        big = await c.post(f"/t/{token}", data={**raise_fields(page.text), "title": "x", "description": "y"},
                           files=[("photos", ("a.jpg", b"\xff" * 700_000, "image/jpeg"))])
        assert big.status_code == 413, big.text[-400:]
        wrong = await c.post(f"/t/{'A' * 43}", data={"title": "x"}, files=[("photos", ("a.jpg", b"1", "image/jpeg"))])
        assert wrong.status_code == 403 and "链接无法识别" in wrong.text
        forged = await c.post(f"/t/{token}", data={"nonce": "n", "csrf": "forged", "title": "x", "description": "y"},
                              files=[("photos", ("", b"", "application/octet-stream"))])
        assert forged.status_code == 403
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM topics WHERE community = $1", community) == 0


async def test_the_poster_warns_in_red_when_its_address_is_the_servers_own(app, store, sign_in) -> None:
    committee = await sign_in("committee")
    form = form_fields((await committee.get("/console/topics")).text, "/console/topics/poster")
    action = form.pop("_action")
    good = await committee.post(action, data={**form, "building": "5"})
    assert good.status_code == 200 and "data-warning" not in good.text and "5栋" in good.text, good.text[-600:]
    assert "style-src 'self' 'sha256-" in good.headers["content-security-policy"]
    url = re.search(r'id="poster-url">([^<]+)<', good.text).group(1)
    assert url.startswith(f"{BASE_URL}/t/")
    app.state.settings = app.state.settings.model_copy(update={"public_base_url": "http://127.0.0.1:8000"})
    form = form_fields((await committee.get("/console/topics")).text, "/console/topics/poster")
    local = await committee.post(form.pop("_action"), data=form)
    assert local.status_code == 200 and 'data-warning="local"' in local.text and "请勿张贴" in local.text, local.text
    types = await stream_types(store, "intake-幸福社区")
    assert types.count("CapabilityIssued") >= 2, "the community's link and building 5's, each recorded"


async def test_public_page_shows_no_personal_data_and_the_csv_keeps_the_wall(app, pool, store, worker, client,
                                                                           sign_in) -> None:
    from urllib.parse import quote

    community, elsewhere = f"阳光社区-{uuid.uuid4().hex[:6]}", f"月亮社区-{uuid.uuid4().hex[:6]}"
    for where in (community, elsewhere):
        token = await poster(pool, store, where)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as resident:
            sent = await raise_topic(resident, token, f"{where}垃圾站太臭", "夏天尤其严重，住在12楼的王大爷说",
                                     phone="13700001111", room="8-2-1201", building="8")
            assert sent.status_code == 303, sent.text[-600:]
    page = await client.get(f"/p/{quote(community)}/topics")
    assert page.status_code == 200 and f"{community}垃圾站太臭" in page.text and "8栋" in page.text
    for private in ("13700001111", "8-2-1201", "王大爷", elsewhere):
        assert private not in page.text, private
    assert (await client.get(f"/p/{quote('没有这个社区')}/topics")).status_code == 404

    committee = await sign_in("committee", community=community)
    mine = await committee.get("/console/topics/figures.csv")
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/csv")
    lines = mine.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("community,month,raised") and len(lines) == 2 and lines[1].startswith(community)
    street = await sign_in("street_office", community=None)
    both = (await street.get("/console/topics/figures.csv")).content.decode("utf-8-sig")
    assert community in both and elsewhere in both
    assert (await client.get("/console/topics/figures.csv")).status_code == 303, "signed-in staff only"


async def test_merge_a_duplicate_then_route_to_the_ladder_from_the_console(app, pool, store, worker,
                                                                         sign_in) -> None:
    community = f"春风社区-{uuid.uuid4().hex[:6]}"
    token = await poster(pool, store, community)
    transport = httpx.ASGITransport(app=app)
    tracks = []
    for title in ("小区东门积水严重", "下雨东门那里积水"):
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as resident:
            sent = await raise_topic(resident, token, title, "一下雨就淹到脚踝")
            assert sent.status_code == 303, sent.text[-600:]
            tracks.append(sent.headers["location"].split("?")[0])
    committee = await sign_in("committee", community=community)
    listed = (await committee.get("/console/topics")).text
    ids = dict((title, tid) for tid, title in re.findall(r'href="/console/topics/(topic-[0-9a-f]{12})">([^<]+)<',
                                                         listed))
    first, duplicate = ids["小区东门积水严重"], ids["下雨东门那里积水"]
    page = (await committee.get(f"/console/topics/{duplicate}")).text
    assert f'<option value="{first}">' in page, "the other open topics of the community to merge into"
    act = form_fields(page, "/act")
    merged = await committee.post(act.pop("_action"), data={**act, "action": "merge", "into": first})
    assert merged.status_code == 303, merged.text[-600:]
    page = (await committee.get(f"/console/topics/{first}")).text
    act = form_fields(page, "/act")
    routed = await committee.post(act.pop("_action"), data={**act, "action": "route", "category": "urban_management",
                                                            "text": "市政排水"})
    assert routed.status_code == 303, routed.text[-600:]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as resident:
        html = await tracked(resident, tracks[1], "已并入另一个内容相同的议题")
        assert "现在并入：小区东门积水严重" in html
        html = await tracked(resident, tracks[0], "已“吹哨”交给相关部门办理（城市管理）")
        assert "市政排水" in html and "新增1位支持者" in html
    assert "TopicRouted" in await stream_types(store, first)
    assert "TopicMerged" in await stream_types(store, duplicate)


async def test_done_then_the_proposer_not_satisfied_reopens_it_once(app, pool, store, worker, sign_in) -> None:
    community = f"秋实社区-{uuid.uuid4().hex[:6]}"
    token = await poster(pool, store, community)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as resident:
        sent = await raise_topic(resident, token, "健身器材坏了", "单杠松动，有危险")
        track = sent.headers["location"].split("?")[0]
        await tracked(resident, track, "须在")
    committee = await sign_in("committee", community=community)
    topic_id = re.search(r'href="/console/topics/(topic-[0-9a-f]{12})"',
                         (await committee.get("/console/topics")).text).group(1)

    async def act(action: str, **fields: str) -> httpx.Response:
        form = form_fields((await committee.get(f"/console/topics/{topic_id}")).text, "/act")
        return await committee.post(form.pop("_action"), data={**form, "action": action, **fields})

    assert (await act("take")).status_code == 303
    assert (await act("resolve", text="")).status_code == 409
    assert (await act("resolve", text="已联系物业更换单杠")).status_code == 303
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as resident:
        html = await tracked(resident, track, 'id="feedback"')
        assert "已联系物业更换单杠" in html and "会重新办理一次" in html
        form = form_fields(html, "/feedback")
        answered = await resident.post(form.pop("_action"), data={**form, "answer": "not_satisfied",
                                                                   "text": "还是松的"})
        assert answered.status_code == 200, answered.text[-600:]
        html = await tracked(resident, track, "重新办理：提出人不满意")
        assert 'id="feedback"' not in html
    assert "TopicReopened" in await stream_types(store, topic_id)


async def test_an_owner_raises_a_topic_from_the_personal_voting_link(app, store, worker, client,
                                                                   open_deliberation) -> None:
    community = f"金桂社区-{uuid.uuid4().hex[:6]}"
    d = await open_deliberation(2, community=community)
    ballot = (await client.get(d.path("o001"))).text
    assert f'href="{d.path("o001")}/topic"' in ballot
    first = await client.get(f"{d.path('o001')}/topic")
    assert first.status_code == 200 and 'method="get"' in first.text, "step 1: title and description first"
    page = await client.get(f"{d.path('o001')}/topic", params={"title": "地下车库漏水", "description": "B2层一直滴水"})
    assert 'id="none-similar"' in page.text
    form = form_fields(page.text, "/topic")
    empty = await client.post(form.pop("_action"), data={**form, "title": "", "description": "x"})
    assert empty.status_code == 422 and "标题" in empty.text
    form = form_fields(empty.text, "/topic")
    big = await client.post(form["_action"], data={**form, "title": "x", "description": "y"},
                            files=[("photos", ("a.jpg", b"\xff" * 700_000, "image/jpeg"))])
    assert big.status_code == 413, big.text[-400:]
    stranger = await client.post(f"/v/{'A' * 43}/topic", data={"title": "x"},
                                 files=[("photos", ("a.jpg", b"1", "image/jpeg"))])
    assert stranger.status_code in (403, 404), "an unknown link is refused before its body is read"
    sent = await client.post(form.pop("_action"), data={**form, "title": "地下车库漏水", "description": "B2层一直滴水",
                                                        "room": "1-1-101"},
                             files=[("photos", ("车库.jpg", jpeg(), "image/jpeg"))])
    assert sent.status_code == 303 and sent.headers["location"].startswith("/tt/"), sent.text[-600:]
    html = await tracked(client, sent.headers["location"].split("?")[0], "须在")
    assert "地下车库漏水" in html and "议题已提出（业主个人链接）" in html and "1-1-101" not in html
    assert "1张照片" in html, "the owner's photo is on the topic"
    async with app.state.pool.acquire() as conn:
        topic_id = await conn.fetchval("SELECT topic_id FROM topics WHERE community = $1", community)
    raised = (await store.read(topic_id))[0].payload
    assert raised["source"] == "owner_link" and raised["raised_by"]["id"] == "owner:o001"
    assert (await client.post(f"{d.path('o001')}/topic", data={"nonce": "n", "csrf": "x"})).status_code == 403

    # a neighbour owner finds it before raising a duplicate, and joins it from her own link
    step2 = await client.get(f"{d.path('o000')}/topic", params={"title": "地下车库B2层漏水", "description": "一直滴水"})
    assert 'id="similar"' in step2.text and "地下车库漏水" in step2.text, step2.text[-800:]
    join = form_fields(step2.text, "/topic/join")
    assert join["_action"] == f"{d.path('o000')}/topic/join" and join["topic_id"] == topic_id
    assert (await client.post(join["_action"], data={**join, "csrf": "forged"})).status_code == 403
    elsewhere = await client.post(join.pop("_action"), data={**join, "topic_id": "topic-000000000000"})
    assert elsewhere.status_code == 409, "no topic, or another community's: refused"
    step2 = await client.get(f"{d.path('o000')}/topic", params={"title": "地下车库B2层漏水", "description": "一直滴水"})
    join = form_fields(step2.text, "/topic/join")
    joined = await client.post(join.pop("_action"), data=join)
    assert joined.status_code == 303 and joined.headers["location"].startswith("/tt/"), joined.text[-600:]
    supports = [e.payload for e in await store.read(topic_id) if e.type == "SupportAdded"]
    assert [(p["supporter"], p["kind"]) for p in supports] == [("owner:o000", "owner")], supports
    async with app.state.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM topics WHERE community = $1", community) == 1


async def test_a_burst_from_one_address_waits_or_proves_effort_never_an_error(app, pool, store, worker) -> None:
    from domain import throttle

    community = f"星河社区-{uuid.uuid4().hex[:6]}"
    token = await poster(pool, store, community)
    transport = httpx.ASGITransport(app=app)
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as script:
        await script.get(f"/t/{token}")
        for n in range(4):  # one device: its burst of 3, then a wait
            answers.append(await raise_topic(script, token, f"刷屏{n}号", "同一台手机"))
    assert [a.status_code for a in answers] == [303, 303, 303, 429], [a.text[-300:] for a in answers]
    assert "分钟后再试" in answers[-1].text and int(answers[-1].headers["retry-after"]) > 0
    for n in range(7):  # other phones behind the same address use up the address's burst of 10
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as phone:
            await phone.get(f"/t/{token}")
            assert (await raise_topic(phone, token, f"邻居{n}的事", "同一个小区Wi-Fi")).status_code == 303
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as neighbour:
        await neighbour.get(f"/t/{token}")
        asked = await raise_topic(neighbour, token, "单元门禁坏了", "刷卡没反应")
        assert asked.status_code == 200 and 'name="challenge"' in asked.text and "/static/effort.js" in asked.text
        challenge = re.search(r'name="challenge" value="([^"]+)" data-bits="(\d+)"', asked.text)
        nonce = throttle.solve(throttle.Challenge(challenge.group(1), int(challenge.group(2)), datetime.now(UTC)))
        form = {**raise_fields(asked.text), "title": "单元门禁坏了", "description": "刷卡没反应",
                "challenge": challenge.group(1), "proof": nonce}
        sent = await neighbour.post(f"/t/{token}", data=form, files=[("photos", ("", b"", "application/octet-stream"))])
        assert sent.status_code == 303, sent.text[-600:]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM topics WHERE community = $1", community) == 11


async def test_behind_the_proxy_each_forwarded_address_has_its_own_budget(app, pool, store, worker) -> None:
    """Residents arrive through the reverse proxy (a loopback peer, trusted): the flooding address is asked for work
    however it dresses its X-Forwarded-For (hops it writes to the left prove nothing; 3,000 of them are no error),
    while a neighbour behind the same proxy, at another address, raises at once."""
    app.state.settings = app.state.settings.model_copy(update={"intake_per_address": (1, 3600)})
    community = f"晨光社区-{uuid.uuid4().hex[:6]}"
    token = await poster(pool, store, community)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    flooder = "203.0.113.9"
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL,
                                 headers={"X-Forwarded-For": flooder}) as script:
        assert (await raise_topic(script, token, "刷屏0号", "同一个地址")).status_code == 303
        for n, hops in enumerate(("10.9.9.9, " + flooder, "1.1.1.1, " * 3000 + flooder, flooder), start=1):
            script.headers["X-Forwarded-For"] = hops
            answer = await raise_topic(script, token, f"刷屏{n}号", "同一个地址")
            assert answer.status_code in (200, 429), (n, answer.status_code, answer.text[-300:])
            assert 'name="challenge"' in answer.text or "分钟后再试" in answer.text, answer.text[-300:]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL,
                                 headers={"X-Forwarded-For": "198.51.100.20"}) as neighbour:
        sent = await raise_topic(neighbour, token, "单元门禁坏了", "刷卡没反应")
        assert sent.status_code == 303, sent.text[-600:]
    async with pool.acquire() as conn:
        titles = {r["title"] for r in await conn.fetch("SELECT title FROM topics WHERE community = $1", community)}
    assert titles == {"刷屏0号", "单元门禁坏了"}, titles


async def test_start_a_procedure_for_a_topic_from_its_page(app, pool, store, worker, sign_in) -> None:
    from tests.web.test_console_start import TEMPLATE_CSV, form_keys, post, started_id

    token = await poster(pool, store, "幸福社区")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as resident:
        title = f"3栋2单元想装电梯-{uuid.uuid4().hex[:4]}"
        sent = await raise_topic(resident, token, title, "老人多，爬楼难")
        track = sent.headers["location"].split("?")[0]
    committee = await sign_in("committee")
    topic_id = re.search(rf'href="/console/topics/(topic-[0-9a-f]{{12}})">{title}<',
                         (await committee.get("/console/topics")).text).group(1)
    page = (await committee.get(f"/console/topics/{topic_id}")).text
    assert f'href="/console/new?topic={topic_id}"' in page
    form = await committee.get(f"/console/new?procedure=elevator&topic={topic_id}")
    keys = form_keys(form.text)
    assert keys["topic"] == topic_id and 'id="for-topic"' in form.text
    fields = {**keys, "title": f"{title}（表决）", "building": "3", "entrance": "2", "proxy_limit": "2"}
    response = await post(committee, fields, TEMPLATE_CSV)
    assert response.status_code == 303, re.search(r'id="start-errors">(.*?)</div>', response.text, re.S).group(1)
    started = started_id(response)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as resident:
        await tracked(resident, track, "已为此启动表决或协商程序")
    routed = next(e for e in await store.read(topic_id) if e.type == "TopicRouted")
    assert routed.payload["deliberation_id"] == started and routed.payload["target"] == "procedure"
    outsider = await sign_in("committee", community="别的社区")
    refused = await post(outsider, {**form_keys((await outsider.get(f"/console/new?topic={topic_id}")).text),
                                    "title": "x", "building": "3", "entrance": "2", "proxy_limit": "2"}, TEMPLATE_CSV)
    assert refused.status_code == 422 and f"没有议题 {topic_id}" in refused.text, refused.text[-800:]
    await worker.get_workflow_handle(started).terminate("test done")


async def test_a_photo_larger_than_a_form_goes_through_a_live_intake_link_only(app, pool, store, worker) -> None:
    import os

    out = io.BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(out, format="PNG")
    photo = out.getvalue()
    assert 100_000 < len(photo) < 200_000, len(photo)  # over the 64 KiB of any other form, under a photo's limit
    token = await poster(pool, store, f"绿地社区-{uuid.uuid4().hex[:6]}")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        await c.get(f"/t/{token}")
        sent = await raise_topic(c, token, "绿化带被占", "有人种菜", [("菜地.png", photo, "image/png")])
        assert sent.status_code == 303, sent.text[-600:]
        page = await c.get(f"/t/{token}", params={"title": "x", "description": "y"})
        unknown = await c.post(f"/t/{'B' * 43}", data={**raise_fields(page.text), "title": "x", "description": "y"},
                               files=[("photos", ("a.png", photo, "image/png"))])
        assert unknown.status_code == 403 and unknown.headers.get("connection") == "close", "refused before reading"
