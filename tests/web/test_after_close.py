"""After the close the personal link shows what the owner voted, that it counted, and the result with its figures,
or when the result will be posted (issue 21, item 2): never "您的操作未被记录" to an owner who only opened her link."""

from __future__ import annotations

from datetime import timedelta

from tests.web.test_browser import PHONE, assert_accessible, shot


async def vote(client, d, owner: str, choice: str, fields) -> None:  # type: ignore[no-untyped-def]
    form = fields((await client.get(d.path(owner))).text)
    assert (await client.post(form["_action"], data={**form, "choice": choice})).status_code == 200


async def test_after_the_deadline_before_the_seal_she_sees_her_ballot_and_when_the_result_comes(
        app, client, open_deliberation, fields) -> None:
    d = await open_deliberation(3, paper_entry="PT2H")
    await vote(client, d, "o000", "for", fields)
    app.state.clock = lambda: d.closes_at + timedelta(minutes=1)
    page = await client.get(d.path("o000"))
    assert page.status_code == 200 and "未被记录" not in page.text
    assert "投票已于" in page.text and "您已投票：同意" in page.text and "这张选票已计入" in page.text
    assert "纸质选票录入完成后计票，结果最晚于" in page.text and 'name="choice"' not in page.text
    silent = (await client.get(d.path("o001"))).text
    assert "您没有参加本次投票" in silent and "这张选票已计入" not in silent


async def test_after_the_seal_she_sees_the_result_with_its_figures(app, client, open_deliberation, seal,
                                                                  fields) -> None:
    d = await open_deliberation(3)
    await vote(client, d, "o000", "for", fields)
    await vote(client, d, "o001", "for", fields)
    await vote(client, d, "o002", "against", fields)
    await seal(d.id)
    page = (await client.get(d.path("o002"))).text
    assert "您已投票：反对" in page and "这张选票已计入" in page
    assert "表决结果：通过" in page
    assert "全体 3 户中的 3 户" in page and "2 户，" in page and "1 户，" in page
    assert "参加投票的业主中，同意的户数和面积都要超过一半" in page
    assert "结果最晚于" not in page
    english = (await client.get(d.path("o002") + "?lang=en")).text
    assert "Result: approved" in english and "This ballot is counted." in english


async def test_on_a_phone_after_the_close(browser, live_server, client, open_deliberation, seal, fields,
                                          artifacts_dir) -> None:
    d = await open_deliberation(4)
    await vote(client, d, "o000", "abstain", fields)
    await seal(d.id)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(live_server + d.path("o000"))
        assert "这张选票已计入" in await page.locator("#mine-1").inner_text()
        assert "表决结果" in await page.locator("#outcome-1").inner_text()
        await assert_accessible(page, "after the close")
        await shot(page, artifacts_dir, "ballot-closed-phone-zh")
    finally:
        await context.close()
