"""An owner's paper and online ballots over HTTP, with ballots final (RULES.md: "A paper ballot counts only when
the same owner has no online ballot; an owner's last online ballot counts", Shenzhen 深建规〔2020〕14号): an online
ballot after a paper one counts, a paper one after an online one is recorded but not counted, and the receipt (page
and API) names the rule."""

from __future__ import annotations

from datetime import timedelta

from domain.legal_calendar import BEIJING
from yishi.services.voting import cast_ballot, load_box

ONLINE_OVER_PAPER = "网上投票优先：您此前的纸质选票不再计入（深圳市 深建规〔2020〕14号）"
PAPER_NOT_COUNTED = "该业主已在网上投票，纸质选票已登记但不计入（网上投票优先，深圳市 深建规〔2020〕14号）"


async def enter_paper(committee, fields, store, d, owner: str, choice: str, ref: str):  # type: ignore[no-untyped-def]
    box = await load_box(store, d.id)
    day = (box.opened.opens_at + timedelta(minutes=1)).astimezone(BEIJING)
    form = fields((await committee.get(f"/console/d/{d.id}/paper")).text, "/paper")
    room = next(r.room_id for r in d.roll.rooms if r.owner_id == owner)
    return await committee.post(form["_action"], data={
        **form, "room": room, "choice": choice, "paper_ref": ref, "filled_date": day.date().isoformat(),
        "filled_time": day.strftime("%H:%M")})


async def counted(store, d, owner: str) -> str | None:  # type: ignore[no-untyped-def]
    return (await load_box(store, d.id)).state.tally().counted_choice(owner)


async def test_online_after_paper_counts_and_the_receipt_names_the_rule(client, sign_in, store, open_deliberation,
                                                                        fields) -> None:
    d = await open_deliberation(4, changeable=False)
    committee = await sign_in("committee")
    assert (await enter_paper(committee, fields, store, d, "o000", "against", "纸票-1")).status_code == 200
    page = (await client.get(d.path("o000"))).text
    assert "您的纸质选票已登记：反对" in page and 'name="choice"' in page, "the owner may still vote online"
    form = fields(page)
    receipt = await client.post(form["_action"], data={**form, "choice": "for"})
    assert receipt.status_code == 200 and ONLINE_OVER_PAPER in receipt.text
    assert await counted(store, d, "o000") == "for"
    after = (await client.get(d.path("o000"))).text
    assert "您已投票：同意" in after and "您的纸质选票已登记但不计入" in after and 'name="choice"' not in after
    again = await client.post("/api/v1/ballots", json={"token": d.tokens["o000"], "choice": "against",
                                                       "submission_id": "second-online-1"})
    assert again.status_code == 409 and "不允许改票" in again.json()["message_zh"]
    assert await counted(store, d, "o000") == "for"


async def test_paper_after_online_is_recorded_and_not_counted(client, sign_in, store, open_deliberation,
                                                              fields) -> None:
    d = await open_deliberation(4, changeable=False)
    first = await client.post("/api/v1/ballots", json={"token": d.tokens["o001"], "choice": "for",
                                                       "submission_id": "online-first-1"})
    assert first.status_code == 200 and first.json()["precedence"] is None
    committee = await sign_in("committee")
    entered = await enter_paper(committee, fields, store, d, "o001", "against", "纸票-2")
    assert entered.status_code == 200 and "纸质选票已录入" in entered.text and PAPER_NOT_COUNTED in entered.text
    box = await load_box(store, d.id)
    assert [e.payload["channel"] for e in box.events if e.type == "BallotCast"] == ["online", "paper"]
    assert box.state.tally().counted_choice("o001") == "for"
    progress = (await committee.get(f"/console/d/{d.id}")).text
    assert "网上投票优先，不计入" in progress
    page = (await client.get(d.path("o001"))).text
    assert "您已投票：同意" in page and "纸质选票已登记但不计入" in page


async def test_the_api_receipt_names_the_rule_in_both_languages(client, store, open_deliberation) -> None:
    d = await open_deliberation(2)
    box = await load_box(store, d.id)
    await cast_ballot(store, d.id, "o000", "against", idempotency_key="sheet-1", now=box.opened.opens_at,
                      channel="paper", paper_ref="纸票-3")
    answer = await client.post("/api/v1/ballots", json={"token": d.tokens["o000"], "choice": "for",
                                                        "submission_id": "online-after-1"})
    body = answer.json()
    assert answer.status_code == 200 and body["precedence"] == "online_over_paper"
    assert body["precedence_zh"] == ONLINE_OVER_PAPER + "。"
    assert body["precedence_en"].startswith("The online ballot prevails: your earlier paper ballot no longer counts")
    assert "深建规〔2020〕14号" in body["precedence_en"]
    assert await counted(store, d, "o000") == "for"
