"""The ladder editor adds and removes levels (issue 19): a level is picked from the list of organisations and placed
after a level of the ladder, as is the organisation a late part of a joint ticket goes to; a removed level takes
its categories' deadlines with it; every change is a new version; an invalid ladder (no level left, a level not on
the list, a period that does not parse) is refused on the page with the level and what to do, and records
nothing."""

from __future__ import annotations

import re
import uuid

import httpx


async def _form(client: httpx.AsyncClient, community: str) -> tuple[dict[str, str], str]:
    html = (await client.get(f"/console/structure?community={community}")).text
    return dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', html)), html


def _kinds(html: str) -> list[str]:
    """The organisations the "add a level" list offers."""
    select = re.search(r'<select id="l-add-kind".*?</select>', html, re.S)
    assert select, html[-2000:]
    return [v for v in re.findall(r'<option value="([^"]*)"', select.group(0)) if v]


def _whole_form(html: str) -> dict[str, str]:
    """Every field the ladder form sends as a browser sends it (text and hidden inputs with their values, each
    select's selected or first option; unticked boxes send nothing)."""
    form = re.search(r'<form[^>]*id="ladder-form".*?</form>', html, re.S)
    assert form, html[-2000:]
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form.group(0)):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attrs.get("type") != "checkbox":
            fields[attrs["name"]] = attrs.get("value", "")
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form.group(0), re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options) or re.search(r'<option value="([^"]*)"',
                                                                                             options)
        fields[name] = chosen.group(1) if chosen else ""
    return fields


async def _versions(store, community: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e.payload["ladder"] for e in await store.read(f"structure-{community}") if e.type == "LadderVersioned"]


