"""What a file really is: type from magic bytes, image checks against bombs, thumbnails."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from pollwatch.errors import InputError, TooLargeError

_MAGIC: tuple[tuple[str, bytes, int], ...] = (
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("application/pdf", b"%PDF-", 0),
)
ACCEPTED = ("image/jpeg", "image/png", "image/webp", "application/pdf")


@dataclass(frozen=True)
class FileInfo:
    """The sniffed type of a file and, for images, its size in pixels."""

    media_type: str
    width: int | None = None
    height: int | None = None


def sniff_type(data: bytes) -> str:
    """Return the media type from the magic bytes, or raise InputError naming what was found."""
    for media_type, magic, offset in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InputError(
        "the file is not a photo or scan pollwatch accepts",
        where="file",
        expected="JPEG, PNG, WebP or PDF (by its first bytes)",
        found=data[:8].hex() or "an empty file",
    )


def inspect_file(data: bytes, *, max_pixels: int) -> FileInfo:
    """Sniff ``data`` and, for an image, check it decodes fully within ``max_pixels``."""
    media_type = sniff_type(data)
    if media_type == "application/pdf":
        if b"%%EOF" not in data[-1024:]:
            raise InputError(
                "the PDF is truncated", where="file", expected="a %%EOF marker at the end", found="none"
            )
        return FileInfo(media_type)
    width, height = _check_image(data, max_pixels=max_pixels)
    return FileInfo(media_type, width, height)


def _check_image(data: bytes, *, max_pixels: int) -> tuple[int, int]:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise TooLargeError(
                        "the image has too many pixels (a decompression bomb?)",
                        where="file",
                        expected=f"at most {max_pixels} pixels",
                        found=f"{width} x {height}",
                    )
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLargeError(
            "the image has too many pixels (a decompression bomb?)", where="file", found=str(exc)
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            "the image cannot be decoded (truncated or corrupt)",
            where="file",
            expected="a complete image",
            found=str(exc)[:200],
        ) from exc
    return width, height


def thumbnail(data: bytes, *, size: int = 320) -> bytes:
    """Return a JPEG thumbnail at most ``size`` pixels on its longer side (images only)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=80)
    return out.getvalue()
