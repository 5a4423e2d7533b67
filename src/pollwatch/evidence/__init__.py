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
    ObjectEvidenceStore,
    add_evidence,
    check_sha256,
    claim_upload,
    open_evidence_store,
)

__all__ = [
    "ACCEPTED",
    "BlobStore",
    "FileInfo",
    "FilesystemStore",
    "ObjectEvidenceStore",
    "add_evidence",
    "check_sha256",
    "claim_upload",
    "inspect_file",
    "open_evidence_store",
    "sniff_type",
    "thumbnail",
]
