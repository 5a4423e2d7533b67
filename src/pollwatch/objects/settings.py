"""Which object store pollwatch writes to, from the environment.

* ``POLLWATCH_OBJECT_STORE``: ``filesystem`` (default: files under a folder of ``POLLWATCH_HOME``) or ``s3``.
* ``POLLWATCH_S3_ENDPOINT``: the S3 server's URL as the pollwatch servers reach it (required for ``s3``).
* ``POLLWATCH_S3_PUBLIC_ENDPOINT``: the same server as phones reach it, which presigned URLs name
  (default ``POLLWATCH_S3_ENDPOINT``).
* ``POLLWATCH_S3_BUCKET``: the bucket (required for ``s3``); ``POLLWATCH_S3_REGION`` (default ``us-east-1``).
* ``POLLWATCH_S3_UPLOAD_SECONDS``: how long a presigned upload URL is valid (default 900).
* Credentials: boto3's own (``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``, or its config files).
"""

from __future__ import annotations

import os
from pathlib import Path

from pollwatch.errors import InputError
from pollwatch.objects.s3 import S3Objects, S3Settings
from pollwatch.objects.store import FilesystemObjects, ObjectStore

SETTINGS = {
    "POLLWATCH_OBJECT_STORE": "filesystem (default) or s3: where photos (and, with s3, full log tiles and "
    "snapshots) live",
    "POLLWATCH_S3_ENDPOINT": "URL of the S3-compatible server as pollwatch reaches it",
    "POLLWATCH_S3_PUBLIC_ENDPOINT": "URL of that server as phones reach it (presigned uploads)",
    "POLLWATCH_S3_BUCKET": "the bucket",
    "POLLWATCH_S3_REGION": "the region (default us-east-1)",
    "POLLWATCH_S3_UPLOAD_SECONDS": "seconds a presigned upload URL stays valid (default 900)",
}


def backend() -> str:
    name = os.environ.get("POLLWATCH_OBJECT_STORE", "filesystem").strip() or "filesystem"
    if name not in ("filesystem", "s3"):
        raise InputError(
            "unknown object store", where="POLLWATCH_OBJECT_STORE", expected="filesystem or s3", found=name
        )
    return name


def s3_settings() -> S3Settings:
    """The S3 settings from the environment; refuses missing ones, naming them."""
    missing = [n for n in ("POLLWATCH_S3_ENDPOINT", "POLLWATCH_S3_BUCKET") if not os.environ.get(n)]
    if missing:
        raise InputError(
            "POLLWATCH_OBJECT_STORE=s3 needs the server and the bucket",
            where=", ".join(missing),
            expected="set",
            found="unset",
        )
    return S3Settings(
        endpoint=os.environ["POLLWATCH_S3_ENDPOINT"],
        bucket=os.environ["POLLWATCH_S3_BUCKET"],
        region=os.environ.get("POLLWATCH_S3_REGION") or "us-east-1",
        public_endpoint=os.environ.get("POLLWATCH_S3_PUBLIC_ENDPOINT", ""),
    )


def upload_seconds() -> int:
    raw = os.environ.get("POLLWATCH_S3_UPLOAD_SECONDS", "900")
    if not raw.isdigit() or not 60 <= int(raw) <= 7 * 86400:
        raise InputError(
            "bad POLLWATCH_S3_UPLOAD_SECONDS", expected="whole seconds from 60 to 604800", found=raw
        )
    return int(raw)


def open_object_store(root: Path) -> ObjectStore:
    """The configured store: files under ``root``, or the S3 bucket."""
    if backend() == "s3":
        return S3Objects(s3_settings())
    return FilesystemObjects(root)
