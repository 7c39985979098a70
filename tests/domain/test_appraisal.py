"""Property appraisal: one rating per owner as the roll counts owners, exact results by item, the auditor's replay;
the credit code's check character (GB 32100-2015); the red/black list rule and the candidate flag."""

from __future__ import annotations

import datetime as dt
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.appraisal import (
    AlreadyRatedError,
    Appraisal,
    AppraisalError,
    Close,
    Rate,
    appraisal_problem,
    decide_close,
    decide_rate,
    fold,
)
from domain.appraisal_events import AppraisalEvent, AppraisalItem, AppraisalOpened, CompanyRef
from domain.company_decide import (
    AssignEstate,
    AttributeTicket,
    OpenRegister,
    RegisterCompany,
    ScheduleAppraisal,
    SetItems,
    decide,
)
from domain.company_events import ListPublished, ListThresholds
from domain.company_list import (
    AppraisalSummary,
    Register,
    RegisterError,
    TicketSummary,
    black_listed,
    compute_list,
)
from domain.company_list import fold as fold_register
from domain.credit_code import CreditCodeError, check_character, valid_credit_code
from domain.operator import Operator
from domain.roll import Roll, Room

BJ = timezone(timedelta(hours=8))
T0 = datetime(2025, 4, 7, 9, 0, tzinfo=BJ)
STREET = Operator(name="街道物业科", role="street_office", via="cli")
CODE = "91350200776049653A"
ITEMS = (AppraisalItem(item_id="cleaning", name_zh="保洁", weight=30),
         AppraisalItem(item_id="security", name_zh="秩序维护", weight=20),
         AppraisalItem(item_id="repairs", name_zh="维修", weight=50))


def roll() -> Roll:
    """O1 two rooms (one owner), O2 one room held by co-owners (one owner id), O3 one room."""
    rooms = [Room(room_id=r, building="1", entrance="1", floor="1", area_m2=Decimal(a), owner_id=o)
             for r, a, o in (("101", "80", "O1"), ("102", "40", "O1"), ("201", "100", "O2"), ("301", "60", "O3"))]
    return Roll(rooms=tuple(rooms))


def opened(weight: str = "headcount") -> AppraisalOpened:
    r = roll()
    return AppraisalOpened(at=T0, by=STREET, appraisal_id="appraisal-1", street="s", community="xfl", estate="幸福里",
                           company=CompanyRef(credit_code=CODE, name="安居物业"), period="2025Q2", items=ITEMS,
                           owner_weight=weight, roll_digest=r.digest(), roll=r.entries(), opens_at=T0,  # type: ignore
                           closes_at=T0 + timedelta(days=14))


def rate(owner: str, cleaning: int, security: int, repairs: int, at: datetime = T0) -> Rate:
    return Rate(at=at, by=Operator(name=owner, role="owner", via="link"), owner_id=owner,
                scores={"cleaning": cleaning, "security": security, "repairs": repairs})


def with_ratings(weight: str = "headcount") -> tuple[Appraisal, list[AppraisalEvent]]:
    events: list[AppraisalEvent] = [opened(weight)]
    for command in (rate("O1", 5, 4, 2), rate("O2", 3, 4, 5)):
        events += decide_rate(fold(events), command)
    return fold(events), events


def test_an_owner_of_several_rooms_or_co_owners_rate_once() -> None:
    state, _ = with_ratings()
    with pytest.raises(AlreadyRatedError, match="each owner rates once"):
        decide_rate(state, rate("O1", 1, 1, 1))
    with pytest.raises(AppraisalError, match="not on this appraisal's roll"):
        decide_rate(state, rate("O9", 1, 1, 1))
    with pytest.raises(AppraisalError, match="missing: 维修"):
        decide_rate(state, Rate(at=T0, by=STREET, owner_id="O3", scores={"cleaning": 3, "security": 3}))
    with pytest.raises(AppraisalError, match="rated 1 to 5"):
        decide_rate(state, rate("O3", 6, 3, 3))
    with pytest.raises(AppraisalError, match="closed"):
        decide_rate(state, rate("O3", 3, 3, 3, at=T0 + timedelta(days=14)))


def test_results_by_item_are_exact_by_headcount() -> None:
    state, events = with_ratings()
    closed = decide_close(state, Close(at=T0 + timedelta(days=14), by=STREET))
    result = closed[1].result  # type: ignore[union-attr]
    means = {i.item_id: i.mean for i in result.items}
    assert means == {"cleaning": Fraction(4), "security": Fraction(4), "repairs": Fraction(7, 2)}
    # (30×80 + 20×80 + 50×70) / 100 = 75
    assert result.score == Fraction(75) and (result.eligible, result.raters) == (3, 2)
    assert result.participation == Fraction(2, 3) and result.rated_area == Decimal(220)
    assert appraisal_problem([*events, *closed]) is None
    assert decide_close(fold([*events, *closed]), Close(at=T0, by=STREET)) == []


def test_area_weighting_weighs_each_owner_by_their_area_in_scope() -> None:
    state, _ = with_ratings("area")
    result = state.result()
    repairs = next(i for i in result.items if i.item_id == "repairs")
    # O1 (120 m²) gave 2, O2 (100 m²) gave 5: (240 + 500) / 220
    assert repairs.mean == Fraction(740, 220) and repairs.weight_total == Fraction(220)


