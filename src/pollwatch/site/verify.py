"""What ``/verify`` tells a reader: how to check a receipt, a bundle, a mirror and a snapshot offline.

The commands are data here so that a test runs each one through the real command-line parser
(``tests/web/test_published.py``): a renamed command or option breaks the test, not the reader.
``{vkey}``, ``{slug}`` and ``{origin}`` are filled in by the page (the log key to pin, an election,
this server's address).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One thing to check: what it proves, and the commands (run in order) that check it."""

    name: str
    title: str
    proves: str
    commands: tuple[str, ...]


STEPS = (
    Step(
        "receipt",
        "A receipt",
        "The entry you submitted (or downloaded from a station page) is in the log whose checkpoint the "
        "log key signed, and the witnesses you name cosigned that checkpoint.",
        (
            "pollwatch verify-receipt receipt-123.txt --log-key '{vkey}'",
            "pollwatch verify-receipt receipt-123.txt --log-key '{vkey}' --witness-key '<witness vkey>' "
            "--quorum 1",
        ),
    ),
    Step(
        "bundle",
        "A bundle",
        "Every entry, tile and checkpoint of an offline bundle agrees with the log key, and the tallies "
        "in it are the sums of its signed sheets.",
        (
            "pollwatch bundle export bundle --election {slug}",
            "pollwatch verify bundle --log-key '{vkey}'",
        ),
    ),
    Step(
        "mirror",
        "A mirror of the log",
        "A static copy of the log (any web server can host one) is complete and consistent: signature, "
        "witness quorum, every tile and entry, earlier checkpoints.",
        (
            "pollwatch log mirror mirror --from {origin}/log --log-key '{vkey}'",
            "pollwatch log verify-mirror mirror --log-key '{vkey}'",
            "pollwatch log verify-mirror {origin}/log --log-key '{vkey}'",
        ),
    ),
    Step(
        "snapshot",
        "A snapshot of this site and its open data",
        "The files of a snapshot (pages and open data) are the ones its manifest lists, and the "
        "checkpoint it names is signed by the log key.",
        (
            "cd snapshot/data && sha256sum -c SHA256SUMS",
            "pollwatch log verify-mirror {origin}/log --log-key '{vkey}'",
        ),
    ),
)


@dataclass(frozen=True)
class VerifyPage:
    vkey: str
    """The log's verifier key as this server states it: pin it only if another source agrees."""
    origin: str
    slug: str
    steps: tuple[Step, ...]


def get_verify_page(*, vkey: str, origin: str, slug: str) -> VerifyPage:
    """The steps with the log key, this server's address and an election filled in."""
    filled = tuple(
        Step(
            s.name,
            s.title,
            s.proves,
            tuple(c.format(vkey=vkey, origin=origin, slug=slug) for c in s.commands),
        )
        for s in STEPS
    )
    return VerifyPage(vkey, origin, slug, filled)
