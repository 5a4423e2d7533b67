"""Immutable files in object storage: photos today, full tiles, entry bundles and snapshots later.

Every object is written once under its key (content-addressed where it can be: ``photos/<sha256>``);
the filesystem is the default backend, an S3-compatible bucket the scaled-out one, and phones can be
handed a presigned URL to upload a photo straight to the bucket.

>>> import pathlib, tempfile
>>> store = FilesystemObjects(pathlib.Path(tempfile.mkdtemp()))
>>> store.put_once("photos/abc", b"bytes"), store.put_once("photos/abc", b"other")
(True, False)
>>> store.get("photos/abc")
b'bytes'
"""

from pollwatch.objects.settings import open_object_store
from pollwatch.objects.store import FilesystemObjects, ObjectStore, UploadGrant, check_key

__all__ = ["FilesystemObjects", "ObjectStore", "UploadGrant", "check_key", "open_object_store"]
