"""The incident taxonomy (``observe/incidents.toml``): codes, their groups, numeric SMS codes, and texts in
English and Urdu; and the severities an incident report may carry."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from pollwatch.errors import InputError


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Category:
    code: str
    sms: int
    group: str
    text: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "sms": self.sms, "group": self.group, "text": dict(self.text)}


@cache
def categories() -> dict[str, Category]:
    """Every incident category by code."""
    raw = tomllib.loads((resources.files("pollwatch.observe") / "incidents.toml").read_text(encoding="utf-8"))
    out = {
        str(c["code"]): Category(
            str(c["code"]), int(c["sms"]), str(c["group"]), {"en": c["en"], "ur": c["ur"]}
        )
        for c in raw["categories"]
    }
    if len({c.sms for c in out.values()}) != len(out):
        raise InputError("incident categories share an SMS code", where="observe/incidents.toml")
    return out


def category(code: str) -> Category:
    """The category of this code, or an error listing the codes there are."""
    found = categories().get(code)
    if found is None:
        raise InputError(
            "unknown incident category; nothing was written",
            where="category", expected=", ".join(sorted(categories())), found=code[:40],
        )  # fmt: skip
    return found


def by_sms(number: int) -> Category | None:
    """The category an SMS names by its number."""
    return next((c for c in categories().values() if c.sms == number), None)
