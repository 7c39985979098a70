"""``yishi up``: start (or reuse) PostgreSQL and Temporal, apply migrations, run the worker and the web
app as child processes, print where everything is, and stop it all cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from activities.db import migrate
from yishi.embedded import (
    ChildServer,
    EmbeddedError,
    EmbeddedPostgres,
    EmbeddedTemporal,
    _die_with_parent,
    choose_port,
)
from yishi.settings import Settings

log = structlog.get_logger(__name__)

TEMPORAL_PORT, TEMPORAL_UI_PORT, POSTGRES_PORT = 7233, 8233, 55432


def ensure_secret_key(settings: Settings, data_dir: Path) -> str:
    if settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    path = data_dir / "secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class Stack:
    """Everything ``yishi up`` started, in start order."""

    settings: Settings
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    servers: list[ChildServer] = field(default_factory=list)
    web_url: str = ""
    temporal_ui_url: str = ""
    database_url: str = ""
    temporal_address: str = ""

    def start_backends(self) -> None:
        s = self.settings
        self.database_url, self.temporal_address = s.database_url, s.temporal_address
        self.temporal_ui_url = s.temporal_ui_url
        if not self.database_url:
            pg = EmbeddedPostgres(data_dir=self.data_dir)
            pg.start(POSTGRES_PORT)
            self.servers.append(pg)
            self.database_url = pg.url
        if not self.temporal_address:
            temporal = EmbeddedTemporal(data_dir=self.data_dir)
            temporal.start(TEMPORAL_PORT, TEMPORAL_UI_PORT)
            self.servers.append(temporal)
            self.temporal_address, self.temporal_ui_url = temporal.address, temporal.ui_url

    def child_env(self, web_port: int) -> dict[str, str]:
        base_url = self.settings.public_base_url or f"http://{self.settings.web_host}:{web_port}"
        return {
            **os.environ,
            "YISHI_DATA_DIR": str(self.data_dir),
            "YISHI_DATABASE_URL": self.database_url,
            "YISHI_TEMPORAL_ADDRESS": self.temporal_address,
            "YISHI_TEMPORAL_UI_URL": self.temporal_ui_url,
            "YISHI_WEB_PORT": str(web_port),
            "YISHI_PUBLIC_BASE_URL": base_url,
            "YISHI_SECRET_KEY": ensure_secret_key(self.settings, self.data_dir),
        }

    def spawn(self, name: str, *args: str) -> ChildServer:
        logfile = open(self.data_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            [sys.executable, "-m", "yishi.cli", *args], env=self.env, stdout=logfile,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )
        logfile.close()
        server = ChildServer(name=name, process=process, log_path=self.data_dir / f"{name}.log")
        self.servers.append(server)
        return server

    def start_apps(self) -> None:
        web_port = choose_port(self.settings.web_port, "the web app")
        self.env = self.child_env(web_port)
        self.spawn("worker", "worker")
        web = self.spawn("web", "web")
        self.web_url = f"http://{self.settings.web_host}:{web_port}"
        wait_http(f"{self.web_url}/healthz", web)

    def stop(self) -> None:
        for server in reversed(self.servers):
            try:
                server.stop()
            except Exception as exc:  # keep stopping the others
                log.error("up.stop_failed", server=server.name, error=str(exc))
        self.servers.clear()


def wait_http(url: str, server: ChildServer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.running():
            raise EmbeddedError(f"{server.name} exited while starting:\n{server.tail_log()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise EmbeddedError(f"{url} did not answer in {timeout:.0f}s:\n{server.tail_log()}")


async def _wait_for_stop(stack: Stack) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    restarts: dict[str, int] = {}
    while not stop.is_set():
        for server in list(stack.servers):
            if server.name in ("worker", "web") and not server.running():
                # A crashed worker or web app is restarted; the durable state lives in the backends.
                restarts[server.name] = restarts.get(server.name, 0) + 1
                log.error("up.child_exited", server=server.name, restarts=restarts[server.name],
                          log_tail=server.tail_log(5))
                stack.servers.remove(server)
                stack.spawn(server.name, server.name)
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


def run_up(
    settings: Settings, data_dir: Path, *, demo: Callable[[Stack], Awaitable[list[str]]] | None = None
) -> None:
    """Run the stack until SIGINT/SIGTERM; print the web, Temporal UI and PostgreSQL URLs."""
    stack = Stack(settings=settings, data_dir=data_dir.resolve())
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack.start_backends()
        asyncio.run(migrate(stack.database_url))
        stack.start_apps()
        print(f"Web:         {stack.web_url}", flush=True)
        print(f"Temporal UI: {stack.temporal_ui_url or '(external Temporal; UI not managed)'}", flush=True)
        print(f"PostgreSQL:  {stack.database_url}", flush=True)
        if demo is not None:
            for line in asyncio.run(demo(stack)):
                print(line, flush=True)
        print("Yishi is running. Press Ctrl-C to stop.", flush=True)
        asyncio.run(_wait_for_stop(stack))
    finally:
        stack.stop()
        print("Yishi stopped.", flush=True)
