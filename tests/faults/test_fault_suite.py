"""The fault suite end to end: `yishi check faults` as a subprocess against its own embedded stack."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

SUMMARY = re.compile(
    r"^faults injected: (\d+), ballots accepted: (\d+), ballots found: (\d+), lost: (\d+), duplicated: (\d+), "
    r"bad inputs: (\d+), server errors: (\d+)$"
)


def run_suite(*args: str, timeout: int) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-m", "yishi.cli", "check", "faults", *args], capture_output=True,
                          text=True, timeout=timeout)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    match = SUMMARY.match(last)
    assert match, f"no summary line; stdout ends {done.stdout[-500:]!r}\nstderr:\n{done.stderr[-4000:]}"
    keys = ("faults", "accepted", "found", "lost", "duplicated", "bad_inputs", "server_errors")
    figures = dict(zip(keys, map(int, match.groups()), strict=True))
    assert done.returncode == 0, f"{last}\n{done.stderr[-4000:]}"
    return figures


def check(figures: dict[str, int]) -> None:
    assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["server_errors"] == 0, figures
    assert figures["accepted"] == figures["found"] > 0, figures
    assert figures["faults"] >= 5 and figures["bad_inputs"] > 0, figures


def test_fault_suite() -> None:
    check(run_suite(timeout=280))


@pytest.mark.slow
def test_fault_suite_long() -> None:
    check(run_suite("--long", timeout=900))
