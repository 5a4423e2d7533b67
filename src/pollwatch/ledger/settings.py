"""Ledger settings from the environment: log origin, log key file, witnesses to push checkpoints to.

* ``POLLWATCH_LOG_ORIGIN``: origin line of checkpoints and name of the log key; default
  ``pollwatch.local/results`` (set it to your deployment, e.g. ``results.example.org/pk-2024``).
* ``POLLWATCH_LOG_KEY``: private log key file; default ``<POLLWATCH_HOME>/keys/log.key`` (created on first
  use, mode 0600, with the verifier key beside it as ``log.vkey``).
* ``POLLWATCH_LOG_VKEY``: the log's verifier key (the vkey itself, or a file holding it), for a node that
  never signs (``POLLWATCH_PUBLISHER=off``): it serves intake, receipts and proofs with no private key
  on its host (:func:`load_public_settings`).
* ``POLLWATCH_WITNESSES``: witnesses the publisher pushes each checkpoint to, separated by ``;`` or new
  lines, each ``<URL prefix> <witness vkey>``.
* ``POLLWATCH_WITNESS_TIMEOUT``: seconds to wait for one witness (default 1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pollwatch import config
from pollwatch.errors import InputError
from pollwatch.ledger.note import Signer, Verifier, load_signer, parse_vkey

SETTINGS = {
    "POLLWATCH_LOG_ORIGIN": "checkpoint origin line and log key name (default pollwatch.local/results)",
    "POLLWATCH_LOG_KEY": "private log key file (default <POLLWATCH_HOME>/keys/log.key, created on first use)",
    "POLLWATCH_LOG_VKEY": "the log's verifier key (vkey or a file holding it) for nodes that never sign",
    "POLLWATCH_WITNESSES": "witnesses to push checkpoints to: '<URL prefix> <vkey>' separated by ';'",
    "POLLWATCH_WITNESS_TIMEOUT": "seconds to wait for each witness (default 1)",
}
DEFAULT_ORIGIN = "pollwatch.local/results"


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log pushes checkpoints to: its URL prefix and its cosignature verifier key."""

    url: str
    key: Verifier


@dataclass(frozen=True)
class LogKeys:
    """What a node that never signs needs: the log's verifier key (its name is the origin) and the
    witnesses. No private key."""

    key: Verifier
    witnesses: tuple[WitnessEndpoint, ...] = ()
    witness_timeout: float = 1.0

    @property
    def origin(self) -> str:
        return self.key.name


@dataclass(frozen=True)
class LogSettings:
    """The signer of checkpoints (its name is the origin) and the witnesses to ask for cosignatures."""

    signer: Signer
    witnesses: tuple[WitnessEndpoint, ...] = ()
    witness_timeout: float = 1.0

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def public(self) -> LogKeys:
        """The same settings without the private key."""
        return LogKeys(self.signer.verifier(), self.witnesses, self.witness_timeout)


def log_key_path() -> Path:
    explicit = os.environ.get("POLLWATCH_LOG_KEY")
    return Path(explicit) if explicit else config.home() / "keys" / "log.key"


def load_settings() -> LogSettings:
    """Read the settings, creating the log key on first use."""
    origin = os.environ.get("POLLWATCH_LOG_ORIGIN", "").strip()
    signer = load_signer(log_key_path(), name=origin or DEFAULT_ORIGIN)
    _check_origin(origin, signer.name, "POLLWATCH_LOG_KEY")
    witnesses, timeout = _witness_settings()
    return LogSettings(signer, witnesses, timeout)


def load_public_settings() -> LogKeys:
    """Read the settings a node needs to serve the log without signing: ``POLLWATCH_LOG_VKEY`` when set
    (the private key is never read then), else the private key's settings (created on first use, as
    :func:`load_settings`) unless this process never signs (``POLLWATCH_PUBLISHER=off``), in which case
    the verifier key beside the private key file is enough and a missing one is an error."""
    from pollwatch.ledger.leader import publisher_enabled  # it imports the storage layer

    origin = os.environ.get("POLLWATCH_LOG_ORIGIN", "").strip()
    given = os.environ.get("POLLWATCH_LOG_VKEY", "").strip()
    if not given:
        if publisher_enabled() or log_key_path().exists():
            return load_settings().public
        beside = log_key_path().with_suffix(".vkey")
        if not beside.exists():
            raise InputError(
                "no log verifier key for this node",
                where="POLLWATCH_LOG_VKEY",
                expected="the log's vkey, or a file holding it",
                remedy="copy keys/log.vkey from the publisher's host and set POLLWATCH_LOG_VKEY to it",
            )
        given = str(beside)
    text = Path(given).read_text().strip() if Path(given).is_file() else given
    key = parse_vkey(text)
    _check_origin(origin, key.name, "POLLWATCH_LOG_VKEY")
    witnesses, timeout = _witness_settings()
    return LogKeys(key, witnesses, timeout)


def _check_origin(origin: str, name: str, where: str) -> None:
    if origin and name != origin:
        raise InputError(
            "the log key belongs to another origin",
            expected=origin,
            found=name,
            remedy=f"point {where} at this origin's key, or unset POLLWATCH_LOG_ORIGIN",
        )


def _witness_settings() -> tuple[tuple[WitnessEndpoint, ...], float]:
    witnesses = parse_witnesses(os.environ.get("POLLWATCH_WITNESSES", ""))
    timeout = float(os.environ.get("POLLWATCH_WITNESS_TIMEOUT", "1") or 1)
    return witnesses, timeout


def parse_witnesses(text: str) -> tuple[WitnessEndpoint, ...]:
    """Parse ``<URL prefix> <vkey>`` items separated by ``;`` or new lines."""
    out = []
    for item in text.replace("\n", ";").split(";"):
        if not item.strip():
            continue
        parts = item.split()
        if len(parts) != 2 or not parts[0].startswith(("http://", "https://")):
            raise InputError(
                "bad POLLWATCH_WITNESSES item", expected="<http(s) URL prefix> <witness vkey>", found=item
            )
        out.append(WitnessEndpoint(parts[0].rstrip("/"), parse_vkey(parts[1])))
    return tuple(out)
