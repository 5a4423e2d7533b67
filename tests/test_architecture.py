"""Dependencies point inward: model imports nothing of ours; domains never import adapters."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pollwatch"
ADAPTERS = {"api", "web", "cli"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.startswith("pollwatch")}


def _package_files(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def test_model_imports_nothing_of_ours_but_itself() -> None:
    for path in _package_files("model"):
        outside = {n for n in _imports(path) if not n.startswith("pollwatch.model")}
        assert not outside, f"{path.name} imports {outside}"


@pytest.mark.parametrize(
    "package",
    sorted(
        p.name for p in SRC.iterdir() if p.is_dir() and p.name not in ADAPTERS and not p.name.startswith("_")
    ),
)
def test_domain_package_never_imports_an_adapter(package: str) -> None:
    for path in _package_files(package):
        bad = {n for n in _imports(path) if n.split(".")[1:2] and n.split(".")[1] in ADAPTERS}
        assert not bad, f"{package}/{path.name} imports adapter modules {bad}"


def test_sql_lives_only_in_storage() -> None:
    for path in SRC.rglob("*.py"):
        if "storage" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        for keyword in ("exec_driver_sql", "sqlalchemy import text", "sa.text("):
            assert keyword not in text, (
                f"{path.relative_to(SRC)} runs SQL ({keyword}); SQL belongs in storage/"
            )
