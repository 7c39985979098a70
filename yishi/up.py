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
from urllib.parse import urlsplit, urlunsplit

import structlog

from activities.db import migrate
from yishi.datadir import PRIVATE_UMASK, make_private_dir, open_private_log, tighten, write_private
from yishi.embedded import (
    ChildServer,
    EmbeddedError,
    EmbeddedPostgres,
    EmbeddedTemporal,
    choose_port,
    data_dir_group,
    die_with_parent,
    port_is_free,
)
from yishi.services.links import local_base
from yishi.settings import Settings
from yishi.uprecord import AlreadyRunningError, UpLock, UpRecord, read_record, write_record

log = structlog.get_logger(__name__)

TEMPORAL_PORT, TEMPORAL_UI_PORT, POSTGRES_PORT = 7233, 8233, 55432
LOGS = ("worker.log", "web.log", "postgres.log", "temporal.log")


def ensure_secret_key(settings: Settings, data_dir: Path) -> str:
    if settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(data_dir / "secret-key", secrets.token_urlsafe(48))
    return (data_dir / "secret-key").read_text().strip()


@dataclass
class Stack:
    """Everything ``yishi up`` started, in start order; ``previous`` is where the last run listened."""

    settings: Settings
    data_dir: Path
    previous: UpRecord | None = None
    env: dict[str, str] = field(default_factory=dict)
    servers: list[ChildServer] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    web_url: str = ""
    temporal_ui_url: str = ""
    database_url: str = ""
    temporal_address: str = ""

    def _port(self, name: str, default: int) -> int:
        return (self.previous.ports.get(name) if self.previous else None) or default

    def start_backends(self) -> None:
        s = self.settings
        self.database_url, self.temporal_address = s.database_url, s.temporal_address
        self.temporal_ui_url = s.temporal_ui_url
        if not self.database_url:
            pg = EmbeddedPostgres(data_dir=self.data_dir)
            pg.start(self._port("postgres", POSTGRES_PORT))
            self.servers.append(pg)
            self.database_url, self.ports["postgres"] = pg.url, pg.port
        if not self.temporal_address:
            temporal = EmbeddedTemporal(data_dir=self.data_dir)
            temporal.start(self._port("temporal", TEMPORAL_PORT), self._port("temporal_ui", TEMPORAL_UI_PORT))
            self.servers.append(temporal)
            self.temporal_address, self.temporal_ui_url = temporal.address, temporal.ui_url
            self.ports |= {"temporal": temporal.port, "temporal_ui": temporal.ui_port}

    def web_port(self) -> int:
        """YISHI_WEB_PORT when set; else the last run's port, kept even if taken (printed links point there)."""
        recorded = self.previous.ports.get("web") if self.previous else None
        if "web_port" in self.settings.model_fields_set or not recorded:
            return choose_port(self.settings.web_port, "the web app")
        if not port_is_free(recorded):
            raise EmbeddedError(
                f"port {recorded}, where the web app listened last time (kept so that printed links and QR codes "
                f"keep working), is in use; free it, or set YISHI_WEB_PORT to move the web app")
        return recorded

    @property
    def public_base_url(self) -> str:
        return self.settings.public_base_url or self.web_url

    def child_env(self, web_port: int) -> dict[str, str]:
        return {
            **os.environ,
            "YISHI_DATA_DIR": str(self.data_dir),
            "YISHI_DATABASE_URL": self.database_url,
            "YISHI_TEMPORAL_ADDRESS": self.temporal_address,
            "YISHI_TEMPORAL_UI_URL": self.temporal_ui_url,
            "YISHI_WEB_PORT": str(web_port),
            "YISHI_PUBLIC_BASE_URL": self.public_base_url,
            "YISHI_SECRET_KEY": ensure_secret_key(self.settings, self.data_dir),
        }

    def spawn(self, name: str, *args: str) -> ChildServer:
        log_path = self.data_dir / f"{name}.log"
        logfile = open_private_log(log_path)  # owned by the child
        process = subprocess.Popen(
            [sys.executable, "-m", "yishi.cli", *args], env=self.env, stdout=logfile,
            stderr=subprocess.STDOUT, start_new_session=True, umask=PRIVATE_UMASK,
            preexec_fn=lambda: die_with_parent(signal.SIGTERM),
        )
        logfile.close()
        server = ChildServer(name=name, process=process, log_path=log_path)
        self.servers.append(server)
        return server

    def start_apps(self) -> None:
        web_port = self.web_port()
        self.ports["web"] = web_port
        self.web_url = f"http://{self.settings.web_host}:{web_port}"
        self.env = self.child_env(web_port)
        self.spawn("worker", "worker")
        web = self.spawn("web", "web")
        wait_http(f"{self.web_url}/healthz", web)

    def record(self) -> UpRecord:
        return UpRecord(pid=os.getpid(), ports=self.ports, temporal_address=self.temporal_address,
                        temporal_ui_url=self.temporal_ui_url, web_url=self.web_url,
                        database="external" if self.settings.database_url else "embedded",
                        public_base_url=self.settings.public_base_url)

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
    """Run the stack until SIGINT/SIGTERM; print the web, Temporal UI and PostgreSQL addresses."""
    data_dir = data_dir.resolve()
    make_private_dir(data_dir, None if settings.database_url else data_dir_group())
    tighten(*(data_dir / name for name in LOGS))
    try:
        lock = UpLock(data_dir)
    except AlreadyRunningError as exc:
        raise EmbeddedError(str(exc)) from None
    stack = Stack(settings=settings, data_dir=data_dir, previous=read_record(data_dir))
    try:
        stack.start_backends()
        asyncio.run(migrate(stack.database_url))
        stack.start_apps()
        write_record(data_dir, stack.record())
        for line in banner(stack, secrets_too=demo is not None):
            print(line, flush=True)
        if demo is not None:
            for line in asyncio.run(demo(stack)):
                print(line, flush=True)
        print("Yishi is running. Press Ctrl-C to stop.", flush=True)
        asyncio.run(_wait_for_stop(stack))
    finally:
        stack.stop()
        lock.release()
        print("Yishi stopped.", flush=True)


