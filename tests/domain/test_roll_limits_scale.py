"""YISHI_ROLL_MAX_ROOMS above the default raises the byte bounds with it (issue 18: a roll of a million rooms is
~60 MB of CSV; a row cap the byte cap refuses first could not be used)."""

from __future__ import annotations

from domain.filelimits import MB, FileLimits
from yishi.services.files import file_limits, limits_for_rows
from yishi.settings import Settings


def test_the_byte_bounds_follow_the_row_cap() -> None:
    assert file_limits(Settings()) == FileLimits()
    million = limits_for_rows(1_000_000)
    assert (million.max_rows, million.max_bytes, million.max_unzipped) == (1_000_000, 80 * MB, 800 * MB)
    assert limits_for_rows(1_000).max_bytes == FileLimits().max_bytes, "a lower row cap keeps the byte bounds"
