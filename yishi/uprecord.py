"""Where ``yishi up`` listens: one record in the data dir, read by every other command and by the next ``yishi up``.

``<data dir>/up.json`` (0600) holds the ports and addresses of the running stack, never a secret: the CLI builds
the PostgreSQL URL from the password file that is already there. ``<data dir>/up.lock`` is locked by ``yishi up``
for as long as it runs, so a command knows whether the record describes a live stack (a lock dies with its
process; a pid can be reused). The record stays after ``yishi up`` stops: the next ``yishi up`` listens on the
same ports, so printed links and QR codes keep working.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from yishi.datadir import write_private
from yishi.settings import Settings

RECORD, LOCK = "up.json", "up.lock"
Need = Literal["temporal", "database"]
_FIELDS: dict[str, str] = {"temporal": "temporal_address", "database": "database_url"}


class UpRecord(BaseModel):
    pid: int
    ports: dict[str, int]  # the embedded servers': postgres, temporal, temporal_ui; and web
    temporal_address: str
    temporal_ui_url: str = ""
    web_url: str
    database: Literal["embedded", "external"]
    public_base_url: str = ""  # only when one is configured; never the loopback fallback


class NotRunningError(RuntimeError):
    """No ``yishi up`` serves this data dir, and the environment names no servers; the message says what to do."""


class AlreadyRunningError(RuntimeError):
    """Another ``yishi up`` holds this data dir."""


def read_record(data_dir: Path) -> UpRecord | None:
    try:
        return UpRecord.model_validate_json((data_dir / RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def write_record(data_dir: Path, record: UpRecord) -> None:
    """Replace the record atomically (a reader never sees half of it), 0600 from the start."""
    partial = data_dir / f".{RECORD}.{os.getpid()}"
    partial.unlink(missing_ok=True)
    write_private(partial, record.model_dump_json(indent=2) + "\n")
    os.replace(partial, data_dir / RECORD)


class UpLock:
    """Held by ``yishi up`` while it runs (released by the kernel when the process ends, however it ends)."""

    def __init__(self, data_dir: Path) -> None:
        self.fd = os.open(data_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            record = read_record(data_dir)
            where = f" (pid {record.pid}, web {record.web_url})" if record else ""
            raise AlreadyRunningError(
                f"yishi up is already running for {data_dir}{where}; stop it first, or use another --data-dir"
            ) from None

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def running(data_dir: Path) -> bool:
    try:
        fd = os.open(data_dir / LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def with_running_stack(settings: Settings, need: tuple[Need, ...] = ()) -> Settings:
    """``settings`` with what the running ``yishi up`` of ``settings.data_dir`` provides and they leave empty.

    Servers named in the environment win. Raises :class:`NotRunningError` when something in ``need`` is still
    missing: no ``yishi up`` runs for this data dir, or it uses an external PostgreSQL this process is not given.
    """
    if need and all(getattr(settings, _FIELDS[n]) for n in need):
        return settings
    data_dir = settings.data_dir.resolve()
    record = read_record(data_dir) if running(data_dir) else None
    if record is not None:
        settings = settings.model_copy(update=_provided(settings, record, data_dir))
    missing = [n for n in need if not getattr(settings, _FIELDS[n])]
    if not missing:
        return settings
    if record is None:
        raise NotRunningError(
            f"yishi up 没有在运行（数据目录 {data_dir}）：请在另一个终端运行 `yishi up`（在项目目录下，或加 "
            f"--data-dir {data_dir}），或设置 YISHI_TEMPORAL_ADDRESS 和 YISHI_DATABASE_URL 指向正在运行的服务。\n"
            f"yishi up is not running for data dir {data_dir}: start it in another terminal (`yishi up` in the "
            f"project, or with --data-dir {data_dir}), or set YISHI_TEMPORAL_ADDRESS and YISHI_DATABASE_URL to "
            "running servers.")
    raise NotRunningError(
        "yishi up 使用外部 PostgreSQL：请在这里也设置与它相同的 YISHI_DATABASE_URL。\n"
        "yishi up runs with an external PostgreSQL: set the same YISHI_DATABASE_URL here as for yishi up.")


def _provided(settings: Settings, record: UpRecord, data_dir: Path) -> dict[str, object]:
    from yishi.embedded import EmbeddedPostgres

    update: dict[str, object] = {"data_dir": data_dir}
    if not settings.temporal_address:
        update |= {"temporal_address": record.temporal_address, "temporal_ui_url": record.temporal_ui_url}
    if not settings.database_url and record.database == "embedded":
        update["database_url"] = EmbeddedPostgres(data_dir=data_dir, port=record.ports["postgres"]).url
    if not settings.public_base_url and record.public_base_url:
        update["public_base_url"] = record.public_base_url
    if "web_port" not in settings.model_fields_set and "web" in record.ports:
        update["web_port"] = record.ports["web"]
    return update
