"""Who may do what: roles, the authenticated principal and the permission checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pollwatch.errors import ForbiddenError, OutsideAssignmentError


class AuthRole(StrEnum):
    """Roles a token can carry; anonymous callers are ``public`` and may only read."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    """Of one party or observer organisation; registers agents and observers of it."""
    AGENT = "agent"
    """A polling agent: submits only for the stations or constituencies assigned."""
    OBSERVER = "observer"
    GATEWAY = "gateway"
    """An SMS gateway: may only call the inbound-SMS webhook."""
    OFFICIAL = "official"
    """The election authority's uploader: submits official results (``/api/v1/records/official``)."""
    PUBLIC = "public"


SUBMITTING = frozenset({AuthRole.ADMIN, AuthRole.COORDINATOR, AuthRole.AGENT, AuthRole.OBSERVER})


@dataclass(frozen=True)
class Assignment:
    """A station (or, with ``station_serial`` None, a whole constituency) an agent may report on."""

    election: str
    constituency: str
    station_serial: int | None = None

    def covers(self, election: str, constituency: str, station_serial: int | None) -> bool:
        if self.election and self.election != election:
            return False
        if self.constituency != constituency:
            return False
        return self.station_serial is None or self.station_serial == station_serial


@dataclass(frozen=True)
class Principal:
    """The caller: a pseudonymous key id, a role, an organisation and (for agents) assignments."""

    submitter_id: int
    key_id: str
    role: AuthRole
    organisation: str = ""
    assignments: tuple[Assignment, ...] = ()


def require_role(principal: Principal, roles: Sequence[AuthRole] | frozenset[AuthRole], action: str) -> None:
    """Raise ForbiddenError unless the principal has one of ``roles``."""
    if principal.role not in roles:
        raise ForbiddenError(
            f"your role may not {action}",
            where="Authorization",
            expected="a token with role " + " or ".join(sorted(r.value for r in roles)),
            found=principal.role.value,
        )


def verify_may_submit(
    principal: Principal,
    *,
    election: str,
    constituency: str | None,
    station_serial: int | None,
    roles: frozenset[AuthRole] = SUBMITTING,
    what: str = "result sheets",
) -> None:
    """Agents submit only where assigned; the other ``roles`` anywhere.

    ``constituency`` None: the record has no place of its own (its kind checks what it may name).
    """
    require_role(principal, roles, f"submit {what}")
    if principal.role is not AuthRole.AGENT or constituency is None:
        return  # a record without a place (a photo of one's own sheets) checks ownership itself
    if any(a.covers(election, constituency, station_serial) for a in principal.assignments):
        return
    place = constituency + ("" if station_serial is None else f" station {station_serial}")
    raise OutsideAssignmentError(
        "this agent is not assigned to that station",
        where="station",
        expected="; ".join(
            f"{a.constituency}" + ("" if a.station_serial is None else f" station {a.station_serial}")
            for a in principal.assignments
        )
        or "an assignment (ask your coordinator)",
        found=place,
    )


def verify_may_register(principal: Principal, *, role: AuthRole, organisation: str) -> None:
    """Admins register anyone; coordinators register agents and observers of their own organisation."""
    if principal.role is AuthRole.ADMIN:
        return
    require_role(principal, (AuthRole.COORDINATOR,), "register submitters")
    if role not in (AuthRole.AGENT, AuthRole.OBSERVER):
        raise ForbiddenError(
            "a coordinator registers only agents and observers", expected="agent or observer", found=role
        )
    if not principal.organisation:  # the same rule as verify_may_revoke: register only whom you can revoke
        raise ForbiddenError(
            "a coordinator without an organisation registers nobody (they could not revoke them)",
            where="organisation",
            expected="a coordinator token with an organisation",
            found="(your token has no organisation)",
        )
    if organisation != principal.organisation:
        raise ForbiddenError(
            "a coordinator registers only members of their own organisation",
            where="organisation",
            expected=principal.organisation,
            found=organisation,
        )


def verify_may_revoke(principal: Principal, *, role: str, organisation: str, owner_id: int) -> None:
    """Admins revoke anyone; a coordinator agents and observers of their organisation; anyone their own.

    ``role``, ``organisation`` and ``owner_id`` describe the submitter whose token or device is revoked.
    """
    if principal.role is AuthRole.ADMIN or principal.submitter_id == owner_id:
        return
    require_role(principal, (AuthRole.COORDINATOR,), "revoke tokens or device keys of others")
    if role not in (AuthRole.AGENT.value, AuthRole.OBSERVER.value):
        raise ForbiddenError(
            "a coordinator revokes only agents and observers", expected="agent or observer", found=role
        )
    if not principal.organisation or organisation != principal.organisation:
        raise ForbiddenError(
            "a coordinator revokes only members of their own organisation",
            where="organisation",
            expected=principal.organisation or "(your token has no organisation)",
            found=organisation or "(none)",
        )
