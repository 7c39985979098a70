"""The embedded Temporal dev server's SQLite store: write-ahead log, synced at every commit (durable)."""

from __future__ import annotations

import sqlite3

from yishi.embedded import DURABLE_SQLITE, EmbeddedTemporal


def test_the_runtime_store_is_durable_by_default() -> None:
    # `yishi up` and the test fixtures never pass pragmas: they get the durable ones.
    assert EmbeddedTemporal().sqlite == DURABLE_SQLITE == {"journal_mode": "wal", "synchronous": "full"}


def test_the_running_dev_server_writes_a_write_ahead_log(temporal_server: EmbeddedTemporal) -> None:
    db = temporal_server.data_dir / "temporal.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        # The journal mode is stored in the file: a restart without the pragma would still find WAL.
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
