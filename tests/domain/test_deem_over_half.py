"""``deem_over_half``: silent-owner deeming only when the majority's own ballots exceed half of all owners by
headcount and by area (Zhejiang 2009, 第10条) — exact halves, both directions, 4-decimal areas, properties
against plain deeming, and the refusal of the setting without ``deem_silent`` wherever a box is configured."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.ballots import Ballot
from domain.box_state import BoxState
from domain.commands import OpenBox
from domain.decider import decide
from domain.errors import DeemingSettingsError
from domain.events import BoxOpened, Question, event_from_json
from domain.roll import Electorate, Roll, Room, Scope
from domain.rules import RULES, get_rule
from domain.tally import TallySettings, tally
from domain.tally_result import TallyResult
from tests.texts import en, zh
from yishi.cli import cli
from yishi.services.deliberations import DeliberationSpec
from yishi.settings import Settings

ORDINARY = get_rule("cc278-ordinary")
PLAIN = TallySettings(deem_silent=True)
OVER_HALF = TallySettings(deem_silent=True, deem_over_half=True)


def votes(**choices: str) -> list[Ballot]:
    return [Ballot(owner_id=owner, choice=choice) for owner, choice in choices.items()]  # type: ignore[arg-type]


def both(electorate: Electorate, ballots: list[Ballot]) -> tuple[TallyResult, TallyResult]:
    return (tally(electorate, ORDINARY, ballots, settings=PLAIN),
            tally(electorate, ORDINARY, ballots, settings=OVER_HALF))


def assert_refused(plain: TallyResult, refined: TallyResult, direction: str) -> None:
    """Plain deeming applies; the refinement reports the same direction but does not apply."""
    assert plain.deeming is not None and plain.deeming.applied and plain.deeming.direction == direction
    deeming = refined.deeming
    assert deeming is not None and not deeming.applied and deeming.result is None
    assert deeming.direction == direction and deeming.silent == plain.deeming.silent
    assert refined.effective_outcome == refined.outcome
    undeemed = plain.model_copy(update={"deeming": None, "effective_outcome": plain.outcome})
    assert refined.model_copy(update={"deeming": None}) == undeemed  # the figures of the ballots cast


def test_owners_exactly_half_is_not_enough_one_more_is(electorate_of) -> None:
    electorate = electorate_of(["10"] * 10)  # 10 owners, 100 m²
    half = votes(o0="for", o1="for", o2="for", o3="for", o4="for", o5="against")  # for: 5/10 owners, 50/100 m²
    plain, refined = both(electorate, half)
    assert_refused(plain, refined, "for")
    assert "5/10 户、50/100 ㎡" in refined.deeming.zh and "户数和面积均未超过" in refined.deeming.zh
    assert "5 of 10 owners and 50 of 100 m²" in refined.deeming.en and "neither is" in refined.deeming.en
    assert plain.effective_outcome == "approved" and refined.effective_outcome == "no_quorum"  # it matters

    # owners exactly half while the area is over half: still not enough
    wide = electorate_of(["10"] * 8 + ["30", "30"])  # 10 owners, 140 m²
    plain, refined = both(wide, votes(o8="for", o9="for", o0="for", o1="for", o2="for", o3="against"))  # 5/10, 90/140
    assert_refused(plain, refined, "for")
    assert "5/10 户、90/140 ㎡" in refined.deeming.zh and "户数未超过总户数的一半" in refined.deeming.zh
    assert "the headcount is not more than half" in refined.deeming.en

    one_more = votes(o0="for", o1="for", o2="for", o3="for", o4="for", o6="for", o5="against")  # 6/10, 60/100
    plain, refined = both(electorate, one_more)
    assert refined.deeming is not None and refined.deeming.applied
    assert refined == plain  # when the condition holds, deeming is exactly plain deeming


def test_area_exactly_half_with_owners_over_half_is_not_enough(electorate_of) -> None:
    electorate = electorate_of(["10"] * 6 + ["15"] * 4)  # 10 owners, 120 m²
    ballots = votes(o0="for", o1="for", o2="for", o3="for", o4="for", o5="for", o6="against")  # for: 6/10, 60/120
    plain, refined = both(electorate, ballots)
    assert_refused(plain, refined, "for")
    assert "6/10 户、60/120 ㎡" in refined.deeming.zh and "面积未超过总面积的一半" in refined.deeming.zh
    assert "the area is not more than half" in refined.deeming.en


def test_against_direction_at_the_boundary(electorate_of) -> None:
    electorate = electorate_of(["10"] * 8 + ["30", "30"])  # 10 owners, 140 m²
    # against: o0..o4 = 5/10 owners (exactly half) but 50 m²; for: o8 = 1 owner, 30 m²
    plain, refined = both(electorate, votes(o0="against", o1="against", o2="against", o3="against", o4="against",
                                            o8="for"))
    assert_refused(plain, refined, "against")
    assert "多数意见（反对）" in refined.deeming.zh and "户数和面积均" in refined.deeming.zh
    assert "the majority (against)" in refined.deeming.en
    # against: o0, o1, o2, o8, o9 = 5/10 owners (exactly half) with 90/140 m² (over half): not enough
    plain, refined = both(electorate, votes(o0="against", o1="against", o2="against", o8="against", o9="against",
                                            o3="for"))
    assert_refused(plain, refined, "against")
    assert "户数未超过总户数的一半" in refined.deeming.zh
    # against: o0..o5 + o9 = 7/10 owners, 90/140 m² (over half both ways)
    plain, refined = both(electorate, votes(o0="against", o1="against", o2="against", o3="against", o4="against",
                                            o5="against", o9="against", o8="for"))
    assert refined.deeming is not None and refined.deeming.applied and refined.deeming.direction == "against"
    assert refined == plain and refined.effective_outcome == "rejected"
    # owners over half, area over half by headcount only: 6/10 owners but 60/140 m²
    plain, refined = both(electorate, votes(o0="against", o1="against", o2="against", o3="against", o4="against",
                                            o5="against", o8="for"))
    assert_refused(plain, refined, "against")
    assert "面积未超过总面积的一半" in refined.deeming.zh


def test_four_decimal_areas_compare_exactly(electorate_of) -> None:
    # 5 owners, 100.0000 m²; for: o0, o1, o2 (3/5 owners) with exactly 50.0000 m², against: o3
    exact = electorate_of(["20.0001", "19.9999", "10.0000", "25.1234", "24.8766"])
    ballots = votes(o0="for", o1="for", o2="for", o3="against")
    plain, refined = both(exact, ballots)
    assert_refused(plain, refined, "for")
    assert "3/5 户、50/100 ㎡" in refined.deeming.zh
    # one ten-thousandth of a square metre over half: applies
    over = electorate_of(["20.0001", "19.9999", "10.0001", "25.1233", "24.8766"])
    plain, refined = both(over, ballots)
    assert refined.in_favour.area == Decimal("50.0001") and refined.eligible.area == Decimal("100.0000")
    assert refined.deeming is not None and refined.deeming.applied and refined == plain


def test_without_the_setting_nothing_changes(electorate_of) -> None:
    electorate = electorate_of(["10"] * 10)
    ballots = votes(o0="for", o1="for", o2="against")
    off = tally(electorate, ORDINARY, ballots, settings=TallySettings(deem_silent=True, deem_over_half=False))
    assert off == tally(electorate, ORDINARY, ballots, settings=PLAIN) and off.deeming.applied
    none = tally(electorate, ORDINARY, ballots)
    assert none.deeming is None and none.to_json() == tally(electorate, ORDINARY, ballots,
                                                          settings=TallySettings()).to_json()


# ---- properties -----------------------------------------------------------------------------------------

AREAS = st.sampled_from(["10", "10", "20", "15.5", "0.0001", "33.3333", "33.3334"]).map(Decimal) | st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("50"), places=4)


@st.composite
def cases(draw) -> tuple[Electorate, list[Ballot]]:
    areas = draw(st.lists(AREAS, min_size=1, max_size=9))
    rooms = tuple(Room(room_id=f"r{n}", building="1", entrance="1", floor="1", area_m2=a, owner_id=f"o{n}")
                  for n, a in enumerate(areas))
    electorate = Roll(rooms=rooms).select(Scope())
    chosen = draw(st.dictionaries(st.sampled_from(sorted(electorate.owner_areas)),
                                  st.sampled_from(["for", "for", "against", "abstain"])))
    return electorate, votes(**chosen)


@settings(max_examples=250, deadline=None)
@given(case=cases(), rule_id=st.sampled_from(sorted(RULES)))
def test_refinement_only_narrows_plain_deeming(case, rule_id) -> None:
    electorate, ballots = case
    rule = get_rule(rule_id)
    plain = tally(electorate, rule, ballots, settings=PLAIN)
    refined = tally(electorate, rule, ballots, settings=OVER_HALF)
    off = tally(electorate, rule, ballots, settings=TallySettings(deem_silent=True, deem_over_half=False))
    assert off.to_json() == plain.to_json()
    # plain deeming, stated independently: silent owners cast the majority's ballot, counted with deeming off
    eligible, cast = plain.eligible, plain.participating
    yes, no = plain.in_favour, plain.against
    direction = ("for" if yes.owners > no.owners and yes.area > no.area else
                 "against" if no.owners > yes.owners and no.area > yes.area else None)
    assert plain.deeming is not None and plain.deeming.applied == (direction is not None)
    if direction is not None:
        voted = {b.owner_id for b in ballots}
        silent = [Ballot(owner_id=o, choice=direction) for o in electorate.owner_areas if o not in voted]
        reference = tally(electorate, rule, ballots + silent)
        assert plain.deeming.result == reference
        assert plain.deeming.silent.owners == eligible.owners - cast.owners == len(silent)
    deeming = refined.deeming
    assert deeming is not None and deeming.direction == direction
    side = {"for": yes, "against": no}.get(direction or "")
    over_half = side is not None and 2 * side.owners > eligible.owners and 2 * side.area > eligible.area
    if deeming.applied:
        assert plain.deeming.applied and over_half
        assert refined == plain
    else:
        assert not (plain.deeming.applied and over_half)
        assert deeming.result is None and refined.effective_outcome == refined.outcome == plain.outcome
    assert deeming.applied == (plain.deeming.applied and over_half)


# ---- the setting without deem_silent is refused -----------------------------------------------------------


def _open(electorate_roll: Roll, t0, **deeming: bool) -> OpenBox:
    return OpenBox(deliberation_id="d", questions=(Question(text_zh="问", text_en="q"),), rule_id=ORDINARY.id,
                   scope=Scope(), roll=electorate_roll, opens_at=t0, closes_at=t0 + timedelta(days=1), **deeming)


def test_over_half_without_deeming_is_refused_wherever_a_box_is_configured(roll_of, t0) -> None:
    with pytest.raises(DeemingSettingsError) as info:
        TallySettings(deem_over_half=True)
    assert "请先开启 deem_silent" in zh(info.value) and "turn deem_silent on first" in en(info.value)
    roll = roll_of([("o1", "10"), ("o2", "20")])
    with pytest.raises(DeemingSettingsError):
        decide(BoxState(), _open(roll, t0, deem_over_half=True))
    opened = decide(BoxState(), _open(roll, t0, deem_silent=True, deem_over_half=True))
    assert isinstance(opened[0], BoxOpened) and opened[0].deem_over_half
    with pytest.raises(DeemingSettingsError):
        DeliberationSpec(procedure="elevator", title="t", rule_id=ORDINARY.id, scope=Scope(),
                         question=Question(text_zh="问", text_en="q"), opens_at=t0, closes_at=t0 + timedelta(days=1),
                         deem_over_half=True)
    with pytest.raises(ValidationError, match="YISHI_DEEM_SILENT=true"):
        Settings(deem_over_half=True, _env_file=None)
    assert Settings(deem_silent=True, deem_over_half=True, _env_file=None).deem_over_half


def test_cli_refuses_over_half_without_deem_silent(tmp_path) -> None:
    roll = tmp_path / "roll.csv"
    roll.write_text("room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone\n1-1-101,1,1,1,10,o1,甲,\n"
                    "1-1-102,1,1,1,10,o2,乙,\n1-1-103,1,1,1,10,o3,丙,\n", encoding="utf-8")
    ballots = tmp_path / "ballots.csv"
    ballots.write_text("owner_id,choice\no1,for\n", encoding="utf-8")
    args = ["tally", "--roll", str(roll), "--ballots", str(ballots), "--rule", ORDINARY.id, "--deem-over-half"]
    zh = CliRunner().invoke(cli, args)
    assert zh.exit_code == 2 and "须与 --deem-silent 一起使用" in zh.output and "Traceback" not in zh.output
    en = CliRunner().invoke(cli, [*args, "--lang", "en"])
    assert en.exit_code == 2 and "add --deem-silent" in en.output
    ok = CliRunner().invoke(cli, [*args, "--deem-silent", "--lang", "en"])  # o1 alone: 1/3 owners, not over half
    assert ok.exit_code == 0, ok.output
    assert "1 of 3 owners and 10 of 30 m²" in ok.output and "Outcome with silent owners deemed: no quorum" in ok.output


# ---- BoxOpened: the key is written only when true ---------------------------------------------------------

PRE_CHANGE_KEYS = {"type", "deliberation_id", "questions", "rule_id", "scope", "roll_digest", "roll", "roll_ref",
                   "opens_at", "closes_at", "ballots_changeable", "proxy_limit", "deem_silent"}


def test_box_opened_payload_keeps_its_old_keys_unless_the_setting_is_on(roll_of, t0) -> None:
    roll = roll_of([("o1", "10"), ("o2", "20")])
    plain = decide(BoxState(), _open(roll, t0, deem_silent=True))[0]
    payload = plain.model_dump(mode="json")
    assert set(payload) == PRE_CHANGE_KEYS  # same bytes, same hash as before the setting existed
    assert event_from_json("BoxOpened", plain.model_dump_json()) == plain
    refined = decide(BoxState(), _open(roll, t0, deem_silent=True, deem_over_half=True))[0]
    data = refined.model_dump(mode="json")
    assert set(data) == PRE_CHANGE_KEYS | {"deem_over_half"} and data["deem_over_half"] is True
    decoded = event_from_json("BoxOpened", refined.model_dump_json())
    assert decoded == refined and decoded.deem_over_half
