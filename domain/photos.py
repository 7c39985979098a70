"""Photos attached to a topic: what a file really is, read from its bytes (pure).

The name and the declared type of an upload are the sender's say; the bytes are not. A photo is accepted only
when its first bytes are those of a JPEG, PNG or WebP image and its header gives a plausible width and height
(read here from the format's own header, without decoding the pixels: Pillow is not a runtime dependency). Size
and count limits are the operator's settings, passed in. Each refusal names the file and what to do (a msgid and
its fields, translated where it is shown).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from domain.errors import N_, DomainError
from domain.topic_events import PhotoRef

MAX_SIDE = 20_000
MAX_PIXELS = 80_000_000
"""A header claiming more is refused (a decompression bomb for whoever renders a thumbnail later)."""
_JPEG_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))


class PhotoError(DomainError):
    """A photo is refused; the message names the file and says what to do."""


def _mb(n: int) -> str:
    whole, rest = divmod(n * 10 // (1024 * 1024), 10)
    return f"{whole}.{rest} MB" if rest else f"{whole} MB"


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers carry no length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if length < 2:
            return None
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        if marker in (0xD9, 0xDA):  # end of image, or the scan begins before any frame header
            return None
        i += 2 + length
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 33 or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None


def sniff(data: bytes) -> tuple[str, tuple[int, int] | None] | None:
    """``(media type, (width, height) or None)`` by the file's own bytes; None when it is no image we take."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg", _jpeg_size(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png", _png_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", _webp_size(data)
    return None


def check_photo(name: str, data: bytes, *, max_bytes: int) -> PhotoRef:
    """The photo's reference (SHA-256, type, size, dimensions), or :class:`PhotoError`."""
    label = name.strip()[:80] or "—"
    if len(data) > max_bytes:
        raise PhotoError(N_("photo '%(name)s' is %(size)s, over the limit of %(limit)s; send a smaller one"),
                         name=label, size=_mb(len(data)), limit=_mb(max_bytes))
    found = sniff(data)
    if found is None:
        raise PhotoError(N_("'%(name)s' is not a JPEG, PNG or WebP image (judged by its content, not its name); "
                            "upload a photo"), name=label)
    media_type, size = found
    if size is None or not (0 < size[0] <= MAX_SIDE and 0 < size[1] <= MAX_SIDE) or size[0] * size[1] > MAX_PIXELS:
        raise PhotoError(N_("photo '%(name)s' is damaged or claims an implausible size; take or save it again"),
                         name=label)
    return PhotoRef(sha256=hashlib.sha256(data).hexdigest(), media_type=media_type, bytes=len(data),  # type: ignore[arg-type]
                    width=size[0], height=size[1])


def check_photos(files: Sequence[tuple[str, bytes]], *, max_bytes: int, max_count: int) -> tuple[PhotoRef, ...]:
    """Every photo checked; too many is refused before any is read. The same photo twice counts once."""
    if len(files) > max_count:
        raise PhotoError(N_("at most %(limit)s photos per topic, %(count)s given; remove some"), limit=max_count,
                         count=len(files))
    refs = [check_photo(name, data, max_bytes=max_bytes) for name, data in files]
    return tuple({r.sha256: r for r in refs}.values())
