"""Docs that cannot drift: the CLI reference, endpoints, settings and the README's commands."""

import re
from pathlib import Path

from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.cli.main import app
from pollwatch.cli.reference import render
from pollwatch.storage import Database

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _all_docs() -> str:
    return "\n".join(p.read_text() for p in sorted(DOCS.glob("*.md"))) + (ROOT / "README.md").read_text()


def test_cli_reference_matches_the_commands() -> None:
    assert (DOCS / "cli.md").read_text() == render(app), "docs/cli.md is stale: run `make docs`"


def test_every_endpoint_is_documented() -> None:
    db = Database("sqlite://")
    db.upgrade()
    paths = TestClient(create_app(db)).get("/openapi.json").json()["paths"]
    text = _all_docs()
    missing = [p for p in paths if p not in text]
    assert not missing, f"endpoints not mentioned in docs/*.md: {missing}"


def test_every_setting_is_documented() -> None:
    used: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        used |= set(re.findall(r"\"(POLLWATCH_[A-Z_]+)\"", path.read_text()))
    text = (DOCS / "configuration.md").read_text()
    missing = sorted(s for s in used if f"`{s}`" not in text)
    assert not missing, f"settings not documented in docs/configuration.md: {missing}"


def test_readme_first_screen_gives_the_two_commands() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:12])
    commands = re.findall(r"^(make \w+)", first_screen, flags=re.M)
    assert commands == ["make demo", "make test"]


def test_readme_commands_exist() -> None:
    known = {
        line.removeprefix("## `pollwatch ").rstrip("`")
        for line in render(app).splitlines()
        if line.startswith("## `pollwatch ")
    }
    used = re.findall(r"\.venv/bin/pollwatch ([a-z-]+)", (ROOT / "README.md").read_text())
    unknown = [c for c in used if c not in {k.split()[0] for k in known} and c != "--help"]
    assert not unknown, f"README uses commands that do not exist: {unknown}"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec make test$", ci, flags=re.M)
