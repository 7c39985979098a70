"""Files read from disk (the CLI's rolls and ballots files, the operator's holiday file) within a size cap: never
more than the parser's cap and one byte, so that the parser (``domain.filelimits``, ``parse_holiday_file``) says
the file is too large instead of the process reading all of a huge one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.filelimits import FileLimits
from domain.legal_calendar import MAX_HOLIDAY_FILE_BYTES


def read_bounded(path: str | Path, max_bytes: int = MAX_HOLIDAY_FILE_BYTES) -> bytes:
    """At most ``max_bytes + 1`` bytes of the file at ``path``. Raises ``OSError`` as ``open`` does."""
    with open(path, "rb") as file:
        return file.read(max_bytes + 1)


def file_limits(settings: Any) -> FileLimits:
    """The bounds of an imported roll or ballots file, with the operator's row cap (``YISHI_ROLL_MAX_ROOMS``); a cap
    above the default's 200,000 rows raises the byte bounds in proportion (a roll of a million rooms is ~60 MB of
    CSV), so that the cap can be used at all."""
    return limits_for_rows(settings.roll_max_rooms)


def limits_for_rows(rows: int) -> FileLimits:
    default = FileLimits()
    scale = max(1.0, rows / default.max_rows)
    return FileLimits(max_rows=rows, max_bytes=int(default.max_bytes * scale),
                      max_unzipped=int(default.max_unzipped * scale), max_member=int(default.max_member * scale))
