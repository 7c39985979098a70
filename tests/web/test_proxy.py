"""Proxies through personal links: authorise, vote as proxy, the limit, revocation."""

from __future__ import annotations

import re

import pytest

from yishi.services.voting import load_box


def represented_form(html: str, owner: str) -> dict[str, str]:
    for block in re.findall(r'<form method="post" action="([^"]*)" class="ballot">(.*?)</form>', html, re.S):
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', block[1]))
        if fields.get("for_owner") == owner:
            return {**fields, "_action": block[0]}
    raise AssertionError(f"no ballot form for {owner}")


async def authorise(client, d, owner: str, room: str, fields):  # type: ignore[no-untyped-def]
    form = fields((await client.get(d.path(owner))).text, "/proxy")
    return await client.post(form["_action"], data={**form, "room": room})


def room_of(d, owner: str) -> str:  # type: ignore[no-untyped-def]
    return next(r.room_id for r in d.roll.rooms if r.owner_id == owner)


async def test_proxy_votes_for_the_owner_and_the_owner_prevails(client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    saved = await authorise(client, d, "o000", " " + room_of(d, "o001").lower() + " ", fields)
    assert saved.status_code == 200 and "委托已记录" in saved.text
    assert room_of(d, "o001") in (await client.get(d.path("o000"))).text  # "current proxy: …"

    page = (await client.get(d.path("o001"))).text
    assert "您受托代投" in page and room_of(d, "o000") in page
    form = represented_form(page, "o000")
    receipt = await client.post(form["_action"], data={**form, "choice": "against"})
    assert receipt.status_code == 200 and room_of(d, "o000") in receipt.text
    box = await load_box(store, d.id)
    assert box.state.tally().counted_choice("o000") == "against"
    assert box.state.tally().counted_choice("o001") is None, "voting as proxy is not the proxy's own vote"
    assert "代投人已替您投票：反对" in (await client.get(d.path("o000"))).text

    own = fields((await client.get(d.path("o000"))).text)
    assert (await client.post(own["_action"], data={**own, "choice": "for"})).status_code == 200
    assert (await load_box(store, d.id)).state.tally().counted_choice("o000") == "for"


async def test_proxy_limit_unknown_room_and_self(client, open_deliberation, fields) -> None:
    d = await open_deliberation(6)
    proxy_room = room_of(d, "o005")
    for owner in ("o000", "o001", "o002"):
        assert (await authorise(client, d, owner, proxy_room, fields)).status_code == 200
    over = await authorise(client, d, "o003", proxy_room, fields)
    assert over.status_code == 403 and "上限 3 户" in over.text
    unknown = await authorise(client, d, "o003", "9-9-999", fields)
    assert unknown.status_code == 422 and "9-9-999" in unknown.text
    self_proxy = await authorise(client, d, "o003", room_of(d, "o003"), fields)
    assert self_proxy.status_code == 403 and "不能委托自己" in self_proxy.text


async def test_revoked_proxy_cannot_vote(client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    await authorise(client, d, "o002", room_of(d, "o003"), fields)
    stale = represented_form((await client.get(d.path("o003"))).text, "o002")
    revoke = fields((await client.get(d.path("o002"))).text, "/proxy/revoke")
    revoked = await client.post(revoke["_action"], data=revoke)
    assert revoked.status_code == 200 and "委托已撤销" in revoked.text
    assert "您受托代投" not in (await client.get(d.path("o003"))).text
    refused = await client.post(stale["_action"], data={**stale, "choice": "for"})
    assert refused.status_code == 403 and "委托" in refused.text
    box = await load_box(store, d.id)
    assert [e.type for e in box.events].count("BallotCast") == 0


async def test_the_owners_own_ballot_prevails_over_her_proxys_later_one(client, store, open_deliberation,
                                                                        fields) -> None:
    """RULES.md (proxies): "The owner's own ballot prevails over the proxy's whatever their order; the proxy sees
    that the owner has voted, and both see which ballot counts." The proxy votes after her (with a form he opened
    before she voted): his ballot is recorded, does not count, and both pages say so."""
    d = await open_deliberation(4)
    await authorise(client, d, "o000", room_of(d, "o001"), fields)
    stale = represented_form((await client.get(d.path("o001"))).text, "o000")
    own = fields((await client.get(d.path("o000"))).text)
    assert (await client.post(own["_action"], data={**own, "choice": "for"})).status_code == 200
    proxy_page = (await client.get(d.path("o001"))).text
    assert "业主本人已投票，以其本人的选票为准" in proxy_page
    with pytest.raises(AssertionError):
        represented_form(proxy_page, "o000")  # no form: a ballot of his could not count
    receipt = await client.post(stale["_action"], data={**stale, "choice": "against"})
    assert receipt.status_code == 200 and "业主本人已投票" in receipt.text and "不计入" in receipt.text
    box = await load_box(store, d.id)
    assert [e.payload.get("cast_by") for e in box.events if e.type == "BallotCast"] == [None, "o001"]
    assert box.state.tally().counted_choice("o000") == "for", "her own ballot counts, not the proxy's later one"
    page = (await client.get(d.path("o000"))).text
    assert "您已投票：同意" in page and "代投人替您投的票已登记，但不计入" in page
    assert "无论在代投人之前还是之后，都以您本人的选票为准" in page


async def test_with_ballots_final_the_owner_still_votes_after_her_proxy(client, store, open_deliberation,
                                                                        fields) -> None:
    d = await open_deliberation(4, changeable=False)
    await authorise(client, d, "o002", room_of(d, "o003"), fields)
    form = represented_form((await client.get(d.path("o003"))).text, "o002")
    assert (await client.post(form["_action"], data={**form, "choice": "against"})).status_code == 200
    assert "为该业主计入的选票：反对" in (await client.get(d.path("o003"))).text
    page = (await client.get(d.path("o002"))).text
    assert "代投人已替您投票：反对" in page and "如您本人投票，则以您本人的选票为准" in page
    own = fields(page)
    receipt = await client.post(own["_action"], data={**own, "choice": "for"})
    assert receipt.status_code == 200 and "以您本人的选票为准：代投人替您投的票不再计入" in receipt.text
    assert (await load_box(store, d.id)).state.tally().counted_choice("o002") == "for"
    assert "业主本人已投票" in (await client.get(d.path("o003"))).text


async def test_the_room_as_people_write_it_the_holder_confirmed_and_errors_inline(client, open_deliberation,
                                                                                 fields) -> None:
    """Issue 21 item 4: "501" in her own entrance, "1栋1单元…", a mistyped room said beside the field with what she
    typed kept, and the holder's masked name to confirm whom she chose."""
    d = await open_deliberation(8)  # o000 and o004 share building 1, entrance 1
    neighbour = next(r for r in d.roll.rooms if r.owner_id == "o004")
    number = neighbour.room_id.split("-")[-1]
    saved = await authorise(client, d, "o000", number, fields)
    assert saved.status_code == 200 and "您已委托" in saved.text and "业*4" in saved.text, "业主4, masked"
    assert "当前代投人" in (page := (await client.get(d.path("o000"))).text) and "业*4" in page
    other = next(r for r in d.roll.rooms if r.owner_id == "o003")
    written = f"{other.building}栋{other.entrance}单元{other.room_id.split('-')[-1]}室"
    assert (await authorise(client, d, "o001", written, fields)).status_code == 200
    assert "业*3" in (await client.get(d.path("o001"))).text
    wrong = await authorise(client, d, "o002", "9栋9单元999", fields)
    assert wrong.status_code == 422 and 'id="proxy-error"' in wrong.text
    assert 'value="9栋9单元999"' in wrong.text and 'name="choice"' in wrong.text, "on her ballot page, input kept"
