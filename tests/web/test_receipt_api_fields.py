"""What ``GET /api/v1/receipts/{code}`` hands out (issue 17 item 1): no more than a resident needs to check their
ballot, and nothing that opens a door to staff of another community.

A resident needs: which vote (the deliberation id, as on the notice sheet and ``/api/v1/deliberations/{id}``),
where the ballot is in its stream (seq, when recorded) and whether it lies under the sealed box's published head.
Not the choice or the owner (a receipt must not prove how, or whether still, someone voted), not a link, and no
ticket id. Ticket ids are derived from deliberation ids (``<deliberation>/esc-objection-1``), so they are not
secret either: what keeps another community's staff out is the walls of every route (tests/web/walls.py), not
the secrecy of ids."""

from __future__ import annotations

RESIDENT_NEEDS = {"deliberation_id", "seq", "recorded_at", "sealed", "final_seq", "final_hash", "under_final"}


async def test_the_receipt_api_says_where_the_ballot_is_and_nothing_more(client, open_deliberation) -> None:
    d = await open_deliberation(2)
    body = {"token": d.tokens["o000"], "choice": "against", "submission_id": "receipt-fields-0001"}
    code = (await client.post("/api/v1/ballots", json=body)).json()["code"]
    check = await client.get(f"/api/v1/receipts/{code}")
    assert check.status_code == 200
    answer = check.json()
    assert set(answer) == {"code", "ballots"} and [set(b) for b in answer["ballots"]] == [RESIDENT_NEEDS]
    assert answer["ballots"][0]["deliberation_id"] == d.id
    for secret in ("against", "o000", d.tokens["o000"], "esc-", "/v/", "/f/"):
        assert secret not in check.text, secret
