"""The evidence store keeps exact bytes by SHA-256 and refuses what is not a sheet photo or scan."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from pollwatch.errors import InputError, NotFoundError, TooLargeError, VerificationError
from pollwatch.evidence import FilesystemStore, add_evidence, check_sha256, sniff_type, thumbnail


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, fmt)
    return buffer.getvalue()


def _bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("fmt", "media_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_images_round_trip_exactly(tmp_path: Path, fmt: str, media_type: str) -> None:
    store = FilesystemStore(tmp_path)
    data = _image(fmt)
    digest, info = add_evidence(store, data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert info.media_type == media_type
    assert (info.width, info.height) == (64, 48)
    assert store.get(digest) == data
    assert store.has(digest)
    assert not list(tmp_path.rglob(".tmp-*"))  # the temp file was renamed away


def test_pdf_is_accepted(tmp_path: Path) -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    _, info = add_evidence(FilesystemStore(tmp_path), pdf)
    assert info.media_type == "application/pdf"


def test_storing_twice_keeps_one_file(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    data = _image("PNG")
    add_evidence(store, data)
    add_evidence(store, data)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b"GIF89a....", InputError, "not a photo"),
        (b"MZ\x90\x00", InputError, "not a photo"),
        (b"", InputError, "not a photo"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, InputError, "cannot be decoded"),
        (b"%PDF-1.7\nno end", InputError, "truncated"),
        (_bomb(100_000, 100_000), TooLargeError, "too many pixels"),
    ],
)
def test_bad_files_are_refused_and_not_stored(
    tmp_path: Path, data: bytes, error: type[Exception], match: str
) -> None:
    store = FilesystemStore(tmp_path)
    with pytest.raises(error, match=match):
        add_evidence(store, data)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_explicit_pixel_cap_below_pillow_limit(tmp_path: Path) -> None:
    with pytest.raises(TooLargeError, match="too many pixels"):
        add_evidence(FilesystemStore(tmp_path), _image("PNG", (200, 200)), max_pixels=10_000)


def test_size_cap_and_hash_mismatch(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    data = _image("PNG")
    with pytest.raises(TooLargeError, match="too large"):
        add_evidence(store, data, max_bytes=len(data) - 1)
    with pytest.raises(VerificationError, match="does not match"):
        add_evidence(store, data, expected_sha256="0" * 64)


def test_unknown_and_malformed_hashes(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    with pytest.raises(NotFoundError):
        store.get("a" * 64)
    with pytest.raises(InputError, match="SHA-256"):
        check_sha256("../../etc/passwd")


def test_thumbnail_is_small_jpeg() -> None:
    thumb = thumbnail(_image("PNG", (1000, 500)), size=100)
    assert sniff_type(thumb) == "image/jpeg"
    with Image.open(io.BytesIO(thumb)) as image:
        assert max(image.size) == 100
