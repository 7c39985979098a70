"""The JSON API: its OpenAPI document, ballots with receipts, refusals as JSON; the body-size cap."""

from __future__ import annotations

import secrets


async def test_openapi_lists_only_the_api(client) -> None:
    document = (await client.get("/api/openapi.json")).json()
    assert document["paths"] and all(path.startswith("/api/") for path in document["paths"])
    assert "/api/v1/ballots" in document["paths"] and "/v/{token}" not in document["paths"]


async def test_ballot_receipt_and_the_same_submission_again(client, store, open_deliberation) -> None:
    d = await open_deliberation(2)
    body = {"token": d.tokens["o000"], "choice": "for", "submission_id": "phone-app-0001"}
    first = await client.post("/api/v1/ballots", json=body)
    again = await client.post("/api/v1/ballots", json=body)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["code"] == again.json()["code"]
    assert [e.type for e in await store.read(d.id)].count("BallotCast") == 1
    check = await client.get(f"/api/v1/receipts/{first.json()['code']}")
    assert check.status_code == 200 and check.json()["ballots"][0]["deliberation_id"] == d.id
    other = await client.post("/api/v1/ballots", json={**body, "choice": "against"})
    assert other.status_code == 409 and other.json()["error"] == "submission_used"
    status = (await client.get(f"/api/v1/deliberations/{d.id}")).json()
    assert status["box"] == "open" and status["head_seq"] is None


async def test_refusals_are_json(client, open_deliberation) -> None:
    d = await open_deliberation(1)
    forged = await client.post("/api/v1/ballots", json={"token": secrets.token_urlsafe(32), "choice": "for",
                                                        "submission_id": "forged-0001"})
    assert forged.status_code == 403 and forged.json()["message_zh"]
    invalid = await client.post("/api/v1/ballots", json={"token": d.tokens["o000"], "choice": "maybe"})
    assert invalid.status_code == 422 and invalid.json()["error"] == "bad_request"
    assert (await client.get("/api/v1/receipts/not-a-code")).status_code == 422
    assert (await client.get("/api/v1/deliberations/nope")).status_code == 404


async def test_oversized_bodies_get_413(client, open_deliberation) -> None:
    d = await open_deliberation(1)
    page = await client.post(d.path("o000"), data={"pad": "x" * (200 * 1024)})
    assert page.status_code == 413 and "提交内容过大" in page.text
    api = await client.post("/api/v1/ballots", content=b"{" + b" " * (200 * 1024) + b"}",
                            headers={"Content-Type": "application/json"})
    assert api.status_code == 413 and api.json()["error"] == "too_large"
