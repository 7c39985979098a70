"""The appraisal (考核评价) against a hand count (appraisal_seed.py), in SQL over the read model and in the domain over
the folded tickets: per grid, per worker (who served the grid when each turn was assigned), per department (joint
parts included), per community and per channel; the CSV and XLSX exports; the period labels."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from fractions import Fraction

import pytest
from openpyxl import load_workbook

from domain.escalation import fold
from domain.grid_appraisal import PeriodLabelError, appraise, period_of
from domain.legal_calendar import BEIJING
from tests.escalation.appraisal_seed import AS_OF, at, grid_file, seed
from yishi.services import structure
from yishi.services.appraisal import appraisal, report_json, to_csv, to_xlsx

MARCH = period_of("2026-03")


def counts(cell) -> tuple:  # noqa: ANN001
    return (cell.assigned, cell.ack_met, cell.ack_missed, cell.resolve_met, cell.resolve_missed, cell.satisfied,
            cell.basically_satisfied, cell.not_satisfied, cell.overdue, cell.reopened)


# (received, ack met, ack missed, resolve met, resolve missed, satisfied, basically, not, overdue, reopened)
HAND = {
    "grid": {"G1": (2, 1, 1, 1, 0, 1, 0, 0, 0, 0), "G2": (2, 2, 0, 1, 1, 1, 0, 1, 1, 1)},
    "worker": {"王": (1, 1, 0, 1, 0, 1, 0, 0, 0, 0), "钱": (1, 0, 1, 0, 0, 0, 0, 0, 0, 0),
               "孙": (2, 2, 0, 1, 1, 1, 0, 1, 1, 1)},
    "department": {"dept:market": (1, 1, 0, 1, 0, 0, 0, 0, 0, 0), "dept:supervision": (1, 1, 0, 1, 0, 0, 0, 0, 0, 0),
                   "dept:urban": (1, 0, 1, 0, 0, 0, 0, 0, 0, 0)},
    "channel": {"resident": (9, 7, 2, 6, 1, 3, 1, 1, 1, 1), "secretary": (1, 1, 0, 0, 0, 0, 0, 0, 0, 0)},
}


def named(dimension: str, key: str, c: str) -> str:
    return {"grid": f"grid:{c}:{key}", "worker": f"{key}-{c}"}.get(dimension, key)


@pytest.fixture
async def month(store, pool):  # noqa: ANN201
    c = f"ap{uuid.uuid4().hex[:6]}"
    await structure.import_grids(store, pool, grid_file(c), "g.csv", street="jc", by="cli t",
                                 at=datetime(2026, 1, 1, tzinfo=BEIJING))
    moved = at(15)
    await structure.change(store, pool, c, structure.unworker("G1", "grid_worker", f"王-{c}", "调岗", moved, "cli t"))
    await structure.change(store, pool, c, structure.worker("G1", "grid_worker", f"钱-{c}", moved, "cli t"))
    tickets = await seed(store, pool, c)
    return c, [fold(events) for events in tickets.values()], (await structure.load_structure(store, c))[0]


@pytest.mark.parametrize("dimension", sorted(HAND))
async def test_sql_and_domain_both_equal_the_hand_count(month, pool, dimension: str) -> None:
    c, tickets, s = month

    def workers(org: str, when: datetime) -> list[str]:
        return [t.person for t in s.workers(org.rsplit(":", 1)[1], when)]

    by_sql = await appraisal(pool, dimension, *MARCH, AS_OF, community=c)
    by_domain = appraise(tickets, dimension, *MARCH, AS_OF, workers)
    expected = {named(dimension, k, c): v for k, v in HAND[dimension].items()}
    assert {k: counts(v) for k, v in by_sql.cells.items()} == expected
    assert {k: counts(v) for k, v in by_domain.cells.items()} == expected
    assert counts(by_sql.total) == counts(by_domain.total)
    for key in expected:  # the means too, to the microsecond
        mine, theirs = by_sql.cells[key], by_domain.cells[key]
        assert (mine.respond_us, mine.resolve_us) == (theirs.respond_us, theirs.resolve_us), key


async def test_rates_and_means_are_exact(month, pool) -> None:
    c, _, _ = month
    grids = (await appraisal(pool, "grid", *MARCH, AS_OF, community=c)).cells
    g1, g2 = grids[f"grid:{c}:G1"], grids[f"grid:{c}:G2"]
    assert (g1.response_rate, g1.resolution_rate, g1.satisfaction_rate) == (Fraction(1, 2), 1, 1)
    assert (g2.response_rate, g2.resolution_rate, g2.satisfaction_rate) == (1, Fraction(1, 2), Fraction(1, 2))
    assert g1.mean_respond_s == 3600 and g1.mean_resolve_s == 72 * 3600, "only T1 was acknowledged and resolved"
    assert g2.mean_respond_s == 5400 and g2.mean_resolve_s == 120 * 3600
    total = (await appraisal(pool, "community", *MARCH, AS_OF, community=c)).cells[c]
    assert (total.assigned, total.response_rate, total.resolution_rate, total.satisfaction_rate) == (
        10, Fraction(4, 5), Fraction(6, 7), Fraction(4, 5))
    doc = report_json(await appraisal(pool, "worker", *MARCH, AS_OF, community=c, key=f"孙-{c}"))
    assert list(doc["cells"]) == [f"孙-{c}"], "a worker sees their own figures"
    assert doc["cells"][f"孙-{c}"]["mean_time_to_respond"] == {"seconds": "5400/1", "hours": "1.50"}
    assert doc["total"]["received"] == 2
    april = await appraisal(pool, "grid", *period_of("2026-04"), AS_OF, community=c)
    assert counts(april.cells[f"grid:{c}:G2"])[0] == 1, "T6 belongs to April"
    half = await appraisal(pool, "grid", *period_of("2026-H1"), AS_OF, community=c)
    assert counts(half.cells[f"grid:{c}:G2"])[0] == 3


async def test_exports(month, pool) -> None:
    c, _, _ = month
    report = await appraisal(pool, "grid", *MARCH, AS_OF, community=c)
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[0][:5] == ["对象", "接单", "按时响应", "响应超时", "响应率"] and rows[1][0] == "key"
    g1 = next(r for r in rows if r[0] == f"grid:{c}:G1")
    assert g1[1:5] == ["2", "1", "1", "50.0% (1/2)"] and g1[-2:] == ["1.00", "72.00"]
    assert rows[-1][0] == "合计 total" and rows[-1][1] == "4"
    sheet = load_workbook(io.BytesIO(to_xlsx(report))).worksheets[0]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == "对象" and [v for v in values if v[0] == f"grid:{c}:G2"][0][1] == 2


def test_period_labels() -> None:
    start, end = period_of("2026-H2")
    assert (start.month, end.year, end.month) == (7, 2027, 1)
    assert period_of("2026-12")[1] == datetime(2027, 1, 1, tzinfo=BEIJING)
    for bad in ("2026-13", "2026", "H1-2026", "2026-H3"):
        with pytest.raises(PeriodLabelError):
            period_of(bad)
