"""Files kept outside the event streams, each named in a stream by its SHA-256, and the one check that holds them to
it (issue 21): the photo of a printed notice posted at an entrance (``NoticePosted``, kept in ``posting_photos``), a
document attached for the owners to read (``DocumentAttached``: the plan, the cost table) and a file attached to an
escalation ticket by a resident's office (``EscalationOpened``'s evidence), both kept in ``attachment_blobs``.

``yishi audit verify`` reads the bytes from the store, the export carries them (``photos/``, ``documents/``,
``attachments/``), and tools/verify_export.py runs the same check offline (its own copy of it: that file runs
without Yishi). A file swapped or lost after the chain named it fails, naming the stream (the ticket) and the file.
A ticket may name a file by hash only (``yishi escalate open --attachment "name, sha256"``: a file kept elsewhere);
such a file, not in the store, is counted as kept outside Yishi and not checked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from yishi.services.audit_checks import Check

Rows = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Named:
    """A file an event names: where (stream, seq), its hash, and in words what it is."""

    stream_id: str
    seq: int
    sha256: str
    what: str


@dataclass(frozen=True)
class Source:
    """One kind of file the streams name by hash, and where Yishi and the export keep its bytes."""

    check: str
    """The name of the check (yishi/i18n/labels.py ``audit_check``)."""
    event: str
    files: Callable[[dict[str, Any]], list[tuple[str, str]]]
    """The files an event's payload names: (sha256, what it is in words)."""
    table: str
    column: str
    directory: str
    """Where the export keeps the bytes, as ``<directory>/<sha256>``."""
    held: str
    """The detail when every file holds, with ``{count}``."""
    kept_elsewhere: bool = False
    """Whether a file may be named by hash only and kept outside Yishi (counted, not checked, when not stored)."""


def _ticket_files(p: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["sha256"], f"the attachment {e.get('name')} of ticket {p.get('ticket_id')}")
            for e in p.get("evidence") or () if e.get("kind") == "attachment" and e.get("sha256")]


POSTINGS = Source(
    "postings", "NoticePosted",
    lambda p: [(p["photo_sha256"], f"the photo of notice {p['notice_id']} posted at {p['group']} by {p['by']}")],
    "posting_photos", "content", "photos", "{count} printed notices recorded as posted, each photo matching its hash")
DOCUMENTS = Source(
    "documents", "DocumentAttached",
    lambda p: [(p["sha256"], f"the document {p['name']} ({p['kind']}) attached by {p['by']}")],
    "attachment_blobs", "data", "documents", "{count} documents attached for the owners, each file matching its hash")
ATTACHMENTS = Source(
    "attachments", "EscalationOpened", _ticket_files, "attachment_blobs", "data", "attachments",
    "{count} files attached to escalation tickets, each matching its hash", kept_elsewhere=True)
SOURCES = (POSTINGS, DOCUMENTS, ATTACHMENTS)


def named(source: Source, rows_by_stream: Rows) -> list[Named]:
    """Every file the streams name for ``source``, in stream order."""
    return [Named(stream, row["seq"], digest, what)
            for stream, rows in rows_by_stream.items() for row in rows if row["type"] == source.event
            for digest, what in source.files(row["payload"])]


def blob_check(source: Source, subject: str, found: list[Named], files: dict[str, bytes]) -> Check:
    """Each named file is there and hashes to what the chain recorded; the first that does not fails the check,
    named with its stream and seq."""
    elsewhere = 0
    for file in found:
        data = files.get(file.sha256)
        if data is None and source.kept_elsewhere:
            elsewhere += 1
            continue
        if data is None or hashlib.sha256(data).hexdigest() != file.sha256:
            why = "is missing" if data is None else "does not hash to the recorded sha256"
            return Check(source.check, False, f"{file.what} {why}", file.stream_id, file.seq)
    detail = source.held.format(count=len(found) - elsewhere)
    if elsewhere:
        detail += f"; {elsewhere} named by hash only, kept outside Yishi (not checked)"
    return Check(source.check, True, detail, subject)


async def stored(pool: asyncpg.Pool, source: Source, found: list[Named]) -> dict[str, bytes]:
    """The bytes of the named files that the store keeps, by the hash the events carry."""
    wanted = sorted({file.sha256 for file in found})
    if not wanted:
        return {}
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT sha256, {source.column} AS data FROM {source.table} "  # noqa: S608
                                "WHERE sha256 = ANY($1::text[])", wanted)
    return {r["sha256"]: bytes(r["data"]) for r in rows}


async def blob_checks(pool: asyncpg.Pool, subject: str, rows_by_stream: Rows) -> list[Check]:
    """The check of every source, as ``yishi audit verify`` runs it."""
    checks = []
    for source in SOURCES:
        found = named(source, rows_by_stream)
        checks.append(blob_check(source, subject, found, await stored(pool, source, found)))
    return checks


async def export_files(pool: asyncpg.Pool, rows_by_stream: Rows) -> dict[str, bytes]:
    """The stored files of every source, under the export's names (``<directory>/<sha256>``)."""
    files = {}
    for source in SOURCES:
        for digest, data in (await stored(pool, source, named(source, rows_by_stream))).items():
            files[f"{source.directory}/{digest}"] = data
    return files
