"""Paper entry as a clerk types it (issue 21 item 9): the room in the usual forms, the owner found shown to check
before recording, every field kept when something is wrong, and the scan reference required or optional as the
community set it."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from domain.roll import Roll, Room
from tests.web.test_console_paper import filled
from yishi.services.voting import load_box


def _value(page: str, name: str) -> str | None:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


async def _ballots(store, deliberation_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e.payload for e in (await load_box(store, deliberation_id)).events if e.type == "BallotCast"]


async def test_the_room_as_written_on_the_sheet_and_the_owner_shown_to_check(sign_in, store, open_deliberation,
                                                                              fields) -> None:
    d = await open_deliberation(4)  # rooms 1-1-100, 2-1-101, 1-2-102, 2-2-103 (tests/web/conftest.py make_roll)
    clerk = await sign_in("committee")
    form = fields((await clerk.get(f"/console/d/{d.id}/paper")).text, "/paper")
    sheet = {"choice": "against", "paper_ref": "纸票-21", **await filled(store, d.id)}
    checked = await clerk.post(form["_action"], data={**form, **sheet, "room": "2栋1单元101室", "step": "check"})
    assert checked.status_code == 200, checked.text[-800:]
    owner = re.search(r'id="paper-owner">(.*?)</p>', checked.text, re.S).group(1)  # type: ignore[union-attr]
    assert "2-1-101" in owner and "业主1" in owner, owner
    assert await _ballots(store, d.id) == [], "checking records nothing"
    assert _value(checked.text, "room") == "2栋1单元101室" and _value(checked.text, "paper_ref") == "纸票-21"
    assert 'value="against" required checked' in checked.text

    form = fields(checked.text, "/paper")
    recorded = await clerk.post(form["_action"], data={**form, **sheet, "room": "101", "step": "record"})
    assert recorded.status_code == 200 and 'id="receipt-code"' in recorded.text, recorded.text[-800:]
    shown = re.search(r'id="paper-recorded">(.*?)</p>', recorded.text, re.S).group(1)  # type: ignore[union-attr]
    assert "2-1-101" in shown and "业主1" in shown and "反对" in shown, shown
    (ballot,) = await _ballots(store, d.id)
    assert (ballot["owner_id"], ballot["choice"], ballot["paper_ref"]) == ("o001", "against", "纸票-21")


async def test_an_unknown_or_ambiguous_room_says_what_to_type_and_keeps_every_field(sign_in, store,
                                                                                   open_deliberation,
                                                                                   fields) -> None:
    rooms = tuple(Room(room_id=f"3-{e}-101", building="3", entrance=str(e), floor="1", area_m2=Decimal("90"),
                       owner_id=f"p{e}", owner_name=f"住户{e}") for e in (1, 2))
    d = await open_deliberation(roll=Roll(rooms=rooms, source="two-entrances.csv"))
    clerk = await sign_in("committee")
    form = fields((await clerk.get(f"/console/d/{d.id}/paper")).text, "/paper")
    sheet = {"choice": "for", "paper_ref": "纸票-7", **await filled(store, d.id)}
    for typed, said in (("101", "“101”对应 2 户（3-1-101、3-2-101），请加上楼栋和单元"),
                        ("3-2-909", "名册上没有房号“3-2-909”"), ("张三家", "看不懂房号“张三家”")):
        refused = await clerk.post(form["_action"], data={**form, **sheet, "room": typed})
        assert refused.status_code == 422, (typed, refused.text[-600:])
        error = html.unescape(re.search(r'id="paper-error">(.*?)</p>', refused.text).group(1))  # type: ignore[union-attr]
        assert said in error, (typed, error)
        for name in ("room", "paper_ref", "filled_date", "filled_time"):
            assert _value(refused.text, name) == {**sheet, "room": typed}[name], (typed, name)
        assert 'value="for" required checked' in refused.text
        form = fields(refused.text, "/paper")
    done = await clerk.post(form["_action"], data={**form, **sheet, "room": "3栋2单元101"})
    assert done.status_code == 200 and "住户2" in done.text
    assert [b["owner_id"] for b in await _ballots(store, d.id)] == ["p2"]


async def test_the_scan_reference_is_a_community_setting(sign_in, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4, community="纸票社区")
    clerk = await sign_in("committee", community="纸票社区")
    page = (await clerk.get(f"/console/d/{d.id}/paper")).text
    assert re.search(r'id="paper_ref" name="paper_ref" type="text" required', page), "required by default"
    form = fields(page, "/paper")
    sheet = {"room": "100", "choice": "for", **await filled(store, d.id)}
    refused = await clerk.post(form["_action"], data={**form, **sheet})
    assert refused.status_code == 422 and "本社区要求填写" in refused.text
    assert _value(refused.text, "room") == "100"

    settings = fields(page, "/paper/settings")
    changed = await clerk.post(settings["_action"], data={**settings, "paper_ref": "optional"})
    assert changed.status_code == 303
    page = (await clerk.get(f"/console/d/{d.id}/paper")).text
    assert 'id="paper_ref" name="paper_ref" type="text" maxlength' in page and "（选填" in page
    form = fields(page, "/paper")
    first = await clerk.post(form["_action"], data={**form, **sheet})
    again = await clerk.post(form["_action"], data={**form, **sheet})  # a double tap: the same form twice
    assert first.status_code == again.status_code == 200, first.text[-600:]
    code = re.search(r'id="receipt-code">([^<]+)<', first.text).group(1)  # type: ignore[union-attr]
    assert code in again.text
    form = fields(again.text, "/paper")
    await clerk.post(form["_action"], data={**form, **sheet, "room": "2-1-101", "choice": "against"})
    ballots = await _ballots(store, d.id)
    assert [(b["owner_id"], b["paper_ref"]) for b in ballots] == [("o000", None), ("o001", None)], ballots
    # The setting is the community's: another community's deliberation still requires the reference.
    other = await open_deliberation(2, community="别的社区")
    other_clerk = await sign_in("committee", community="别的社区")
    assert re.search(r'id="paper_ref" name="paper_ref" type="text" required',
                     (await other_clerk.get(f"/console/d/{other.id}/paper")).text)
