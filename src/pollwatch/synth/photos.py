"""Photos for a synthetic night: each station copy of chosen constituencies carries a photo of its sheet.

The night's copies carry no photo (:mod:`pollwatch.synth.submissions`); evidence packs and their
benchmark need some. Each photo is a small PNG made from the entry (so every copy's photo differs), kept
in the evidence store, and its SHA-256 is signed with the rest of the copy by the submitter's device,
exactly as a phone would send it.
"""

from __future__ import annotations

import io
from collections.abc import Collection

import numpy as np
from PIL import Image

from pollwatch.auth import sign
from pollwatch.evidence import BlobStore, add_evidence
from pollwatch.intake.format import SheetSubmission, iso, signing_body
from pollwatch.intake.service import Job, write_batch
from pollwatch.ledger.records import signed_bytes
from pollwatch.storage import Database
from pollwatch.synth.submissions import Entry, Form, Night


def sheet_photo(night: Night, entry: Entry, *, size: tuple[int, int] = (120, 90)) -> bytes:
    """A PNG standing for the photo of one copy: pixels drawn from the entry, so each one differs."""
    rng = np.random.default_rng([night.election.config.seed, entry.index, int(entry.at.timestamp())])
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def photographed_job(night: Night, entry: Entry, photo_sha256: str) -> Job:
    """The entry's signed submission with the photo's SHA-256 in it, signed again by the same device."""
    job = night.job(entry)
    identity = night.identities[night.submitter_of(entry)]
    sub: SheetSubmission = job.record.model_copy(update={"photo_sha256": photo_sha256, "signature": None})
    body = signing_body(
        sub,
        form=entry.form.value,
        submitter_key=identity.device_key,
        organisation=identity.principal.organisation,
        captured_at=iso(sub.captured_at or job.received_at),
    )
    signed = sub.model_copy(update={"signature": sign(identity.device, signed_bytes(body))})
    return Job(signed, job.principal, job.channel, received_at=job.received_at)


def load_night_with_photos(
    db: Database, night: Night, *, evidence: BlobStore, constituencies: Collection[str], chunk: int = 500
) -> int:
    """Write the whole night; copies of ``constituencies``' stations carry a stored photo. Return how many."""
    e = night.election
    photos, batch = 0, []
    for entry in night.entries:
        code = (
            e.constituency_codes[e.constituency[int(night.arrivals.station[entry.index])]]
            if entry.form is Form.STATION
            else None
        )
        if code is not None and code in constituencies:
            digest, _ = add_evidence(evidence, sheet_photo(night, entry))
            batch.append(photographed_job(night, entry, digest))
            photos += 1
        else:
            batch.append(night.job(entry))
        if len(batch) >= chunk:
            with db.begin() as conn:
                write_batch(conn, batch)
            batch = []
    if batch:
        with db.begin() as conn:
            write_batch(conn, batch)
    return photos
