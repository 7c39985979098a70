"""A company on a street's black list is flagged when the committee enters it as a candidate of a property-company
replacement on the console (when the dates are checked, before anything starts) and on the started deliberation's
page; a candidate's credit code with a wrong check character is refused on the form, the entry kept. Flagged,
never refused: the owners decide."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.testing import WorkflowEnvironment

from tests.points.appraisal_setup import BAD, GOOD, STREET_OFFICE, quarter, street_register, ticket_about
from tests.web.test_console_start import new_form, post, settings, started_id, temporal, workflow_input  # noqa: F401
from tests.web.test_matters import page_until
from tests.workflows.conftest import running_worker
from yishi.services import companies

FLAG = "列入街道"


async def test_a_black_listed_candidate_is_flagged_on_the_form_and_the_matter_page(  # type: ignore[no-untyped-def]
        sign_in, temporal, store, pool, settings) -> None:  # noqa: F811
    now = datetime.now(UTC)
    street = await street_register(store, now)
    for _ in range(5):
        await ticket_about(store, street, BAD, now)
    await companies.publish_list(store, street, quarter(now), by=STREET_OFFICE, now=now)
    committee = await sign_in("committee")
    keys = await new_form(committee, "property")
    candidates = f"A 安居物业 {BAD[:6]} {BAD[6:]}\nB 宜家物业 {GOOD}\nC 新物业"  # a code printed in groups is one code
    checked = await post(committee, {**keys, "check": "1", "candidates": candidates})
    assert checked.status_code == 200 and 'id="black-list"' in checked.text, checked.text[-800:]
    notice = checked.text[checked.text.index('id="black-list"'):]
    notice = notice[:notice.index("</div>")]
    assert f"候选 A（安居物业，{BAD}）" in notice and FLAG in notice and "宜家物业" not in notice

    wrong = await post(committee, {**keys, "candidates": f"A 安居物业 {BAD[:17]}B"})
    assert wrong.status_code == 422 and "候选公司，第1行" in wrong.text and "校验位应为“A”" in wrong.text
    assert f"{BAD[:17]}B" in wrong.text  # the entry is kept

    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, settings.task_queue):
        did = started_id(await post(committee, {**keys, "candidates": candidates, "proxy_limit": "3"}))
        given = await workflow_input(temporal, did)
        assert [c.get("credit_code") for c in given["candidates"]] == [BAD, GOOD, None]
        page = await page_until(committee, f"/console/d/{did}/matter", "cand-h", "the candidates on the matter page")
        table = page[page.index('id="cand-h"'):page.index("</table>", page.index('id="cand-h"'))]
        assert FLAG in table and "安居物业" in table and "不在黑榜上" in table and "未填写统一社会信用代码" in table
    await temporal.get_workflow_handle(did).terminate("test done")
