"""`yishi up` in one terminal, every other command in another with only the data dir: the record of where `yishi up`
listens, the ports it keeps across restarts, and a data dir nobody else can read."""

from __future__ import annotations

import json
import os
import pwd
import re
import stat
import subprocess
import sys
from pathlib import Path

from tests.test_cli_exit import write_roll
from tests.test_up import clean_env, start_up, stop_up
from yishi.embedded import kept_port
from yishi.uprecord import UpRecord, write_record

PRIVATE_FILES = ("secret-key", "pg-password", "up.json", "up.lock", "worker.log", "web.log", "postgres.log",
                 "temporal.log", "temporal.db")


def yishi(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yishi.cli", *args], cwd=cwd, env=clean_env(**settings),
                          capture_output=True, text=True, timeout=120)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(data_dir: Path) -> None:
    """The data dir 0700 (0710 for the PostgreSQL account's group when run as root), everything in it 0600/0700."""
    if os.geteuid() == 0:
        assert (mode(data_dir), data_dir.stat().st_gid) == (0o710, pwd.getpwnam("yishi-pg").pw_gid)
        nobody = subprocess.run(["cat", str(data_dir / "pg-password")], user="nobody", capture_output=True)
        assert nobody.returncode != 0, "another account can read the data dir"
    else:
        assert mode(data_dir) == 0o700
    assert set(PRIVATE_FILES) <= {p.name for p in data_dir.iterdir()}
    loose = {p.name: oct(mode(p)) for p in data_dir.iterdir() if mode(p) & 0o077}
    assert not loose, f"group or others may read: {loose}"


def test_another_terminal_finds_the_stack_and_a_restart_keeps_its_ports(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    (data_dir / "temporal.log").write_text("an older version's log\n")
    (data_dir / "temporal.log").chmod(0o644)
    roll = write_roll(tmp_path / "roll.csv")
    # Ports of an earlier run, away from the defaults that other `yishi up`s on this machine may hold, and outside
    # the ephemeral range: an outgoing connection elsewhere on the machine must not take one between the two starts.
    chosen: list[int] = []
    while len(chosen) < 4:
        port = kept_port()
        chosen += [port] if port not in chosen else []
    earlier = dict(zip(("postgres", "temporal", "temporal_ui", "web"), chosen, strict=True))
    write_record(data_dir, UpRecord(pid=1, ports=earlier, temporal_address="", web_url="", database="embedded"))
    proc, urls, lines = start_up(data_dir, web_port="")
    try:
        password = (data_dir / "pg-password").read_text().strip()
        assert not any(password in line for line in lines), "the PostgreSQL password is printed outside the demo"
        assert any(line.startswith("!! WARNING: voting links and the QR codes") for line in lines), lines
        assert_private(data_dir)
        assert all(mode(parent) & 0o007 == 0 for parent in (tmp_path, tmp_path.parent)), "a parent was opened"
        ports = json.loads((data_dir / "up.json").read_text())["ports"]
        assert ports == earlier, "the earlier run's ports"
        assert urls["Web"].endswith(f":{earlier['web']}") and urls["Temporal UI"].endswith(f":{earlier['temporal_ui']}")

        second = subprocess.run([sys.executable, "-m", "yishi.cli", "up", "--data-dir", str(data_dir)],
                                env=clean_env(), capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "already running" in second.stderr, second.stderr

        started = yishi(tmp_path, "start", "elevator", "--roll", str(roll), "--scope", "building=3,entrance=2",
                        "--data-dir", str(data_dir))
        assert started.returncode == 0, started.stderr
        did = next(line for line in started.stdout.splitlines() if re.fullmatch(r"elevator-[0-9a-f]{12}", line))
        status = yishi(tmp_path, "status", did, "--json", data_dir=str(data_dir))
        assert status.returncode == 0 and json.loads(status.stdout)["deliberation_id"] == did, status.stderr
        for component in ("worker", "web"):
            checked = yishi(tmp_path, "health", component, "--data-dir", str(data_dir))
            assert checked.returncode == 0, (component, checked.stderr)
    finally:
        assert not stop_up(proc)

    stopped = yishi(tmp_path, "status", did, "--data-dir", str(data_dir))
    assert stopped.returncode == 1 and "yishi up is not running for data dir" in stopped.stderr, stopped.stderr
    assert str(data_dir) in stopped.stderr and "Traceback" not in stopped.stderr

    proc, again, lines = start_up(data_dir, web_port="", public_base_url="https://yishi.example.cn")
    try:
        assert json.loads((data_dir / "up.json").read_text())["ports"] == ports, "a port changed across restarts"
        assert (again["Web"], again["Temporal UI"]) == (urls["Web"], urls["Temporal UI"])
        assert not any("WARNING" in line for line in lines), "a public address is set: no warning"
        status = yishi(tmp_path, "status", did, "--json", data_dir=str(data_dir))
        assert status.returncode == 0 and json.loads(status.stdout)["stage"], status.stderr
    finally:
        assert not stop_up(proc)


def test_a_taken_port_falls_back_to_one_kept_across_restarts() -> None:
    """A recorded port taken by another program: the replacement is outside the ephemeral range, where no outgoing
    connection on the machine takes it before the next start (the next start keeps the replacement)."""
    import socket

    from yishi.embedded import KEPT_PORTS, choose_port

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", kept_port()))
        taken = holder.getsockname()[1]
        chosen = choose_port(taken, "a test server")
    assert chosen != taken and chosen in KEPT_PORTS
