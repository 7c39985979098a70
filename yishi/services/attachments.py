"""Files attached to escalation tickets, stored once by SHA-256 (``attachment_blobs``); the ticket's events name
them by hash (``EvidenceRef(kind="attachment")``), so the hash chain covers what was attached.

The type is read from the file's first bytes, never from its name or the browser's word: a photo (JPEG, PNG,
WebP) or a PDF; anything else is refused with what to send instead. Each file is at most
:data:`MAX_ATTACHMENT_BYTES`, a complaint carries at most :data:`MAX_FILES` (the body cap of the form's path,
yishi/web/bodylimit.py, bounds the whole post before it is read).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import asyncpg

from domain.errors import N_, DomainError

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_FILES = 4
MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


class AttachmentError(DomainError):
    """A file that cannot be attached; the message names it and says what to send."""


@dataclass(frozen=True)
class Blob:
    sha256: str
    media_type: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` by its first bytes, or None when it is not one we keep."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check(name: str, data: bytes) -> Blob:
    """The blob of a file to attach, or :class:`AttachmentError` naming the file and the rule."""
    if not data:
        raise AttachmentError(N_("the file %(name)s is empty"), name=name)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentError(N_("the file %(name)s is larger than %(mib)s MB: send a smaller photo or scan"),
                              name=name, mib=MAX_ATTACHMENT_BYTES // (1024 * 1024))
    media_type = sniff(data)
    if media_type is None:
        raise AttachmentError(N_("the file %(name)s is not a photo (JPEG, PNG, WebP) or a PDF"), name=name)
    return Blob(hashlib.sha256(data).hexdigest(), media_type, data)


async def store(pool: asyncpg.Pool, blob: Blob) -> str:
    """Keep ``blob`` (once, whoever sends it again); returns its SHA-256."""
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO attachment_blobs (sha256, media_type, bytes, data) VALUES ($1, $2, $3, $4) "
                           "ON CONFLICT (sha256) DO NOTHING", blob.sha256, blob.media_type, len(blob.data), blob.data)
    return blob.sha256


async def load(pool: asyncpg.Pool, sha256: str) -> Blob | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT media_type, data FROM attachment_blobs WHERE sha256 = $1", sha256)
    return None if row is None else Blob(sha256, row["media_type"], bytes(row["data"]))
