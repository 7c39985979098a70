"""The appraisal page (考核评价) over the hand-counted month of tests/escalation/appraisal_seed.py: the street office
sees every grid worker's figures, a grid worker only their own whatever they ask, a department only its own; CSV
export; a bad period is refused."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from domain.grid_appraisal import period_of
from domain.legal_calendar import BEIJING
from tests.escalation.appraisal_seed import AS_OF, at, grid_file, seed
from tests.escalation.test_appraisal import HAND
from yishi.services import structure
from yishi.services.appraisal import appraisal

PAGE = "/console/escalations/appraisal"


def received(html: str, key: str) -> int | None:
    """The 'received' figure of ``key``'s row (a name as shown: a department by its name), or None when the page has
    no such row."""
    row = re.search(rf'<th scope="row"(?: translate="no")?>{re.escape(key)}</th><td>(\d+)</td>', html)
    return int(row.group(1)) if row else None


async def test_who_sees_which_figures(app, sign_in, store, pool) -> None:
    app.state.clock = lambda: AS_OF
    c = f"ap{uuid.uuid4().hex[:6]}"
    await structure.import_grids(store, pool, grid_file(c), "g.csv", street="jc", by="cli t",
                                 at=datetime(2026, 1, 1, tzinfo=BEIJING))
    moved = at(15)
    await structure.change(store, pool, c, structure.unworker("G1", "grid_worker", f"王-{c}", "调岗", moved, "cli t"))
    await structure.change(store, pool, c, structure.worker("G1", "grid_worker", f"钱-{c}", moved, "cli t"))
    await seed(store, pool, c)

    street = await sign_in("street_office", community=None)
    page = await street.get(PAGE, params={"dimension": "worker", "period": "2026-03"})
    assert page.status_code == 200, page.text[-600:]
    for name, hand in HAND["worker"].items():
        assert received(page.text, f"{name}-{c}") == hand[0], name

    worker = await sign_in("grid_worker", f"钱-{c}", community=c)
    own = await worker.get(PAGE, params={"dimension": "department", "period": "2026-03"})
    assert own.status_code == 200 and 'id="dimension"' not in own.text
    assert received(own.text, f"钱-{c}") == HAND["worker"]["钱"][0]
    assert received(own.text, f"王-{c}") is None and received(own.text, f"孙-{c}") is None

    dept = await sign_in("department", community=None, organisation="dept:urban")
    mine = await dept.get(PAGE, params={"dimension": "community", "period": "2026-03"})
    # A department's own figures count its turns in every community (other tests' months too): as the service does.
    urban = await appraisal(pool, "department", *period_of("2026-03"), AS_OF, key="dept:urban")
    own_figure = urban.cells["dept:urban"].assigned
    assert received(mine.text, "区城市管理委员会（城管）") == own_figure >= HAND["department"]["dept:urban"][0]
    assert received(mine.text, "区市场监督管理局") is None

    # 书记直通车 is a channel of its own in the reports, by its name: the committee's own community, hand-counted.
    committee = await sign_in("committee", community=c)
    channels = await committee.get(PAGE, params={"dimension": "channel", "period": "2026-03"})
    assert channels.status_code == 200, channels.text[-600:]
    rows = dict(re.findall(r'<th scope="row" class="channel">([^<]+)</th><td>(\d+)</td>', channels.text))
    assert rows == {"书记直通车": str(HAND["channel"]["secretary"][0]),
                    "居民反映": str(HAND["channel"]["resident"][0]), "合计": "10"}, rows
    assert "secretary" not in re.sub(r"<[^>]+>", "", channels.text), "the channel by its name, never its code"

    csv = await street.get(PAGE, params={"dimension": "grid", "period": "2026-03", "format": "csv"})
    assert csv.status_code == 200 and csv.text.startswith("\ufeff对象,接单"), csv.text[:80]
    assert f"grid:{c}:G1,{HAND['grid']['G1'][0]}," in csv.text
    bad = await street.get(PAGE, params={"period": "2026-13"})
    assert bad.status_code == 422
