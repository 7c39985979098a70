"""The real embedded stack, under the fault suite's control: PostgreSQL, the Temporal dev server, a worker
process and a web process, all in one temporary data directory on free ports.

The worker and the web app are started exactly as ``yishi up`` starts them (``python -m yishi.cli worker`` and
``… web`` configured by ``YISHI_*`` variables); the servers are the same embedded binaries. What this adds is
the ability to hurt them: SIGKILL the worker, stop and restart Temporal on the same port with its SQLite file,
stop and restart PostgreSQL on the same port with its data.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from yishi.embedded import ChildServer, EmbeddedError, EmbeddedPostgres, EmbeddedTemporal, die_with_parent, free_port
from yishi.up import wait_http

log = structlog.get_logger(__name__)


@dataclass
class FaultStack:
    """Everything the fault suite runs against; ``start()`` brings it up, ``stop()`` takes it all down."""

    data_dir: Path
    task_queue: str = "yishi"
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    postgres: EmbeddedPostgres | None = None
    temporal: EmbeddedTemporal | None = None
    worker: ChildServer | None = None
    web: ChildServer | None = None
    web_port: int = 0
    worker_starts: int = 0

    @property
    def database_url(self) -> str:
        assert self.postgres is not None
        return self.postgres.url

    @property
    def temporal_address(self) -> str:
        assert self.temporal is not None
        return self.temporal.address

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> None:
        import asyncio

        from activities.db import migrate

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = EmbeddedPostgres(data_dir=self.data_dir)
        self.postgres.start(0)
        asyncio.run(migrate(self.postgres.url))
        self.temporal = EmbeddedTemporal(data_dir=self.data_dir)
        self.temporal.start(0, headless=True)
        self.web_port = free_port()
        self.start_worker()
        self.start_web()

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "YISHI_DATA_DIR": str(self.data_dir),
            "YISHI_DATABASE_URL": self.database_url,
            "YISHI_TEMPORAL_ADDRESS": self.temporal_address,
            "YISHI_TASK_QUEUE": self.task_queue,
            "YISHI_WEB_HOST": "127.0.0.1",
            "YISHI_WEB_PORT": str(self.web_port),
            "YISHI_PUBLIC_BASE_URL": self.web_url,
            "YISHI_SECRET_KEY": self.secret_key,
            "YISHI_ESCALATION_WEBHOOK_SECRET": self.webhook_secret,
            "YISHI_LOG_JSON": "true",
            "YISHI_LOG_LEVEL": "WARNING",
            "YISHI_BODY_IDLE_TIMEOUT_S": "3",  # scenario 6 waits this long for a stalled body's 408
            "YISHI_HISTORIES_DIR": str(self.data_dir / "histories"),
            "YISHI_HISTORY_SWEEP_SECONDS": "2",  # scenario 10 waits for the keeper's sweep
            "YISHI_NOTICE_BACKOFF_SCALE": "0.02",  # a notice the gateway refused is tried again in seconds, not minutes
        }

    def _spawn(self, name: str) -> ChildServer:
        log_path = self.data_dir / f"{name}.log"
        logfile = open(log_path, "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            [sys.executable, "-m", "yishi.cli", name], env=self.env(), stdout=logfile, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=lambda: die_with_parent(signal.SIGTERM),
        )
        logfile.close()
        return ChildServer(name=name, process=process, log_path=log_path)

    def start_worker(self) -> None:
        self.worker = self._spawn("worker")
        self.worker_starts += 1

    def kill_worker(self) -> int:
        """SIGKILL the worker: no shutdown, no flush, no goodbye to Temporal. Returns its pid."""
        assert self.worker is not None and self.worker.process is not None
        pid = self.worker.process.pid
        self.worker.process.kill()
        self.worker.process.wait(10)
        log.info("faults.worker_killed", pid=pid)
        return pid

    def ensure_worker(self) -> bool:
        """Restart the worker if it exited on its own (as ``yishi up`` would); True if it had to."""
        if self.worker is not None and self.worker.running():
            return False
        self.start_worker()
        return True

    def start_web(self) -> None:
        self.web = self._spawn("web")
        wait_http(f"{self.web_url}/healthz", self.web)

    def restart_temporal(self, down_seconds: float) -> None:
        """Stop the dev server, stay down ``down_seconds``, start it again on the same port and SQLite file."""
        assert self.temporal is not None
        port = self.temporal.port
        self.temporal.stop()
        time.sleep(down_seconds)
        self.temporal = EmbeddedTemporal(data_dir=self.data_dir)
        self.temporal.start(port, headless=True)
        if self.temporal.port != port:
            raise EmbeddedError(f"Temporal came back on port {self.temporal.port}, not {port}")

    def stop_postgres(self) -> None:
        assert self.postgres is not None
        self.postgres.stop()

    def start_postgres(self) -> None:
        assert self.postgres is not None
        port = self.postgres.port
        self.postgres.start(port)
        if self.postgres.port != port:
            raise EmbeddedError(f"PostgreSQL came back on port {self.postgres.port}, not {port}")

    def stop(self) -> None:
        for server in (self.web, self.worker, self.temporal, self.postgres):
            if server is None:
                continue
            try:
                server.stop()
            except Exception as exc:  # keep stopping the others
                log.error("faults.stop_failed", server=server.name, error=str(exc))

    def tails(self) -> str:
        parts = []
        for server in (self.worker, self.web):
            if server is not None:
                parts.append(f"--- {server.name} ---\n{server.tail_log(15)}")
        return "\n".join(parts)

