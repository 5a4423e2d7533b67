"""Record kinds: each a plug-in of the one submission core (schema, checks, rows; see ``base``).

>>> from pollwatch.intake import kinds
>>> sorted(kinds.names())
['case', 'case_update', 'checklist', 'incident', 'incident_status', 'official', 'photo', 'sheet', 'shutdown']
>>> kinds.get_kind("official").leaf_type
'official'
"""

from __future__ import annotations

from typing import Any

from pollwatch.errors import NotFoundError
from pollwatch.intake.kinds.base import RecordKind
from pollwatch.intake.kinds.case import CaseKind
from pollwatch.intake.kinds.case_update import CaseUpdateKind
from pollwatch.intake.kinds.checklist import ChecklistKind
from pollwatch.intake.kinds.incident import IncidentKind
from pollwatch.intake.kinds.incident_status import IncidentStatusKind
from pollwatch.intake.kinds.official import OfficialKind
from pollwatch.intake.kinds.photo import PhotoKind
from pollwatch.intake.kinds.sheet import SheetKindPlugin
from pollwatch.intake.kinds.shutdown import ShutdownKind
from pollwatch.ledger import records

_BY_NAME: dict[str, RecordKind] = {}
_BY_SCHEMA: dict[type[Any], RecordKind] = {}


def register(kind: RecordKind) -> RecordKind:
    """Add a kind (its leaf type becomes loggable); registering the same name again replaces it."""
    old = _BY_NAME.pop(kind.name, None)
    if old is not None:
        _BY_SCHEMA.pop(old.schema, None)
    _BY_NAME[kind.name] = kind
    _BY_SCHEMA[kind.schema] = kind
    records.register_type(kind.leaf_type)
    return kind


def unregister(name: str) -> None:
    """Remove a kind (its leaf type stays loggable: leaves already written must stay readable)."""
    kind = _BY_NAME.pop(name, None)
    if kind is not None:
        _BY_SCHEMA.pop(kind.schema, None)


def get_kind(name: str) -> RecordKind:
    """The registered kind of this name, or NotFoundError listing the kinds there are."""
    kind = _BY_NAME.get(name)
    if kind is None:
        raise NotFoundError(
            "no such record kind", where="kind", expected=", ".join(sorted(_BY_NAME)), found=name[:40]
        )
    return kind


def kind_of(record: Any) -> RecordKind:
    """The kind whose schema ``record`` is an instance of."""
    kind = _BY_SCHEMA.get(type(record))
    if kind is None:
        for schema, candidate in _BY_SCHEMA.items():
            if isinstance(record, schema):
                return candidate
        raise TypeError(f"{type(record).__name__} is not the schema of a registered record kind")
    return kind


def names() -> list[str]:
    return list(_BY_NAME)


register(SheetKindPlugin())
register(OfficialKind())
register(PhotoKind())
register(ChecklistKind())
register(IncidentKind())
register(IncidentStatusKind())
register(CaseKind())
register(CaseUpdateKind())
register(ShutdownKind())

__all__ = ["RecordKind", "get_kind", "kind_of", "names", "register", "unregister"]
