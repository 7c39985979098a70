"""The data dir's files are private from their first byte, and the PostgreSQL account (when `yishi up` runs as root)
may pass through the folders above its data, nobody else."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from yishi.datadir import let_pass, make_private_dir, open_private_log, write_private
from yishi.embedded import _as_os_user


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_from_the_start_and_old_ones_are_tightened(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # whatever the caller's umask, secrets are never readable by others
    try:
        assert write_private(tmp_path / "secret", "s3cret")
        assert mode(tmp_path / "secret") == 0o600
        assert not write_private(tmp_path / "secret", "other"), "an existing secret is kept"
        assert (tmp_path / "secret").read_text() == "s3cret"
        old = tmp_path / "worker.log"
        old.write_text("from an older version\n")
        old.chmod(0o644)
        with open_private_log(old) as log:
            log.write(b"more\n")
        assert mode(old) == 0o600 and old.read_text() == "from an older version\nmore\n"
        data = tmp_path / "data"
        data.mkdir(mode=0o755)
        make_private_dir(data)
        assert mode(data) == 0o700
    finally:
        os.umask(old_umask)


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as its own account only when yishi up runs as root")
def test_only_the_postgres_account_may_pass_through_closed_folders(tmp_path: Path) -> None:
    uid, gid = _as_os_user()
    assert uid is not None and gid is not None
    outer = tmp_path / "home"
    inner = outer / "project" / "data" / "pg"
    inner.mkdir(parents=True)
    (outer / "private-notes").write_text("root's\n")
    for folder in (tmp_path, outer, outer / "project"):
        folder.chmod(0o700)
    make_private_dir(outer / "project" / "data", gid)
    os.chown(inner, uid, gid)

    def as_user(user: int | str, group: int | str, *command: str) -> int:
        return subprocess.run(command, user=user, group=group, extra_groups=[], capture_output=True).returncode

    assert as_user(uid, gid, "stat", str(inner)) != 0
    let_pass(inner, uid, gid)
    assert as_user(uid, gid, "stat", str(inner)) == 0, "the PostgreSQL account reaches its folder"
    assert as_user(uid, gid, "ls", str(outer)) != 0, "passing through is not listing"
    assert as_user("nobody", "nogroup", "stat", str(inner)) != 0, "nobody else passes"
    assert all(mode(folder) & 0o007 == 0 for folder in (tmp_path, outer, outer / "project")), "no o+x, no o+r"
