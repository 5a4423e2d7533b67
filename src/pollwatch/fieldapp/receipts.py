"""A receipt's QR code: the address of the log explorer page that checks the entry in any browser."""

from __future__ import annotations


def receipt_url(server: str, index: int) -> str:
    """Where anyone checks leaf ``index`` against the log's signed checkpoint."""
    return f"{server.rstrip('/')}/log?index={index}"


def receipt_qr_svg(server: str, index: int) -> str:
    """:func:`receipt_url` as an SVG QR code (segno, medium error correction)."""
    import segno

    svg: str = segno.make(receipt_url(server, index), error="m").svg_inline(scale=3)
    return svg
