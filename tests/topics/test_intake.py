"""The doors residents use: the intake throttle (a burst of 10,000 from one address slows down, never errors, and a
distinct resident behind the same address still gets through), raising through the community's QR link, hostile
photos refused with clear messages and nothing stored, an owner raising from their personal link, the capability
links recorded in the stream."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from pydantic import SecretStr

from domain import throttle
from domain.events import Question
from domain.roll import Scope
from tests.texts import en, zh
from tests.topics.conftest import topic_until
from tests.workflows.conftest import estate_roll, running_worker, stream_types
from workflows.topic_inputs import TopicResult
from yishi.services.capabilities import intake_subject, resolve_capability
from yishi.services.deliberations import DeliberationSpec, register, store_roll
from yishi.services.intake_limit import address_key, admit
from yishi.services.links import LinkHolder, RevokedLinkError
from yishi.services.topic_intake import TopicFormError
from yishi.services.topic_links import intake_link, raise_from_owner_link, raise_through_intake, support_with_intake
from yishi.services.topics import TopicRefusedError, topic_state
from yishi.settings import Settings

NOW = datetime(2030, 5, 6, 10, 0, tzinfo=UTC)


def limits(**extra: object) -> Settings:
    return Settings(secret_key=SecretStr("intake-test-key"), intake_effort_bits=(4, 8), **extra)


async def test_a_burst_of_ten_thousand_from_one_address_is_throttled_not_refused(pool) -> None:
    settings, link, flood = limits(), f"link-{uuid.uuid4().hex[:8]}", "203.0.113.7"

    async def send(i: int) -> object:
        device = "flooder-cookie" if i % 2 else None  # a script replaying one cookie, and one sending none
        return await admit(pool, link=link, address=flood, device=device, settings=settings,
                           now=NOW + timedelta(milliseconds=i))

    answers = []
    for chunk in range(0, 10_000, 200):
        answers += await asyncio.gather(*(send(i) for i in range(chunk, chunk + 200)))
    kinds = Counter("ok" if a.ok else "challenge" if a.challenge else "wait" for a in answers)
    assert kinds["ok"] <= 10 + 3 and kinds["ok"] >= 3, kinds  # the address's burst and the device's, no more
    assert kinds["ok"] + kinds["challenge"] + kinds["wait"] == 10_000
    waits = [a for a in answers if not a.ok and a.challenge is None]
    assert waits and all(a.retry_after > 0 and "分钟后再试" in zh(a.text) and "try again" in en(a.text) for a in waits)
    hardest = max(a.challenge.difficulty for a in answers if a.challenge)
    assert hardest == 8, "the cookieless flood pushed the work up to the cap, and no further"

    neighbour = await admit(pool, link=link, address=flood, device="neighbour-phone", settings=settings,
                            now=NOW + timedelta(seconds=11))
    assert not neighbour.ok and neighbour.challenge is not None, "behind the same address: asked to work, not refused"
    assert "几秒钟" in zh(neighbour.text) and "a few seconds" in en(neighbour.text)
    proof = (neighbour.challenge.text, throttle.solve(neighbour.challenge))
    let_in = await admit(pool, link=link, address=flood, device="neighbour-phone", settings=settings,
                         now=NOW + timedelta(seconds=12), proof=proof)
    assert let_in.ok, "a distinct resident behind the flooding address gets through"
    again = await admit(pool, link=link, address=flood, device="neighbour-phone", settings=settings,
                        now=NOW + timedelta(seconds=13), proof=proof)
    assert not again.ok, "a solved challenge is used once"
    stolen = await admit(pool, link=link, address="198.51.100.1", device="neighbour-phone", settings=settings,
                         now=NOW + timedelta(seconds=13), proof=proof)
    assert stolen.ok, "another address has its own budget (the proof is not needed, nor accepted elsewhere)"
    with pytest.raises(AssertionError):
        assert throttle.verify("intake-test-key", "198.51.100.1", "x", proof[0], proof[1], NOW, 4) is None


def test_addresses_group_ipv6_by_prefix() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1" and address_key(" 192.0.2.1 ") == "192.0.2.1"


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


async def test_raise_through_the_intake_link(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    settings = limits(task_queue=task_queue, topic_photo_max_bytes=200_000, topic_photo_max_count=2)
    community = f"c{uuid.uuid4().hex[:6]}"
    key = settings.secret_key.get_secret_value()
    async with running_worker(env, store, pool, task_queue):
        poster = await intake_link(pool, store, community, "7号楼", by="李书记", secret_key=key, now=NOW)
        assert poster.url("https://yishi.example.cn").startswith("https://yishi.example.cn/t/")
        same = await intake_link(pool, store, community, "7号楼", by="李书记", secret_key=key, now=NOW)
        assert same.token == poster.token, "printing the poster again gives the same link"
        issued = [e.payload for e in await store.read(intake_subject(community))]
        assert issued == [{"type": "CapabilityIssued", "at": issued[0]["at"], "kind": "intake", "holder": "7号楼",
                           "generation": 1, "token_sha256": issued[0]["token_sha256"], "issued_by": "李书记"}]
        assert poster.token not in str(issued), "the stream holds the token's hash, never the token"

        now = (await env.get_current_time()).astimezone(UTC)
        fields = {"title": "7号楼楼道灯不亮", "description": "二单元晚上一片黑", "address": "192.0.2.10",
                  "device": "phone-a", "settings": settings, "now": now}
        hostile = [[("big.jpg", jpeg((2000, 2000)) + b"\0" * 200_000)], [("photo.jpg", b"<svg onload=alert(1)>")],
                   [("a.jpg", jpeg()), ("b.jpg", jpeg((65, 48))), ("c.jpg", jpeg((66, 48)))]]
        expected = [("超过上限", "over the limit"), ("不是 JPEG、PNG 或 WebP", "not a JPEG, PNG or WebP"),
                    ("最多 2 张", "at most 2 photos")]
        for files, (chinese, english) in zip(hostile, expected, strict=True):
            topic_id = f"topic-{uuid.uuid4().hex[:12]}"
            with pytest.raises(TopicFormError) as refused:
                await raise_through_intake(env.client, pool, poster.token, **fields, photos=files, topic_id=topic_id)
            assert chinese in zh(refused.value) and english in en(refused.value)
            assert await store.read(topic_id) == [], "nothing recorded for a refused form"

        answer = await raise_through_intake(env.client, pool, poster.token, **fields, phone="138 1234 5678",
                                            photos=[("楼道.jpg", jpeg())])
        assert answer.admission.ok and answer.raised is not None
        topic_id = answer.raised.topic_id
        handle = env.client.get_workflow_handle(topic_id, result_type=TopicResult)
        state = await topic_until(handle, lambda t: t.take_up is not None, "assigned")
        assert (state.community, state.building, state.source) == (community, "7号楼", "intake")
        assert state.proposer.id.startswith("phone:") and state.photos[0].media_type == "image/jpeg"
        raw = str([e.payload for e in await store.read(topic_id)])
        assert "13812345678" not in raw and "1234" not in raw, "the phone number stays out of the stream"
        async with pool.acquire() as conn:
            phone = await conn.fetchval("SELECT phone FROM topic_contacts WHERE topic_id = $1", topic_id)
            blob = await conn.fetchval("SELECT media_type FROM blobs WHERE sha256 = $1", state.photos[0].sha256)
        assert (phone, blob) == ("13812345678", "image/jpeg")
        types = await stream_types(store, topic_id)  # the workflow's TakeUpAssigned may come before the link
        assert types[0] == "TopicRaised" and types.count("CapabilityIssued") == 1, types
        holder = await resolve_capability(pool, answer.raised.tracking.token)
        assert (holder.kind, holder.subject, holder.holder) == ("tracking", topic_id, state.proposer.id)

        join = {"device": "phone-b", "phone": None, "secret_key": key, "now": now}
        joined, link = await support_with_intake(pool, poster.token, topic_id, **join)
        again, same_link = await support_with_intake(pool, poster.token, topic_id, **join)
        assert joined == again == topic_id and same_link.token == link.token, "joining twice is one support"
        await support_with_intake(pool, poster.token, topic_id, **{**join, "device": "phone-c",
                                                                    "phone": "13812345678"})
        state = await topic_state(pool, topic_id)
        assert state.supporters == ("client:phone-b",) and state.supporter_count == 1, \
            "the proposer's own number joins nothing: they support their topic already"
        assert (await resolve_capability(pool, link.token)).kind == "supporter"
        other = await intake_link(pool, store, f"x{community}", None, by="王主任", secret_key=key, now=NOW)
        with pytest.raises(TopicRefusedError):
            await support_with_intake(pool, other.token, topic_id, **join)

        replaced = await intake_link(pool, store, community, "7号楼", by="李书记", secret_key=key, now=NOW,
                                     reissue=True)
        with pytest.raises(RevokedLinkError):
            await raise_through_intake(env.client, pool, poster.token, **fields)
        assert replaced.token != poster.token
        await handle.terminate("test done")


async def test_an_owner_raises_from_their_personal_link(ts_env, store, pool, task_queue) -> None:
    env = ts_env
    settings = limits(task_queue=task_queue)
    roll = estate_roll()
    digest = await store_roll(pool, roll)
    deliberation_id = f"consultation-{uuid.uuid4().hex[:12]}"
    now = (await env.get_current_time()).astimezone(UTC)
    await register(pool, deliberation_id, DeliberationSpec(
        procedure="consultation", title="议事", rule_id="headcount-majority", scope=Scope(),
        question=Question(text_zh="议事", text_en="x"), opens_at=now, closes_at=now + timedelta(days=7),
        community="lhy"), digest)
    async with running_worker(env, store, pool, task_queue):
        holder = LinkHolder(deliberation_id, "O311", 1, "0" * 64)  # what the page found for the owner's token
        raised = await raise_from_owner_link(env.client, pool, holder, title="车库漏水", description="B2 车位上方滴水",
                                             settings=settings, now=now)
        handle = env.client.get_workflow_handle(raised.topic_id, result_type=TopicResult)
        state = await topic_until(handle, lambda t: t.take_up is not None, "assigned")
        assert (state.community, state.source, state.proposer.id, state.proposer.kind) == (
            "lhy", "owner_link", "owner:O311", "owner")
        await handle.terminate("test done")
