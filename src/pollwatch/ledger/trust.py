"""What a verifier trusts: the log's key, witness keys and a quorum it already holds, never the copy's own.

A bundle or a mirror ships the keys that signed it, but anyone can build a log under their own key with
the same origin name, re-sign every checkpoint and drop the witnesses. Only keys obtained some other way
(the election's published vkey, the witnesses' own announcements) prove the copy is the real log.

>>> from pollwatch.ledger.note import Signer
>>> key = Signer.from_seed("example.org/log", bytes(32)).verifier()
>>> anchor_check(TrustAnchor(log_key=key), shipped=key).passed
True
>>> anchor_check(TrustAnchor(), shipped=key).passed
False

References
----------
C2SP signed-note, tlog-cosignature @5ba5ee8; C2SP tlog-witness ("a client ... configured with a set of
witness public keys and a quorum").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pollwatch.errors import Error, InputError
from pollwatch.ledger.checkpoint import verify_cosignature
from pollwatch.ledger.note import Verifier, parse_note
from pollwatch.ledger.report import Check

SELF_CONSISTENT_ONLY = "only shows that the copy agrees with itself"


@dataclass(frozen=True)
class TrustAnchor:
    """Keys the verifier holds independently of the copy it checks.

    ``log_key`` None means none was given; ``trust_shipped_key`` then accepts the copy's own key (the
    report still says so first). ``quorum`` defaults to every witness given.
    """

    log_key: Verifier | None = None
    witnesses: tuple[Verifier, ...] = ()
    quorum: int | None = None
    trust_shipped_key: bool = False

    def __post_init__(self) -> None:
        if self.quorum is not None and not 0 <= self.quorum <= len(self.witnesses):
            raise InputError(
                "the quorum must be between 0 and the number of witness keys",
                expected=f"0..{len(self.witnesses)}",
                found=str(self.quorum),
                remedy="give one --witness-key per witness you trust, and --quorum at most that many",
            )

    @property
    def need(self) -> int:
        """How many of the witnesses must have cosigned."""
        return len(self.witnesses) if self.quorum is None else self.quorum


def describe(key: Verifier) -> str:
    """A key as a person should compare it: name and fingerprint."""
    return f"{key.name} {key.fingerprint}"


def anchor_check(anchor: TrustAnchor, *, shipped: Verifier | None) -> Check:
    """The first check of every report: which log key was trusted, and whether it came from outside."""
    witnesses = ", ".join(describe(w) for w in anchor.witnesses) or "none"
    trusted = f"witnesses {witnesses}; quorum {anchor.need}"
    if anchor.log_key is not None:
        found = f"log key given: {describe(anchor.log_key)}; {trusted}"
        same = shipped is None or shipped == anchor.log_key
        if not same and shipped is not None:
            found += f"; the copy ships ANOTHER key: {describe(shipped)}"
        return Check("trust anchor", same, "a log key the verifier already holds", found)
    shipped_text = describe(shipped) if shipped is not None else "none"
    return Check(
        "trust anchor",
        anchor.trust_shipped_key,
        "a log key the verifier already holds (--log-key)",
        f"no log key given: this report {SELF_CONSISTENT_ONLY}; it trusts the key the copy ships, "
        f"{shipped_text}; {trusted}",
    )


def cosigners(note: str, witnesses: Sequence[Verifier]) -> tuple[list[str], list[str], list[str]]:
    """Split ``witnesses`` by their cosignature on ``note``: valid, invalid (with the reason), absent."""
    try:
        present = {(s.name, s.key_id) for s in parse_note(note).signatures}
    except Error as exc:
        return [], [f"unreadable note: {exc.message}"], [w.name for w in witnesses]
    valid, invalid, absent = [], [], []
    for witness in witnesses:
        if (witness.name, witness.key_id) not in present:
            absent.append(witness.name)
            continue
        try:
            verify_cosignature(note, witness)
            valid.append(witness.name)
        except Error as exc:
            invalid.append(f"{witness.name}: {exc.message}")
    return valid, invalid, absent


def quorum_check(note: str, anchor: TrustAnchor, *, what: str = "latest checkpoint") -> Check:
    """Whether at least ``anchor.need`` of the trusted witnesses validly cosigned ``note``."""
    valid, invalid, absent = cosigners(note, anchor.witnesses)
    found = f"{len(valid)} of {len(anchor.witnesses)} valid"
    if not anchor.witnesses:
        found = "no witness keys given: nothing shows this checkpoint was shown to anyone else"
    if invalid:
        found += "; invalid: " + "; ".join(invalid)
    if absent:
        found += "; absent: " + ", ".join(absent)
    return Check(
        "witness quorum",
        len(valid) >= anchor.need and not invalid,
        f"at least {anchor.need} valid cosignatures of the given witnesses on the {what}",
        found,
    )
