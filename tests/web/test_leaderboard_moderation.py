"""The committee hides a name a person chose for the public leaderboard (issue 20's board showed it unmoderated): the
reason recorded as ``LeaderboardNameHidden`` in the community's ledger, naming the account (what auditors read in
the chain; the stream keeps the name's sha256, never the words); the board then shows the masked name; a new name
shows until hidden in turn; no reason, or a person of another community, is refused with nothing recorded."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from domain.points_decide import SetOptIn
from domain.points_events import points_stream
from tests.web.test_console_points import ledger_with_people
from tests.web.test_person_pages import COMMITTEE, csrf_of
from yishi.services import points

BOARD = re.compile(r'<table id="leaderboard">.*?</table>', re.S)


async def test_the_committee_hides_a_name_from_the_leaderboard(client, pool, store, sign_in) -> None:  # type: ignore[no-untyped-def]
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    people = await ledger_with_people(pool, store, community)
    zhang = people["张建国"]
    await points.act(store, community, SetOptIn(at=datetime.now(UTC), by=COMMITTEE, person_id=zhang, opted_in=True))
    await points.set_display_name(pool, zhang, "骂人的话")
    public = f"/c/{quote(community)}/points"
    assert "骂人的话" in BOARD.search((await client.get(public)).text)[0]

    committee = await sign_in("committee", community=community)
    page = (await committee.get("/console/points")).text
    assert 'action="/console/points/leaderboard/hide"' in page and "骂人的话" in page
    stream = points_stream(community)
    before = await store.head(stream)
    empty = await committee.post("/console/points/leaderboard/hide", data={**csrf_of(page), "person": zhang,
                                                                          "reason": " "})
    assert empty.status_code == 409 and "写明" in empty.text, re.findall(r'role="alert"[^<]*<?[^<]*', empty.text)
    outsider = await sign_in("committee", community=f"和平社区-{uuid.uuid4().hex[:6]}")
    theirs = (await outsider.get("/console/points")).text
    aside = await outsider.post("/console/points/leaderboard/hide", data={**csrf_of(theirs), "person": zhang,
                                                                         "reason": "不文明", "community": community})
    assert aside.status_code == 409 and zhang in aside.text  # "no person" in its own ledger
    assert await store.head(stream) == before, "nothing recorded on a refusal"

    done = await committee.post("/console/points/leaderboard/hide", data={**csrf_of(page), "person": zhang,
                                                                         "reason": "含不文明用语"})
    assert done.status_code == 303, done.text[-600:]
    board = BOARD.search((await client.get(public)).text)[0]
    assert "骂人的话" not in board and "张**" in board, board
    hidden = [e for e in await store.read(stream) if e.type == "LeaderboardNameHidden"]
    assert len(hidden) == 1 and hidden[0].payload["reason"] == "含不文明用语"
    assert hidden[0].payload["name_sha256"] == hashlib.sha256("骂人的话".encode()).hexdigest()
    assert hidden[0].payload["by"]["role"] == "committee" and hidden[0].payload["by"]["via"] == "console"
    assert "骂人的话" not in repr([e.payload for e in await store.read(stream)]), "the words stay out of the chain"
    shown = (await committee.get("/console/points")).text
    assert "含不文明用语" in re.search(r'<table id="hidden-names">.*?</table>', shown, re.S)[0]

    await points.set_display_name(pool, zhang, "热心的老张")  # a new name of their own: shown until hidden in turn
    assert "热心的老张" in BOARD.search((await client.get(public)).text)[0]
