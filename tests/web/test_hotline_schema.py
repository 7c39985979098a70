"""Schemathesis against the 12345 intake API (issue 19), over HTTP to the app on 127.0.0.1: cases generated from
its OpenAPI document, valid and invalid, each sent with the hotline's token and a valid signature over the exact
bytes (so the generated bodies reach the handlers, not only the signature check), every answer held to the
document: no server error, a documented status code, content type and body."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid

from yishi.services.hotline import register_hotline

PATHS = ("/api/v1/hotline/cases", "/api/v1/hotline/cases/{source}/{case_number}",
         "/api/v1/hotline/cases/{source}/{case_number}/rating")


def fuzz(document: dict, base_url: str, token: str, secret: str) -> tuple[int, list[str]]:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, given, seed, settings
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path not in PATHS:
            continue
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @seed(20261201)
            @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: schemathesis.Case) -> None:
                nonlocal sent
                kwargs = case.as_transport_kwargs(base_url=base_url)
                body = (json.dumps(kwargs["json"]).encode() if "json" in kwargs
                        else kwargs.get("data") if isinstance(kwargs.get("data"), bytes) else b"")
                stamp = str(int(time.time()))
                mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                headers = {**{k: str(v) for k, v in (kwargs.get("headers") or {}).items()},
                           "Authorization": f"Bearer {token}", "X-Yishi-Timestamp": stamp,
                           "X-Yishi-Signature": f"sha256={mac}", "Content-Type": "application/json"}
                response = session.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                           data=body or None, headers=headers, timeout=30)
                sent += 1
                try:
                    case.validate_response(response, checks=checks)
                except Exception as exc:  # a failure group from schemathesis: every check that failed
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{str(exc)[:300]}")

            send()
    return sent, failures


async def test_the_intake_api_keeps_to_its_document(app, client, live_server, pool, time_skipping_env) -> None:
    app.state.temporal = time_skipping_env.client  # no worker: a created ticket waits, which is all the API promises
    org = f"hotline:fuzz-{uuid.uuid4().hex[:6]}"
    token, secret = await register_hotline(pool, org, secret_key=app.state.settings.secret_key.get_secret_value(),
                                           callback_url=None)
    document = (await client.get("/api/openapi.json")).json()
    assert set(PATHS) <= set(document["paths"])
    sent, failures = await asyncio.to_thread(fuzz, document, live_server, token, secret)
    assert sent >= 100
    assert failures == [], "\n".join(failures[:10])