def banner(stack: Stack, *, secrets_too: bool) -> list[str]:
    """Where everything is; the PostgreSQL password only in the demo (it is in the data dir otherwise)."""
    database = stack.database_url if secrets_too else _without_password(stack.database_url)
    if not secrets_too and not stack.settings.database_url:
        database += f"  (password in {stack.data_dir / 'pg-password'})"
    lines = [f"Web:         {stack.web_url}",
             f"Temporal UI: {stack.temporal_ui_url or '(external Temporal; UI not managed)'}",
             f"PostgreSQL:  {database}",
             f"Other terminals: yishi commands find this stack through {stack.data_dir} "
             "(run them in this project, or pass --data-dir / YISHI_DATA_DIR)"]
    if local_base(stack.public_base_url):
        log.warning("up.public_address_local", public_base_url=stack.public_base_url)
        lines += ["", "!" * 100,
                  f"!! 警告：投票链接和通知单上的二维码指向 {stack.public_base_url}，业主的手机打不开这个地址。",
                  "!! 打印通知单之前，请把 YISHI_PUBLIC_BASE_URL 设为业主能访问的地址（如 https://yishi.example.cn），",
                  "!! 或在局域网内设置 YISHI_WEB_HOST=0.0.0.0 和 YISHI_PUBLIC_BASE_URL=http://<本机局域网地址>:<端口>。",
                  f"!! WARNING: voting links and the QR codes on notice sheets point at {stack.public_base_url}, "
                  "which owners' phones cannot open.",
                  "!! Before printing sheets, set YISHI_PUBLIC_BASE_URL to an address owners reach (e.g. "
                  "https://yishi.example.cn),",
                  "!! or on a local network YISHI_WEB_HOST=0.0.0.0 and "
                  "YISHI_PUBLIC_BASE_URL=http://<LAN address>:<port>.",
                  "!" * 100, ""]
    return lines


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
