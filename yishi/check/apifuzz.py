"""Schemathesis against the JSON API of the running web process: cases generated from ``/api/openapi.json``,
valid ones and invalid ones, sent over HTTP. A 5xx answer is a server error; nothing else is judged here."""

from __future__ import annotations

import asyncio
import secrets

from yishi.check.context import Run


async def fuzz_api(run: Run) -> tuple[int, list[str]]:
    """Send generated requests to every API operation; return how many were sent and the 5xx seen."""
    try:
        import schemathesis  # noqa: F401 - a test extra
    except ImportError:
        return 0, ["schemathesis is not installed: pip install -e '.[test]'"]
    schema = (await run.http.get("/api/openapi.json")).json()
    examples = 150 if run.long else 30
    return await asyncio.to_thread(_fuzz, schema, run.stack.web_url, examples)


def _fuzz(document: dict, base_url: str, examples: int) -> tuple[int, list[str]]:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, given, seed, settings

    schema = schemathesis.openapi.from_dict(document)
    sent = 0
    errors: list[str] = []
    session = requests.Session()
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:

            @seed(20260901)
            @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: schemathesis.Case) -> None:
                nonlocal sent
                # Each case from its own address, as many residents would be: the per-address limit is not the point.
                address = f"192.168.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
                response = case.call(base_url=base_url, session=session, headers={"X-Forwarded-For": address},
                                     timeout=20)
                sent += 1
                if response.status_code >= 500:
                    errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                  f"{response.text[:200]}")

            send()
    return sent, errors
