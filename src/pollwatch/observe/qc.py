"""Quality-control rules: expressions over a form's tags, checked on every checklist as it arrives.

A rule such as ``CA + CB == CC`` (men and women make the total) names questions by their tags and uses
numbers, ``+ - * /``, comparisons, ``and``, ``or`` and ``not``; nothing else parses. A rule whose tags were
not all answered does not apply. A checklist that breaks a rule is kept and logged, but quarantined:
the failure is in its leaf's ``checks`` and its answers stay out of the figures until a corrected report
arrives (the approach of NDI's Apollo, OBSERVATION.md [S16]).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pollwatch.errors import InputError

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}  # fmt: skip
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """A named QC rule, parsed once; :meth:`check` is None where it does not apply."""

    name: str
    expression: str
    tree: ast.Expression
    tags: frozenset[str]

    @classmethod
    def parse(cls, name: str, expression: str, *, known: Collection[str]) -> Rule:
        """Parse ``expression``; refuse anything but tags in ``known``, numbers and the allowed operators."""
        try:
            tree = ast.parse(expression, mode="eval")
        except SyntaxError as exc:
            raise InputError(f"QC rule {name} does not parse", where=name, found=expression) from exc
        tags: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                if node.id not in known:
                    raise InputError(
                        f"QC rule {name} names a tag the form does not have",
                        where=name, expected=", ".join(sorted(known)), found=node.id,
                    )  # fmt: skip
                tags.add(node.id)
            elif not isinstance(node, _ALLOWED):
                raise InputError(
                    f"QC rule {name} uses what a rule may not",
                    where=name, expected="tags, numbers, + - * /, comparisons, and/or/not",
                    found=type(node).__name__,
                )  # fmt: skip
        return cls(name, expression, tree, frozenset(tags))

    def check(self, answers: Mapping[str, Any]) -> bool | None:
        """Whether the answers keep the rule; None when a tag it names was not answered."""
        if any(answers.get(tag) is None for tag in self.tags):
            return None
        try:
            return bool(_eval(self.tree.body, answers))
        except ZeroDivisionError:
            return None


_ALLOWED = (
    ast.Expression, ast.BinOp, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.Constant, ast.Load,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.And, ast.Or, ast.Not, ast.USub,
)  # fmt: skip


def _eval(node: ast.expr, answers: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return answers[node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | bool):
        return node.value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, answers), _eval(node.right, answers))
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, answers)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, answers) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, answers)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, answers)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise InputError("QC rules hold only numbers, tags and operators", found=type(node).__name__)


def failures(rules: Collection[Rule], answers: Mapping[str, Any]) -> list[str]:
    """Names of the rules the answers break (rules that do not apply are not failures)."""
    return [r.name for r in rules if r.check(answers) is False]
