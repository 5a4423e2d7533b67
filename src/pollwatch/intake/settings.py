"""Intake settings from the environment (documented in docs/intake.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pollwatch import config

SETTINGS = {
    "POLLWATCH_EVIDENCE_DIR": "where photos are stored; default <POLLWATCH_HOME>/evidence",
    "POLLWATCH_MAX_BODY_BYTES": "largest JSON/CSV/SMS request body accepted (default 262144)",
    "POLLWATCH_MAX_PHOTO_BYTES": "largest photo or scan accepted (default 15728640)",
    "POLLWATCH_MAX_PHOTO_PIXELS": "largest image in pixels, against decompression bombs (default 60000000)",
    "POLLWATCH_RATE_TOKEN": "requests per second and burst per API token, 'rate,burst' (default 50,500)",
    "POLLWATCH_RATE_ADDRESS": "requests per second and burst per client address (default 200,2000)",
    "POLLWATCH_RECEIPT_WAIT": "seconds a submission waits for its receipt before answering (default 2.5)",
    "POLLWATCH_SMS_GATEWAYS": "the SMS adapters file (default <POLLWATCH_HOME>/sms-gateways.json)",
}


@dataclass(frozen=True)
class IntakeSettings:
    evidence_dir: Path
    max_body_bytes: int
    max_photo_bytes: int
    max_photo_pixels: int
    rate_token: tuple[float, float]
    rate_address: tuple[float, float]
    receipt_wait: float


def _pair(name: str, default: str) -> tuple[float, float]:
    rate, _, burst = os.environ.get(name, default).partition(",")
    return float(rate), float(burst or rate)


def load() -> IntakeSettings:
    """Read the settings now (tests and servers may change the environment between apps)."""
    evidence = os.environ.get("POLLWATCH_EVIDENCE_DIR")
    return IntakeSettings(
        evidence_dir=Path(evidence) if evidence else config.home() / "evidence",
        max_body_bytes=int(os.environ.get("POLLWATCH_MAX_BODY_BYTES", 262_144)),
        max_photo_bytes=int(os.environ.get("POLLWATCH_MAX_PHOTO_BYTES", 15 * 1024 * 1024)),
        max_photo_pixels=int(os.environ.get("POLLWATCH_MAX_PHOTO_PIXELS", 60_000_000)),
        rate_token=_pair("POLLWATCH_RATE_TOKEN", "50,500"),
        rate_address=_pair("POLLWATCH_RATE_ADDRESS", "200,2000"),
        receipt_wait=float(os.environ.get("POLLWATCH_RECEIPT_WAIT", 2.5)),
    )
