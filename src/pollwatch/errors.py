"""One error family for pollwatch: every failure explains itself and says what to do next.

>>> err = InputError("votes must be a whole number", found="12.5", expected="an integer >= 0")
>>> err.status
422
>>> print(err.diagnostics())
votes must be a whole number
  expected: an integer >= 0
  found: 12.5
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what was expected and what was found."""

    message: str
    where: str = ""
    expected: str = ""
    found: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


class Error(Exception):
    """Base of every pollwatch error; carries a human explanation, a remedy and an HTTP status."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        remedy: str = "",
        where: str = "",
        expected: str = "",
        found: str = "",
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        self.problems: list[Problem] = problems or []
        if where or expected or found:
            self.problems.insert(0, Problem(message, where, expected, found))

    def diagnostics(self) -> str:
        """Return the message with every problem and the remedy, one per line."""
        lines = [self.message]
        for problem in self.problems:
            if problem.where:
                lines.append(
                    f"  at {problem.where}:"
                    + ("" if problem.message == self.message else f" {problem.message}")
                )
            elif problem.message != self.message:
                lines.append(f"  {problem.message}")
            if problem.expected:
                lines.append(f"  expected: {problem.expected}")
            if problem.found:
                lines.append(f"  found: {problem.found}")
        if self.remedy:
            lines.append(f"  remedy: {self.remedy}")
        return "\n".join(lines)

    def envelope(self) -> dict[str, Any]:
        """Return the JSON error envelope shared by every HTTP endpoint."""
        return {
            "error": {
                "code": self.code,
                "status": self.status,
                "message": self.message,
                "remedy": self.remedy,
                "problems": [p.as_dict() for p in self.problems],
            }
        }


class InputError(Error):
    """Input that is structurally wrong: nothing was written."""

    status = 422
    code = "invalid_input"


class NotFoundError(Error):
    """A named thing does not exist."""

    status = 404
    code = "not_found"


class ConflictError(Error):
    """The request contradicts what is already stored."""

    status = 409
    code = "conflict"


class AuthError(Error):
    """Missing or bad credentials."""

    status = 401
    code = "unauthenticated"


class ForbiddenError(Error):
    """The credentials are valid but do not allow this action."""

    status = 403
    code = "forbidden"


class UnenrolledKeyError(ForbiddenError):
    """A record is signed by a device key that is not enrolled to the caller (unknown, another's, revoked)."""

    code = "device_not_enrolled"


class ReplayError(ConflictError):
    """A signature already carried by another submission: a replay, refused."""

    code = "replayed_signature"


class OutsideAssignmentError(ForbiddenError):
    """An agent's record names a station outside the agent's assignments."""

    code = "outside_assignment"


class TooLargeError(Error):
    """A body, file or entry is above its size limit."""

    status = 413
    code = "too_large"


class RateLimitError(Error):
    """Too many requests from one token or address."""

    status = 429
    code = "rate_limited"


class DataError(Error):
    """A data file cannot be read as the format it claims to be."""

    status = 422
    code = "bad_data_file"


class StorageError(Error):
    """The database is unreachable, out of date or inconsistent."""

    status = 503
    code = "storage_unavailable"


class VerificationError(Error):
    """A proof, signature or hash did not verify: says what was expected and what was found."""

    status = 422
    code = "verification_failed"


@dataclass
class ProblemList:
    """Collects problems and raises them together, so a caller sees every mistake at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, *, where: str = "", expected: str = "", found: str = "") -> None:
        self.problems.append(Problem(message, where, expected, found))

    def raise_if_any(self, message: str, error: type[Error] = InputError) -> None:
        if self.problems:
            raise error(message, problems=list(self.problems))
