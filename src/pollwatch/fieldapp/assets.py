"""The files of the field app: what the service worker caches, and the version that names its cache."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
APP_FILES = (
    "app/app.js",
    "app/capture.js",
    "app/canonical.js",
    "app/store.js",
    "app/sms.js",
    "app/app.css",
    "tlog.js",
    "favicon.svg",
)
"""Under ``/static/``: every module and style the app loads (plus the pages ``/app`` and ``/ur/app``)."""


@cache
def app_version() -> str:
    """16 hex digits of the SHA-256 over the app's files: a new version replaces the offline cache."""
    from pollwatch.fieldapp.text import messages

    digest = hashlib.sha256()
    for name in (*APP_FILES, "app/sw.js", "../templates/app.html"):
        path = STATIC / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    digest.update(repr([messages(lang) for lang in ("en", "ur")]).encode())
    return digest.hexdigest()[:16]
