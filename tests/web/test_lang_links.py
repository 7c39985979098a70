"""The language switch never leads off the site (issue 17 item 8).

Found by an outside test: the 404 page for ``//evil.example/x`` linked to ``//evil.example/x?lang=en``, a link
to another site on this site's own page. The switch is now built from the route that matched (its template,
parameters percent-encoded), and without one it is the query alone (``?lang=en``, the same page)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import BASE_URL

HOSTILE = ["//evil.example/x", "///evil.example/x", "/\\evil.example", "/\\\\evil.example/x", "/%2F%2Fevil.example/x",
           "/%2f/evil.example", "/%5Cevil.example", "/%5C%5Cevil.example", "/%09/evil.example", "/%2F%5Cevil.example",
           "/v/%2F%2Fevil.example", "//evil.example/receipt?code=1"]
LINK = re.compile(r'(?:href|src|action)="([^"]*)"')


def on_site(url: str) -> bool:
    """A reference that keeps this site: a path with one leading slash, a query or a fragment, or this base."""
    if url.startswith(("?", "#")) or url.startswith(BASE_URL + "/"):
        return True
    return url.startswith("/") and not url.startswith(("//", "/\\")) and "evil.example" not in url


@pytest.mark.parametrize("path", HOSTILE)
async def test_no_off_site_link_on_the_page_of_a_hostile_path(client, path: str) -> None:
    for lang in ("", "?lang=en"):
        response = await client.get(BASE_URL + path + lang)
        assert response.status_code in (404, 405, 422), (path, response.status_code)
        links = LINK.findall(response.text)
        switch = re.search(r'<a class="lang" href="([^"]*)"', response.text)
        assert switch is not None and switch.group(1).startswith("?") and "lang=" in switch.group(1), (path, switch)
        assert all(on_site(url) for url in links), (path, [u for u in links if not on_site(u)])


async def test_a_matched_pages_switch_is_its_route(client, sign_in) -> None:
    page = await client.get(f"{BASE_URL}/receipt?code=&x=%22%3E")
    assert '<a class="lang" href="/receipt?code=&amp;x=%22%3E&amp;lang=en"' in page.text
    committee = await sign_in("committee")
    ticket = await committee.get(f"{BASE_URL}/console/escalations/t/a/b%5C%2F%2Fevil.example")
    switch = re.search(r'<a class="lang" href="([^"]*)"', ticket.text).group(1)  # type: ignore[union-attr]
    assert switch.startswith("/console/escalations/t/a/b%5C//evil.example?"), switch  # a path below the route's
