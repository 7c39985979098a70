"""The receipt page is the template rendered once per box, language and choice, then filled in per ballot."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from yishi.i18n import translator
from yishi.services.links import resolve_link
from yishi.services.voting import load_box
from yishi.web.render import render_html
from yishi.web.voter import Voter, link_trace


async def test_each_receipt_shows_its_own_values_and_equals_the_template(app, client, pool, store, open_deliberation,
                                                                         fields) -> None:
    d = await open_deliberation(3)
    pages = []
    for owner in ("o000", "o001", "o002"):
        form = fields((await client.get(d.path(owner))).text)
        response = await client.post(form["_action"], data={**form, "choice": "for"})
        assert response.status_code == 200
        pages.append((owner, response.text))
    box = await load_box(store, d.id)
    codes = set()
    for owner, html in pages:
        assert "\x00" not in html
        stored = box.last_ballot(owner)
        code = re.search(r'id="receipt-code">([^<]+)<', html).group(1)
        assert code.startswith(f"{stored.seq}-") and stored.hash[:5].upper() in code
        codes.add(code)
        assert f"/receipt?code={code}" in html and f'href="/v/{d.tokens[owner]}"' in html
        assert translator("zh").when(stored.recorded_at) in html
        # Byte for byte what the template renders for this ballot.
        class Req:  # only what the template and render_html read
            query_params: dict[str, str] = {}
            url = None

        voter = Voter(await resolve_link(pool, d.tokens[owner]), box, None, datetime.now(UTC))
        trace = link_trace(voter, "zh")
        assert len(trace) == 1 and "其中包括您家的链接" in trace[0], "the links shown to the test: recorded"
        expected = render_html(Req(), "receipt.html", "zh", f"/v/{d.tokens[owner]}",  # type: ignore[arg-type]
                               receipt={"code": code, "seq": stored.seq, "choice": "for"},
                               recorded=translator("zh").when(stored.recorded_at), token=d.tokens[owner], question=None,
                               closes_at=box.opened.closes_at, changeable=box.opened.ballots_changeable,
                               for_rooms=None, trace=trace)
        assert html == expected
    assert len(codes) == 3
    english = fields((await client.get(d.path("o000") + "?lang=en")).text)
    again = await client.post(english["_action"] + "?lang=en", data={**english, "choice": "against"})
    assert again.status_code == 200 and "Receipt" in again.text and "\x00" not in again.text
