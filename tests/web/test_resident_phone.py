"""Every resident page on a phone (issue 21, item 5): each tap target at least 44 × 44 CSS px (measured in Chromium),
responses compressed, the stylesheet cacheable."""

from __future__ import annotations

import asyncio
import re

from tests.web.test_browser import PHONE

MIN = 44
# What a finger taps: links, buttons, folded details, text fields; a radio button is tapped through its label.
TARGETS = """() => {
  const out = [];
  const seen = new Set();
  for (const el of document.querySelectorAll('a[href], button, summary, input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const target = (el.type === 'radio' || el.type === 'checkbox') ? (el.closest('label') || el) : el;
    if (seen.has(target)) continue;
    seen.add(target);
    const box = target.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;       // not rendered (inside closed details)
    if (box.right < 0 || box.bottom < 0) continue;           // the skip link, off-screen until focused
    out.push({what: target.outerHTML.slice(0, 90), width: box.width, height: box.height});
  }
  return out;
}"""


async def too_small(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return [t for t in await page.evaluate(TARGETS) if t["width"] < MIN or t["height"] < MIN]


async def test_every_tap_target_on_the_resident_pages_is_at_least_44_px(browser, live_server, client,
                                                                        open_deliberation, seal, fields) -> None:
    d = await open_deliberation(4)
    closed = await open_deliberation(2)
    await seal(closed.id)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    small: dict[str, list[dict]] = {}
    try:
        async def measure(name: str) -> None:
            for summary in await page.locator("summary").all():  # open what is folded: its contents count too
                await summary.click()
            found = await too_small(page)
            if found:
                small[name] = found

        await page.goto(live_server + d.path("o000"))
        await measure("ballot")
        await page.get_by_text("同意", exact=True).click()
        await page.get_by_role("button", name="提交投票").click()
        await page.locator("#receipt-code").wait_for()
        code = await page.locator("#receipt-code").inner_text()
        await measure("receipt")
        await page.goto(live_server + d.path("o000"))
        await measure("ballot after voting")
        await page.fill("#proxy-room", "9-9-999")
        await page.get_by_role("button", name="委托").click()
        await measure("proxy error")
        await page.goto(f"{live_server}/receipt?code={code}")
        await measure("receipt check")
        await page.goto(f"{live_server}/receipt?code=1-2")
        await measure("receipt check, bad code")
        await page.goto(live_server + closed.path("o000"))
        await measure("after the close")
        await page.goto(live_server + "/v/" + "x" * 43)
        await measure("invalid link")
    finally:
        await context.close()
    assert not small, small


async def test_pages_are_compressed_and_the_stylesheet_cached(client, open_deliberation) -> None:
    d = await open_deliberation(2)
    page = await client.get(d.path("o000"), headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "no-store", "a personal page is never cached"
    css_url = re.search(r'<link rel="stylesheet" href="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"/static/yishi\.css\?v=[0-9a-f]{12}", css_url)
    css = await client.get(css_url, headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200 and css.headers["content-encoding"] == "gzip"
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    plain = await client.get("/static/yishi.css")
    assert plain.headers["cache-control"] == "public, max-age=3600", "unversioned: an hour"
    again = await client.get(css_url, headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304


async def test_a_ballot_lost_to_the_network_keeps_her_choice_and_never_counts_twice(browser, live_server, store,
                                                                                   open_deliberation,
                                                                                   artifacts_dir) -> None:
    """The ballot reaches the server but the answer is lost: she opens her link again, finds her choice kept and the
    note, presses again and gets the first ballot's receipt; one ballot is in the stream. (With ballots final the page
    she opens again says she has voted, and shows no form.)"""
    from tests.web.test_browser import shot

    d = await open_deliberation(3)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    lost = []

    async def lose_the_answer(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method == "POST" and not lost:
            lost.append(await route.fetch())  # the server records the ballot; the phone never hears back
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    try:
        url = live_server + d.path("o001")
        await page.goto(url)
        assert not await page.locator(".retry-note").is_visible()
        assert await page.get_by_text("同一张选票不会重复计入").is_visible()
        await page.route("**/v/**", lose_the_answer)
        await page.get_by_text("反对", exact=True).click()
        await page.get_by_role("button", name="提交投票").click()
        for _ in range(200):  # the aborted navigation ends on the browser's error page, as the phone would show
            if page.url.startswith("chrome-error:"):
                break
            await asyncio.sleep(0.05)
        assert lost and lost[0].status == 200 and page.url.startswith("chrome-error:")
        first_code = re.search(r'id="receipt-code">([^<]+)<', await lost[0].text()).group(1)  # type: ignore[union-attr]
        await page.goto(url)
        assert await page.locator(".retry-note").is_visible()
        assert await page.get_by_label("反对", exact=True).is_checked(), "her choice is kept"
        await shot(page, artifacts_dir, "ballot-retry-phone-zh")
        await page.get_by_role("button", name="提交投票").click()
        await page.locator("#receipt-code").wait_for()
        assert (await page.locator("#receipt-code").inner_text()).strip() == first_code
        await page.goto(url)
        assert not await page.locator(".retry-note").is_visible(), "the receipt cleared what was kept"
    finally:
        await context.close()
    ballots = [e for e in await store.read(d.id) if e.type == "BallotCast"]
    assert [e.payload["choice"] for e in ballots] == ["against"], "pressing again never counted twice"
