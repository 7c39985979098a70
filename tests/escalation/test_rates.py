"""响应率、解决率、满意率 over a seeded set of tickets (tests/escalation/seed.py), against values worked
out by hand. Period: March 2026; judged as of 2026-04-03 12:00.

Assignments in March (T6 is in April: left out):
  street:  T1a, T2a, T3a, T3b, T5a, T7a   (6)
  department: T2b (dept:housing), T4a (dept:urban)   (2)

Acknowledge: met = acted by the deadline; missed = late, or not done and the deadline passed while it was
theirs; void = ended (or still ahead) before the deadline.
  T1a met · T2a missed (escalated at its deadline) · T3a met · T3b met · T5a met · T7a void (cancelled first)
  T2b met · T4a missed (top level, never acknowledged)
Resolve:
  T1a met · T2a void (escalated before its resolve deadline) · T3a met · T3b met · T5a void (deadline
  04-06 is after AS_OF) · T7a void · T2b missed (resolved 03-20, due 03-11) · T4a missed (due 04-01)
Follow-ups: T1a satisfied · T3a not satisfied · T3b satisfied · T2b basically satisfied
"""

from __future__ import annotations

import uuid
from datetime import date
from fractions import Fraction

from tests.escalation.seed import AS_OF, seed
from yishi.services.escalations import fraction_json, rates_report, rebuild_projection


async def test_rates_match_hand_computed_values(store, pool) -> None:
    community = f"rates-{uuid.uuid4().hex[:6]}"
    await seed(store, pool, community)
    report = await rates_report(pool, date(2026, 3, 1), date(2026, 3, 31), AS_OF, community=community)
    street, dept = report.by_level["street"], report.by_level["department"]
    assert (street.assigned, dept.assigned, report.total.assigned) == (6, 2, 8)
    # street: acknowledge met 4 (T1a, T3a, T3b, T5a), missed 1 (T2a) → 4/5
    assert street.response_rate == Fraction(4, 5)
    # street: resolve met 3 (T1a, T3a, T3b), missed 0 → 3/3
    assert street.resolution_rate == Fraction(1)
    # street: (satisfied 2 + basically 0) / answered 3 → 2/3
    assert street.satisfaction_rate == Fraction(2, 3)
    # department: acknowledge met 1 (T2b), missed 1 (T4a) → 1/2; resolve met 0, missed 2 → 0; sat 1/1
    assert (dept.response_rate, dept.resolution_rate, dept.satisfaction_rate) == (Fraction(1, 2), Fraction(0),
                                                                                   Fraction(1))
    # total: acknowledge 5/(5+2); resolve 3/(3+2); satisfaction (2 + 1)/4
    total = report.total
    assert (total.response_rate, total.resolution_rate, total.satisfaction_rate) == (Fraction(5, 7), Fraction(3, 5),
                                                                                      Fraction(3, 4))
    urban = report.by_org["dept:urban"]
    assert (urban.response_rate, urban.resolution_rate, urban.satisfaction_rate) == (Fraction(0), Fraction(0), None)
    assert report.by_org["street"].response_rate == Fraction(4, 5)
    april = await rates_report(pool, date(2026, 4, 1), date(2026, 4, 30), AS_OF, community=community)
    assert april.total.assigned == 1 and april.total.response_rate == Fraction(1), "T6 only"


async def test_projection_rebuilds_from_the_streams(store, pool) -> None:
    community = f"rebuild-{uuid.uuid4().hex[:6]}"
    await seed(store, pool, community)
    before = await rates_report(pool, date(2026, 3, 1), date(2026, 3, 31), AS_OF, community=community)
    assert await rebuild_projection(store, pool) >= 7
    after = await rates_report(pool, date(2026, 3, 1), date(2026, 3, 31), AS_OF, community=community)
    assert after.total == before.total and after.by_org == before.by_org


def test_rates_in_json_are_exact_fractions_with_a_percentage_that_never_says_all_or_none() -> None:
    """The rates stay Fractions (domain/escalation_rates.py); JSON carries "n/d" and the one formatter's figure:
    1999 of 2000 on time is not "100.0", 1 of 2000 is not "0.0" (a float with :.1f said both)."""
    assert fraction_json(Fraction(5, 7)) == {"fraction": "5/7", "percent": "71.4"}
    assert fraction_json(Fraction(1999, 2000)) == {"fraction": "1999/2000", "percent": "99.9"}
    assert fraction_json(Fraction(1, 2000)) == {"fraction": "1/2000", "percent": "0.1"}
    assert fraction_json(Fraction(1)) == {"fraction": "1/1", "percent": "100.0"} and fraction_json(None) is None
