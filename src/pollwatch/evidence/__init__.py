"""Evidence store: photos and scans of signed sheets, content-addressed by SHA-256.

>>> import tempfile, pathlib, io
>>> from PIL import Image
>>> buffer = io.BytesIO(); Image.new("RGB", (4, 4)).save(buffer, "PNG")
>>> store = FilesystemStore(pathlib.Path(tempfile.mkdtemp()))
>>> digest, info = add_evidence(store, buffer.getvalue())
>>> info.media_type, store.get(digest) == buffer.getvalue()
('image/png', True)
"""

from pollwatch.evidence.sniff import ACCEPTED, FileInfo, inspect_file, sniff_type, thumbnail
from pollwatch.evidence.store import (
    BlobStore,
    FilesystemStore,
    add_evidence,
    check_sha256,
)

__all__ = [
    "ACCEPTED",
    "BlobStore",
    "FileInfo",
    "FilesystemStore",
    "add_evidence",
    "check_sha256",
    "inspect_file",
    "sniff_type",
    "thumbnail",
]
