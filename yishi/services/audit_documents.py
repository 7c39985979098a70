"""The documents of a matter, as an auditor checks them (issue 21, item 1): every ``DocumentAttached`` event names a
file by SHA-256 (the plan, the cost table the owners were shown, yishi/services/plan_documents.py); its bytes are
kept outside the stream (``attachment_blobs``). ``yishi audit verify`` reads them from there, the export carries them
as ``documents/<sha256>``, and both verifiers (tools/verify_export.py: the same check) hold each file to the hash the
chain recorded: a plan swapped or lost after it was attached fails.
"""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg

from yishi.services.audit_checks import Check

DIRECTORY = "documents"


def attached(rows_by_stream: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every ``DocumentAttached`` of the streams, with its stream and seq (the payload: kind, name, sha256, by)."""
    return [{"stream_id": stream, "seq": row["seq"], **row["payload"]}
            for stream, rows in rows_by_stream.items() for row in rows if row["type"] == "DocumentAttached"]


async def document_bytes(pool: asyncpg.Pool, rows_by_stream: dict[str, list[dict[str, Any]]]) -> dict[str, bytes]:
    """The files the events name, from the attachment store, by the hash the events carry."""
    wanted = sorted({d["sha256"] for d in attached(rows_by_stream)})
    if not wanted:
        return {}
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT sha256, data FROM attachment_blobs WHERE sha256 = ANY($1::text[])", wanted)
    return {r["sha256"]: bytes(r["data"]) for r in rows}


def documents_check(deliberation_id: str, rows_by_stream: dict[str, list[dict[str, Any]]],
                    files: dict[str, bytes]) -> Check:
    """Each attached document is there and hashes to what the chain recorded."""
    found = attached(rows_by_stream)
    for document in found:
        data = files.get(document["sha256"])
        if data is None or hashlib.sha256(data).hexdigest() != document["sha256"]:
            why = "is missing" if data is None else "does not hash to the recorded sha256"
            return Check("documents", False, f"the document {document['name']} ({document['kind']}) attached by "
                         f"{document['by']} {why}", document["stream_id"], document["seq"])
    return Check("documents", True, f"{len(found)} documents attached for the owners, each file matching its hash",
                 deliberation_id)
