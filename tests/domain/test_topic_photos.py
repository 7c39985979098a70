"""Photos judged by their bytes (domain/photos.py): real JPEG, PNG and WebP files made with Pillow are taken with
their dimensions; oversized files, non-images named .jpg, damaged headers and too many photos are refused with
a message naming the file, in Chinese and English."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from domain.photos import PhotoError, check_photo, check_photos, sniff
from tests.texts import en, zh

MB = 1024 * 1024


def image(fmt: str, size: tuple[int, int] = (640, 480), **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, format=fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "media_type", "options"), [
    ("JPEG", "image/jpeg", {}), ("JPEG", "image/jpeg", {"progressive": True}), ("PNG", "image/png", {}),
    ("WEBP", "image/webp", {}), ("WEBP", "image/webp", {"lossless": True})])
def test_real_images_are_taken_with_their_dimensions(fmt: str, media_type: str, options: dict) -> None:
    data = image(fmt, (641, 479), **options)
    ref = check_photo("现场.jpg", data, max_bytes=5 * MB)
    assert (ref.media_type, ref.width, ref.height, ref.bytes) == (media_type, 641, 479, len(data))
    assert ref.sha256 == hashlib.sha256(data).hexdigest()


def test_webp_with_alpha_uses_the_extended_header() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 128)).save(out, format="WEBP")
    assert sniff(out.getvalue()) == ("image/webp", (300, 200))


def test_oversized_photo_is_refused_by_size_before_anything_else() -> None:
    with pytest.raises(PhotoError) as refused:
        check_photo("大图.jpg", b"\xff\xd8\xff" + b"\0" * (2 * MB), max_bytes=2 * MB)
    assert "大图.jpg" in zh(refused.value) and "超过上限 2 MB" in zh(refused.value)
    assert "over the limit of 2 MB" in en(refused.value)


@pytest.mark.parametrize("data", [
    b"<html><script>alert(1)</script></html>", b"%PDF-1.7\n", b"MZ\x90\x00", b"GIF89a\x01\x00\x01\x00", b"",
    b"RIFF\x00\x00\x00\x00WAVEfmt "], ids=["html", "pdf", "exe", "gif", "empty", "wav"])
def test_non_images_named_jpg_are_refused(data: bytes) -> None:
    with pytest.raises(PhotoError) as refused:
        check_photo("photo.jpg", data, max_bytes=5 * MB)
    assert "不是 JPEG、PNG 或 WebP 图片" in zh(refused.value) and "not a JPEG, PNG or WebP image" in en(refused.value)


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"\x89PNG\r\n\x1a\n" + b"\0" * 4, image("PNG")[:20],
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x00\x00\x00\x00\x01" + b"\0" * 9,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x00\x00\x00\x01\x00\x00" + b"\0" * 9,
], ids=["jpeg-no-frame", "png-truncated", "png-cut", "png-zero-width", "png-bomb"])
def test_damaged_or_implausible_headers_are_refused(data: bytes) -> None:
    with pytest.raises(PhotoError) as refused:
        check_photo("x.png", data, max_bytes=5 * MB)
    assert "已损坏或尺寸异常" in zh(refused.value) and "damaged" in en(refused.value)


def test_too_many_photos_are_refused_and_duplicates_count_once() -> None:
    one = image("JPEG", (10, 10))
    with pytest.raises(PhotoError) as refused:
        check_photos([(f"{i}.jpg", one) for i in range(7)], max_bytes=MB, max_count=6)
    assert "最多 6 张" in zh(refused.value) and "at most 6 photos" in en(refused.value)
    assert len(check_photos([("a.jpg", one), ("b.jpg", one)], max_bytes=MB, max_count=6)) == 1
