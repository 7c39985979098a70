"""`yishi up` as a user runs it: a subprocess that prints working URLs, stops every child on SIGTERM and
finds its earlier state when started again."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psutil

from yishi.embedded import free_port

URL_LINE = re.compile(r"^(Web|Temporal UI|PostgreSQL):\s+(\S+)")


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without its YISHI_* settings, plus ``settings`` (YISHI_<NAME>)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    return env | {"YISHI_LOG_JSON": "true"} | {f"YISHI_{k.upper()}": v for k, v in settings.items()}


def start_up(data_dir: Path, *extra: str, **settings: str) -> tuple[subprocess.Popen[str], dict[str, str], list[str]]:
    """``yishi up`` on a free web port (``web_port=""`` leaves YISHI_WEB_PORT unset), until it reports running."""
    settings.setdefault("web_port", str(free_port()))
    env = clean_env(**{k: v for k, v in settings.items() if v})
    proc = subprocess.Popen([sys.executable, "-m", "yishi.cli", "up", "--data-dir", str(data_dir), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    urls: dict[str, str] = {}
    lines: list[str] = []
    deadline = time.monotonic() + 180
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if match := URL_LINE.match(line):
            urls[match.group(1)] = match.group(2)
        if line.startswith("Yishi is running"):
            return proc, urls, lines
    proc.kill()
    raise AssertionError("yishi up did not report running:\n" + "\n".join(lines))


def stop_up(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "yishi up started no child processes"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    return alive


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status == 200


def pg_url(data_dir: Path, printed: str) -> str:
    """The printed PostgreSQL URL (no password outside the demo) with the password from the data dir."""
    password = (data_dir / "pg-password").read_text().strip()
    return printed if f":{password}@" in printed else printed.replace("yishi@", f"yishi:{password}@", 1)


async def _marker(database_url: str, write: bool) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS up_test_marker (at timestamptz)")
        if write:
            await conn.execute("INSERT INTO up_test_marker VALUES ($1)", datetime.now(UTC))
        return await conn.fetchval("SELECT count(*) FROM up_test_marker")
    finally:
        await conn.close()


def test_up_prints_working_urls_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    proc, urls, _ = start_up(tmp_path)
    try:
        assert set(urls) == {"Web", "Temporal UI", "PostgreSQL"}, urls
        assert http_ok(urls["Web"] + "/healthz")
        assert http_ok(urls["Temporal UI"])
        assert asyncio.run(_marker(pg_url(tmp_path, urls["PostgreSQL"]), write=True)) == 1
    finally:
        alive = stop_up(proc)
    assert not alive, f"children left behind after SIGTERM: {[p.pid for p in alive]}"

    proc, urls, lines = start_up(tmp_path, "--demo")
    try:
        assert asyncio.run(_marker(pg_url(tmp_path, urls["PostgreSQL"]), write=False)) == 1, \
            "state of the first run is gone"
        assert (tmp_path / "temporal.db").exists()
        links = [line.split()[-1] for line in lines if "/v/" in line]
        assert len(links) >= 10, "the demo printed no voting links:\n" + "\n".join(lines)
        assert all(link.startswith(urls["Web"]) for link in links)
        page = urllib.request.urlopen(links[0], timeout=10)
        html = page.read().decode("utf-8")
        assert page.status == 200 and "电梯" in html and 'name="choice"' in html, "the link shows no ballot form"
        intake = next(line.split()[-1] for line in lines if line.startswith("Residents raise a topic"))
        page = urllib.request.urlopen(intake, timeout=10)
        html = page.read().decode("utf-8")
        assert page.status == 200 and 'name="title"' in html, "the demo's intake link shows no form to raise a topic"
    finally:
        alive = stop_up(proc)
    assert not alive
