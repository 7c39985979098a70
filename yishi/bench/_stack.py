"""The stack a benchmark runs against: embedded PostgreSQL and Temporal in a temporary directory (free
ports), or existing ones given by URL/address; plus the web app and worker as child processes started the
way ``yishi up`` starts them (``python -m yishi.cli web|worker`` with ``YISHI_*`` in the environment)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from activities.db import migrate
from yishi.embedded import ChildServer, EmbeddedPostgres, EmbeddedTemporal, die_with_parent, free_port
from yishi.up import wait_http


@dataclass
class BenchStack:
    """Backends plus any children a bench started; ``stop()`` ends only what this stack started."""

    database_url: str = ""
    temporal_address: str = ""
    need_temporal: bool = True
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="yishi-bench-")))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    servers: list[ChildServer] = field(default_factory=list)
    postgres: EmbeddedPostgres | None = None
    temporal: EmbeddedTemporal | None = None
    # The embedded dev server's SQLite pragmas and extra dynamic config (None: as `yishi up` runs it).
    temporal_sqlite: dict[str, str] | None = None
    temporal_config: dict[str, object] = field(default_factory=dict)
    _own_dir: bool = True

    def start(self) -> BenchStack:
        if not self.database_url:
            self.postgres = EmbeddedPostgres(data_dir=self.data_dir)
            self.postgres.start(0)
            self.servers.append(self.postgres)
            self.database_url = self.postgres.url
        if self.need_temporal and not self.temporal_address:
            self.temporal = EmbeddedTemporal(data_dir=self.data_dir, dynamic_config=dict(self.temporal_config))
            if self.temporal_sqlite is not None:
                self.temporal.sqlite = dict(self.temporal_sqlite)
            self.temporal.start(0, headless=True)
            self.servers.append(self.temporal)
            self.temporal_address = self.temporal.address
        asyncio.run(migrate(self.database_url))
        return self

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "YISHI_DATA_DIR": str(self.data_dir),
            "YISHI_DATABASE_URL": self.database_url,
            "YISHI_TEMPORAL_ADDRESS": self.temporal_address,
            "YISHI_SECRET_KEY": self.secret_key,
            "YISHI_LOG_JSON": "true",
            **extra,
        }

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> ChildServer:
        log_path = self.data_dir / f"{name}.log"
        logfile = open(log_path, "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            [sys.executable, *args], env=env, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: die_with_parent(signal.SIGTERM),
        )
        logfile.close()
        server = ChildServer(name=name, process=process, log_path=log_path)
        self.servers.append(server)
        return server

    def start_web(self, **extra_env: str) -> tuple[str, ChildServer]:
        """``yishi web`` exactly as ``yishi up`` runs it, on a free port; returns its base URL."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        web = self.spawn("web", ["-m", "yishi.cli", "web"],
                         self.env(YISHI_WEB_HOST="127.0.0.1", YISHI_WEB_PORT=str(port), YISHI_PUBLIC_BASE_URL=base,
                                  **extra_env))
        wait_http(f"{base}/healthz", web)
        return base, web

    def stop(self) -> None:
        for server in reversed(self.servers):
            try:
                server.stop()
            except Exception:  # noqa: BLE001 - keep stopping the others
                pass
        self.servers.clear()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> BenchStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bench_stack(database_url: str | None, temporal_address: str | None, *, need_temporal: bool = True,
                temporal_sqlite: dict[str, str] | None = None,
                temporal_config: dict[str, object] | None = None) -> BenchStack:
    return BenchStack(database_url=database_url or "", temporal_address=temporal_address or "",
                      need_temporal=need_temporal, temporal_sqlite=temporal_sqlite,
                      temporal_config=dict(temporal_config or {}))
