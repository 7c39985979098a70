"""The data directory stays private: the folder 0700, every file in it 0600 from its first byte.

The data dir holds the secret key, the PostgreSQL password, the databases (objections and complaints in
``temporal.db``) and the logs. Files are created with their final mode (never chmod'ed after the secret is
written), child servers run with umask 077, and files left 0644 by an older version are tightened at start.

When ``yishi up`` runs as root, embedded PostgreSQL runs as its own account (it refuses root). That account
needs to pass through the data dir to reach ``pg/``: the data dir then belongs to the account's group with mode
0710 (pass through, not list), and nobody else may enter. Folders above it that the account cannot pass through
get a POSIX ACL entry for that one account (``u:yishi-pg:--x``), not o+rx for everyone; only on a filesystem
without ACLs does a folder get o+x (pass through by exact name, never list), with a warning naming it.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from pathlib import Path
from typing import BinaryIO

import structlog

log = structlog.get_logger(__name__)

PRIVATE_UMASK = 0o077
_ACL = "system.posix_acl_access"
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF


def make_private_dir(path: Path, group: int | None = None) -> None:
    """``path`` as 0700 (created if missing), or 0710 owned by ``group`` (the PostgreSQL account's, as root)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if group is not None:
        os.chown(path, -1, group)
    mode = 0o710 if group is not None else 0o700
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)


def write_private(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text``, readable by its owner only from the start; False if it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return True


def open_private_log(path: Path) -> BinaryIO:
    """A log file to append to, 0600 (a log an older version left 0644 is tightened)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def tighten(*paths: Path) -> None:
    """Take group and other access away from files that exist (left by an older version)."""
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            path.chmod(mode & 0o700)
            log.info("datadir.tightened", path=str(path), was=oct(mode))


def can_pass(st: os.stat_result, uid: int, gid: int) -> bool:
    """Whether the account ``uid``/``gid`` may pass through a folder with this status (by its mode bits)."""
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def let_pass(path: Path, uid: int, gid: int) -> None:
    """Let the account ``uid`` pass through every folder above ``path`` (e.g. /root), and nobody else."""
    for folder in reversed(path.parents):
        if not can_pass(folder.stat(), uid, gid) and not _acl_lets_pass(folder, uid):
            _grant_pass(folder, uid)


def _grant_pass(folder: Path, uid: int) -> None:
    try:
        _acl_add_user_x(folder, uid)
        log.info("datadir.acl_granted", folder=str(folder), uid=uid)
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        folder.chmod(stat.S_IMODE(folder.stat().st_mode) | stat.S_IXOTH)
        log.warning("datadir.opened_for_passing", folder=str(folder),
                    reason="no POSIX ACLs on this filesystem: o+x (pass through by name, not list)")


def _read_acl(path: Path) -> list[tuple[int, int, int]]:
    """The folder's access ACL as (tag, perm, id) entries; the three of its mode bits when it has none."""
    try:
        raw = os.getxattr(path, _ACL)
    except OSError as exc:
        if exc.errno != errno.ENODATA:
            raise
        mode = stat.S_IMODE(path.stat().st_mode)
        return [(_USER_OBJ, mode >> 6 & 7, _NO_ID), (_GROUP_OBJ, mode >> 3 & 7, _NO_ID), (_OTHER, mode & 7, _NO_ID)]
    return [struct.unpack_from("<HHI", raw, offset) for offset in range(4, len(raw), 8)]


def _acl_lets_pass(path: Path, uid: int) -> bool:
    try:
        entries = _read_acl(path)
    except OSError:
        return False
    mask = next((perm for tag, perm, _ in entries if tag == _MASK), 7)
    return any(tag == _USER and who == uid and perm & mask & 1 for tag, perm, who in entries)


def _acl_add_user_x(path: Path, uid: int) -> None:
    entries = _read_acl(path)
    mine = next((perm for tag, perm, who in entries if tag == _USER and who == uid), 0)
    entries = [e for e in entries if e[0] != _MASK and not (e[0] == _USER and e[2] == uid)]
    entries.append((_USER, mine | 1, uid))
    group_class = 0
    for tag, perm, _ in entries:
        if tag in (_USER, _GROUP_OBJ, _GROUP):
            group_class |= perm
    entries.append((_MASK, group_class, _NO_ID))
    entries.sort(key=lambda e: (e[0], e[2]))
    os.setxattr(path, _ACL, struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries))
