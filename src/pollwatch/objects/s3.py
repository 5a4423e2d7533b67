"""Objects in an S3-compatible store (SeaweedFS, AWS S3, Ceph RGW ...) through boto3.

Writes are conditional: ``If-None-Match: *`` on every PUT, so an object is written once and a second
writer gets 412 instead of replacing it (the store must honour it: ``tests/objects`` checks SeaweedFS
does; rclone's S3 server ignores it). Phones upload photos with a presigned PUT whose signature covers
``If-None-Match: *`` and ``x-amz-checksum-sha256``: the store refuses other bytes and any overwrite.

boto3 is an optional dependency (``pip install 'pollwatch[s3]'``), imported only when an S3 store is opened.

References
----------
AWS S3 API reference, PutObject (conditional writes, ``If-None-Match``, ``x-amz-checksum-sha256``);
AWS Signature Version 4, query-string (presigned) authentication.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pollwatch.errors import NotFoundError, StorageError
from pollwatch.objects.store import UploadGrant, check_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket is: ``endpoint`` for the servers, ``public_endpoint`` as phones reach it."""

    endpoint: str
    bucket: str
    region: str = "us-east-1"
    public_endpoint: str = ""
    access_key: str | None = None
    secret_key: str | None = None


def _client(settings: S3Settings, endpoint: str) -> S3Client:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # the optional extra is not installed
        raise StorageError(
            "the S3 object store needs boto3", remedy="pip install 'pollwatch[s3]'", found=str(exc)
        ) from exc
    config = Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    client: S3Client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=settings.region,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        config=config,
    )
    return client


def _status(exc: Exception) -> int:
    response: Any = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _failed(action: str, key: str, exc: Exception) -> StorageError:
    return StorageError(
        f"the object store refused to {action}",
        where=key,
        found=f"{type(exc).__name__}: {str(exc)[:300]}",
        remedy="check POLLWATCH_S3_ENDPOINT, POLLWATCH_S3_BUCKET and the credentials",
    )


class S3Objects:
    """An :class:`pollwatch.objects.store.ObjectStore` on one bucket of an S3-compatible server."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self._s3 = _client(settings, settings.endpoint)
        self._signer = _client(settings, settings.public_endpoint or settings.endpoint)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (deployments and tests; idempotent)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _status(exc) != 404:
                raise _failed("show the bucket", self.bucket, exc) from exc
        except BotoCoreError as exc:
            raise _failed("show the bucket", self.bucket, exc) from exc
        try:
            self._s3.create_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise _failed("create the bucket", self.bucket, exc) from exc

    def allow_public_read(self, prefixes: list[str]) -> None:
        """Let anyone read (GetObject only: no listing, no writing) the objects under ``prefixes``, by a
        bucket policy: what a front (nginx, a CDN) fetches without credentials. Replaces the bucket's
        policy; never name ``photos/`` here."""
        from botocore.exceptions import BotoCoreError, ClientError

        statement = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{self.bucket}/{check_key(p.rstrip('/'))}/*" for p in prefixes],
        }
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        try:
            self._s3.put_bucket_policy(Bucket=self.bucket, Policy=policy)
        except (ClientError, BotoCoreError) as exc:
            raise _failed("set the bucket's policy", self.bucket, exc) from exc

    def put_once(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=check_key(key),
                Body=data,
                ContentType=content_type,
                IfNoneMatch="*",
                ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
            )
        except ClientError as exc:
            if _status(exc) in (409, 412):  # 412: it exists; 409: a concurrent write of it is under way
                return False
            raise _failed("store an object", key, exc) from exc
        except BotoCoreError as exc:
            raise _failed("store an object", key, exc) from exc
        return True

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=check_key(key))
            body: bytes = response["Body"].read()
            return body
        except ClientError as exc:
            if _status(exc) == 404:
                raise NotFoundError("no such object in the store", where="key", found=key) from exc
            raise _failed("read an object", key, exc) from exc
        except BotoCoreError as exc:
            raise _failed("read an object", key, exc) from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise _failed("look an object up", key, exc) from exc
        except BotoCoreError as exc:
            raise _failed("look an object up", key, exc) from exc
        return True

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.delete_object(Bucket=self.bucket, Key=check_key(key))
        except (ClientError, BotoCoreError) as exc:
            raise _failed("delete an object", key, exc) from exc

    def list_keys(self, prefix: str, *, after: str = "") -> list[str]:
        """Every key under ``prefix`` after ``after`` (ListObjectsV2 ``StartAfter``, page by page)."""
        from botocore.exceptions import BotoCoreError, ClientError

        keys: list[str] = []
        try:
            pages = self._s3.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix, StartAfter=after):
                keys.extend(item["Key"] for item in page.get("Contents", []) if "Key" in item)
        except (ClientError, BotoCoreError) as exc:
            raise _failed("list objects", prefix, exc) from exc
        return sorted(keys)

    def presign_put(self, key: str, *, sha256: str, seconds: int) -> UploadGrant | None:
        """A PUT URL for exactly the bytes of ``sha256`` (hex), once, valid for ``seconds``."""
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
        url = self._signer.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self.bucket,
                "Key": check_key(key),
                "IfNoneMatch": "*",
                "ChecksumSHA256": checksum,
            },
            ExpiresIn=seconds,
        )
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        headers = {"If-None-Match": "*", "x-amz-checksum-sha256": checksum}
        return UploadGrant("PUT", url, headers, expires)

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"