def test_the_audit_replay_finds_an_altered_rating_or_result() -> None:
    state, events = with_ratings()
    closed = decide_close(state, Close(at=T0 + timedelta(days=14), by=STREET))
    altered = events[1].model_copy(update={"scores": {"cleaning": 1, "security": 4, "repairs": 2}})
    found = appraisal_problem([events[0], altered, events[2], *closed])
    assert found == (4, "the recorded result differs from the recount")
    twice = appraisal_problem([*events, events[1]])
    assert twice is not None and "rates once" in twice[1]
    late = events[2].model_copy(update={"at": T0 + timedelta(days=15)})
    found = appraisal_problem([events[0], events[1], late])
    assert found is not None and "closed" in found[1]


def test_credit_code_check_character() -> None:
    assert valid_credit_code(" 9135 0200 7760 4965 3a ") == CODE
    assert check_character("91350200776049653") == "A"
    with pytest.raises(CreditCodeError, match="should be 'A', not 'B'"):
        valid_credit_code("91350200776049653B")
    with pytest.raises(CreditCodeError, match="has 18 characters"):
        valid_credit_code("9135020077604965")
    with pytest.raises(CreditCodeError, match="'O'"):
        valid_credit_code("9135020077604965OA")


def register() -> Register:
    events: list = []
    for command in (OpenRegister(at=T0, by=STREET, street="s"),
                    RegisterCompany(at=T0, by=STREET, credit_code=CODE, name="安居物业"),
                    RegisterCompany(at=T0, by=STREET, credit_code="91350503MA31DKY80A", name="宜家物业"),
                    RegisterCompany(at=T0, by=STREET, credit_code="91440101MA5CJQ4N59", name="和美物业"),
                    AssignEstate(at=T0, by=STREET, estate="幸福里", community="xfl", credit_code=CODE,
                                 since=dt.date(2020, 1, 1)),
                    SetItems(at=T0, by=STREET, items=ITEMS)):
        events += decide(fold_register(events), command)  # type: ignore[arg-type]
    return fold_register(events)


def test_a_code_failing_the_check_needs_a_stated_exemption() -> None:
    state = register()
    with pytest.raises(RegisterError, match="should be '9', not 'B'"):
        decide(state, RegisterCompany(at=T0, by=STREET, credit_code="91350203M0001QAY9B", name="试点物业"))
    [event] = decide(state, RegisterCompany(at=T0, by=STREET, credit_code="91350203M0001QAY9B", name="试点物业",
                                            exemption="厦门早期试点代码，营业执照原件核对无误"))
    assert event.exemption  # type: ignore[union-attr]
    with pytest.raises(RegisterError, match="which company manages"):
        decide(state, ScheduleAppraisal(at=T0, by=STREET, appraisal_id="a", estate="无名小区", period="2025Q2"))


def summary(aid: str, code: str, score: int, participation: Fraction = Fraction(1, 2)) -> AppraisalSummary:
    return AppraisalSummary(appraisal_id=aid, credit_code=code, period="2025Q2", closed=True, score=Fraction(score),
                            participation=participation)


def test_the_red_black_list_from_scores_and_tickets() -> None:
    state = register()
    for ticket in ("t1", "t2", "t3", "t4", "t5", "t6"):
        for event in decide(state, AttributeTicket(at=T0, by=STREET, ticket_id=ticket,
                                                   credit_code="91440101MA5CJQ4N59")):
            state.apply(event)
    april = datetime(2025, 4, 20, tzinfo=BJ)
    tickets = [TicketSummary(ticket_id=t, opened_at=april) for t in ("t1", "t2", "t3", "t4")]
    tickets += [TicketSummary(ticket_id="t5", opened_at=april, cancelled=True),
                TicketSummary(ticket_id="t6", opened_at=datetime(2025, 7, 1, 0, 0, tzinfo=BJ))]  # next quarter
    appraisals = [summary("a1", CODE, 92), summary("a2", CODE, 90), summary("a3", "91350503MA31DKY80A", 59),
                  summary("a4", "91350503MA31DKY80A", 95, Fraction(1, 10)),  # too few took part: excluded
                  summary("a5", "91440101MA5CJQ4N59", 80)]
    entries = {e.credit_code: e for e in compute_list(state, "2025Q2", ListThresholds(), appraisals, tickets)}
    assert entries[CODE].list == "red" and entries[CODE].score == Fraction(91)
    assert entries["91350503MA31DKY80A"].list == "black" and entries["91350503MA31DKY80A"].excluded == ("a4",)
    assert entries["91440101MA5CJQ4N59"].list == "none" and entries["91440101MA5CJQ4N59"].tickets == (
        "t1", "t2", "t3", "t4")
    tickets.append(TicketSummary(ticket_id="t5", opened_at=april))  # the same ticket, not cancelled: 5 tickets
    fifth = compute_list(state, "2025Q2", ListThresholds(), appraisals, tickets[:4] + tickets[-1:])
    assert next(e for e in fifth if e.credit_code == "91440101MA5CJQ4N59").list == "black"


def test_black_listed_reads_each_streets_latest_list() -> None:
    state = register()
    entries = compute_list(state, "2025Q2", ListThresholds(), [summary("a3", "91350503MA31DKY80A", 40)], [])
    first = ListPublished(at=T0, by=STREET, period="2025Q2", thresholds=ListThresholds(), entries=entries)
    later = first.model_copy(update={"period": "2025Q3", "entries": ()})
    assert [s for s, _, _ in black_listed([("s", first)], "91350503MA31DKY80A")] == ["s"]
    assert black_listed([("s", first), ("s", later)], "91350503MA31DKY80A") == []


def test_thresholds_keep_the_lists_apart() -> None:
    with pytest.raises(ValueError, match="above the black list's"):
        ListThresholds(red_min_score=60, black_below_score=60)