async def test_levels_added_and_removed_each_a_new_version(sign_in, store) -> None:
    community = f"lv{uuid.uuid4().hex[:6]}"
    street = await sign_in("street_office", community=None)
    pair, _ = await _form(street, community)
    defined = await street.post(f"/console/structure/{community}", data={**pair, "op": "community",
                                                                         "name": "阶梯社区", "street": "jc"})
    assert defined.status_code == 303, defined.text[-600:]
    path = f"/console/structure/{community}/ladder"
    pair, html = await _form(street, community)
    assert 'name="remove-grid"' in html and 'id="l-add-kind"' in html, "each level removable, a list to add from"
    assert _kinds(html) == ["secretary"], "the list offers the organisations the ladder does not have yet"

    # The 书记直通车 secretary as a level after the community committee; the grid level removed with the deadline a
    # category had at it.
    with_deadline = await street.post(path, data={**pair, "category": "housing", "level": "grid", "ack": "PT2H"})
    assert with_deadline.status_code == 303, with_deadline.text[-600:]
    pair, _ = await _form(street, community)
    changed = await street.post(path, data={**pair, "remove-grid": "1", "add_kind": "secretary",
                                            "add_after": "community", "add_ack": "PT4H"})
    assert changed.status_code == 303, changed.text[-600:]
    versions = await _versions(store, community)
    assert [v["version"] for v in versions] == [1, 2]
    assert [lv["key"] for lv in versions[0]["levels"]] == ["grid", "community", "street", "department"]
    levels = versions[1]["levels"]
    assert [lv["key"] for lv in levels] == ["community", "secretary", "street", "department"]
    secretary = levels[1]
    assert (secretary["org"], secretary["roles"], secretary["ack"], secretary["resolve"]) == (
        f"secretary:{community}", ["party_secretary"], "PT4H", "5wd")
    assert versions[1]["deadlines"] == {}, "the removed level's deadlines went with it"
    pair, html = await _form(street, community)
    assert 'name="remove-grid"' not in html and _kinds(html) == ["grid"], html[-3000:]

    # The whole form as the browser sends it, with every level on the ladder and boxes ticked, is read (not refused
    # as too many fields): the grid level back at the bottom.
    pair, html = await _form(street, community)
    whole = {**_whole_form(html), "add_kind": "grid", "add_after": "first", "remove-secretary": "1"}
    assert len(whole) > 20, sorted(whole)
    full = await street.post(path, data=whole)
    assert full.status_code == 303, full.text[-1200:]
    versions = await _versions(store, community)
    assert [lv["key"] for lv in versions[-1]["levels"]] == ["grid", "community", "street", "department"]

    # A late part of a joint ticket goes to an organisation picked from the list, named as the list names it.
    pair, html = await _form(street, community)
    listed = re.search(r'<select id="l-jsup".*?</select>', html, re.S).group(0)  # type: ignore[union-attr]
    assert 'value="dept:supervision" selected' in listed and "区城市管理委员会（城管）" in listed, listed
    moved = await street.post(path, data={**pair, "joint_supervisor": "dept:urban"})
    assert moved.status_code == 303, moved.text[-600:]
    joint = (await _versions(store, community))[-1]["joint"]
    assert (joint["supervisor"], joint["supervisor_zh"]) == ("dept:urban", "区城市管理委员会（城管）"), joint

    # Refusals: what is wrong, at which level, what to do; nothing recorded.
    refusals = (
        ({f"remove-{k}": "1" for k in ("grid", "community", "street", "department")}, "至少"),
        ({"add_kind": "district_mayor"}, "从列表"),
        ({"add_kind": "", "add_ack": "PT1H"}, "从列表"),
        ({"add_kind": "street"}, "已有"),
        ({"add_kind": "secretary", "add_after": "mayor"}, "从列表"),
        ({"add_kind": "secretary", "add_ack": "soon"}, "soon"),
        ({"ack-street": "tomorrow"}, "tomorrow"),
        ({"joint_supervisor": "dept:nowhere"}, "从列表"),
    )
    for data, words in refusals:
        pair, _ = await _form(street, community)
        refused = await street.post(path, data={**pair, **data})
        assert refused.status_code == 422, (data, refused.text[-600:])
        alert = re.search(r'role="alert".*?</', refused.text, re.S)
        assert alert and words in alert.group(0), (data, refused.text[-2000:])
    pair, _ = await _form(street, community)
    bad_period = await street.post(path, data={**pair, "add_kind": "secretary", "add_ack": "soon"})
    assert "书记" in re.search(r'role="alert".*?</', bad_period.text, re.S).group(0), "the level is named"  # type: ignore[union-attr]
    assert len(await _versions(store, community)) == 4, "a refused ladder records nothing"


async def test_a_categorys_own_periods_removed_with_their_box(sign_in, store) -> None:
    """Each category's own periods at a level is listed with a remove box; ticking it records a version without
    them (the level's periods apply again), the other category's stay."""
    community = f"lv{uuid.uuid4().hex[:6]}"
    street = await sign_in("street_office", community=None)
    pair, _ = await _form(street, community)
    await street.post(f"/console/structure/{community}", data={**pair, "op": "community", "name": "阶梯社区",
                                                               "street": "jc"})
    path = f"/console/structure/{community}/ladder"
    for category in ("housing", "urban_management"):
        pair, _ = await _form(street, community)
        saved = await street.post(path, data={**pair, "category": category, "level": "street", "ack": "PT2H"})
        assert saved.status_code == 303, saved.text[-600:]
    pair, html = await _form(street, community)
    assert 'name="unset-housing:street"' in html and 'name="unset-urban_management:street"' in html, html[-3000:]
    removed = await street.post(path, data={**pair, "unset-housing:street": "1"})
    assert removed.status_code == 303, removed.text[-600:]
    deadlines = (await _versions(store, community))[-1]["deadlines"]
    assert deadlines == {"urban_management": {"street": {"ack": "PT2H", "resolve": "5wd"}}}, deadlines
    _, html = await _form(street, community)
    assert 'name="unset-housing:street"' not in html
