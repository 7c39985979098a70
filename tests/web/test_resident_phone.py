"""Every resident page on a phone (issue 21, item 5): each tap target at least 44 × 44 CSS px (measured in Chromium),
responses compressed, the stylesheet cacheable."""

from __future__ import annotations

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
