"""Receipts in plain words first (issue 21, item 3): "您的选票已计入" / "这张选票已被您后来的选票替代" on her own
link, the hashes folded under the details, codes accepted without dashes, with spaces, in any case. The public
check never says whether a later ballot replaced one (a receipt shown to someone else must not tell how, or whether
still, she voted), and it no longer reads as "counted" for a replaced ballot."""

from __future__ import annotations

import re

import pytest

from tests.web.test_browser import PHONE, assert_accessible, shot
from yishi.services.voting import parse_receipt_code


def code_of(html: str) -> str:
    return re.search(r'id="receipt-code">([^<]+)<', html).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("written", ["42-3FA9C-07B1E", "42-3fa9c-07b1e", "423FA9C07B1E", "42 3FA9C 07B1E",
                                     " 42 - 3fa9c - 07b1e ", "４２－３ＦＡ９Ｃ－０７Ｂ１Ｅ", "42—3FA9C—07B1E",
                                     "42_3FA9C 07b1e"])
def test_a_code_is_read_however_it_is_written(written: str) -> None:
    assert parse_receipt_code(written) == (42, "3fa9c07b1e")


@pytest.mark.parametrize("wrong", ["", "42", "42-3FA9C-07B1", "42-3FA9C-07B1EE0", "3FA9C07B1E", "42-3GA9C-07B1E"])
def test_what_is_not_a_code(wrong: str) -> None:
    assert parse_receipt_code(wrong) is None


async def test_her_link_says_which_ballot_counts_and_the_public_check_does_not(client, open_deliberation, seal,
                                                                               fields) -> None:
    d = await open_deliberation(3)
    form = fields((await client.get(d.path("o000"))).text)
    first = await client.post(form["_action"], data={**form, "choice": "against"})
    assert first.status_code == 200
    assert '<strong>您的选票已计入。</strong>' in first.text, "plain words first"
    assert first.text.index("您的选票已计入") < first.text.index("<details>") < first.text.index("第 ")
    form = fields((await client.get(d.path("o000"))).text)
    second = await client.post(form["_action"], data={**form, "choice": "for"})
    old, new = code_of(first.text), code_of(second.text)
    page = (await client.get(d.path("o000"))).text
    mine = page[page.index('id="my-ballots"'):]
    assert mine.index("这张选票已被您后来的选票替代") < mine.index(old) < mine.index("您的选票已计入") < mine.index(new)

    await seal(d.id)
    for written in (old.replace("-", "").lower(), old.replace("-", " ")):
        check = await client.get("/receipt", params={"code": written})
        assert check.status_code == 200, written
        text = check.text
        assert "投票已结束，这张选票在最终记录中，没有被改动" in text
        assert "已计入" not in text and "替代" in text  # "does not say whether a later ballot replaced it"
        assert text.index("<details>") < text.index("链哈希") and text.index("<details>") < text.index("哈希链校验通过")
    closed = (await client.get(d.path("o000"))).text
    assert "这张选票已被您后来的选票替代" in closed and new in closed


async def test_on_a_phone_the_receipt_speaks_plainly(browser, live_server, open_deliberation, artifacts_dir) -> None:
    d = await open_deliberation(3)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(live_server + d.path("o001"))
        await page.get_by_text("同意", exact=True).click()
        await page.get_by_role("button", name="提交投票").click()
        assert "您的选票已计入" in await page.locator("#receipt-counts").inner_text()
        assert not await page.get_by_text("记录时间").is_visible(), "entry and time are folded"
        code = await page.locator("#receipt-code").inner_text()
        await shot(page, artifacts_dir, "receipt-phone-zh")
        await page.goto(live_server + "/receipt")
        await page.fill("#code", code.replace("-", " ").lower())
        await page.get_by_role("button", name="查询").click()
        assert await page.get_by_text("这张选票在投票记录中").is_visible()
        assert not await page.get_by_text("链哈希").is_visible()
        await page.get_by_text("核对用的详细信息").click()
        assert await page.get_by_text("链哈希").is_visible()
        await assert_accessible(page, "receipt check")
        await shot(page, artifacts_dir, "receipt-check-phone-zh")
    finally:
        await context.close()
