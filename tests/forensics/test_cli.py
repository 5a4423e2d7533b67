"""The forensics CLI: the keys the issue requires, the report file and the error for missing input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pollwatch.cli.main import app
from tests.conftest import require_shared_data

runner = CliRunner()


def _run(*args: str) -> dict[str, object]:
    data_dir = str(require_shared_data())
    res = runner.invoke(app, ["forensics", *args, "--data-dir", data_dir, "--format", "json"])
    assert res.exit_code == 0, res.output
    out: dict[str, object] = json.loads(res.stdout)
    return out


def test_cli_integer_percentages_prints_required_keys() -> None:
    out = _run("integer-percentages", "--dataset", "russia-kobak:2012", "--replicates", "10")
    assert {"included", "integer_t_or_r", "integer_r", "integer_t", "excess_t_or_r"} <= set(out)
    assert out["integer_t_or_r"] == 18025.0


def test_cli_spikes_prints_fraud_pct() -> None:
    out = _run("spikes", "--dataset", "dc2010-eforensics", "--replicates", "20")
    assert isinstance(out["fraud_pct"], float)
    assert "calibration" in out


def test_cli_needs_a_dataset_or_an_election() -> None:
    res = runner.invoke(app, ["forensics", "fingerprint"])
    assert res.exit_code == 1
    assert "exactly one of --dataset" in res.output


def test_cli_report_writes_self_contained_html(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(
        app,
        [
            "forensics",
            "report",
            "--dataset",
            "dc2010-eforensics",
            "--data-dir",
            str(require_shared_data()),
            "--replicates",
            "20",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert 'id="spikes"' in html
    assert "<script" not in html


@pytest.mark.slow
def test_cli_eforensics_takes_the_model_and_prints_the_test() -> None:
    out = _run("eforensics", "--dataset", "dc2010-eforensics", "--model", "bl")
    assert out["model"] == "bl"
    assert out["flagged"] is True
    assert isinstance(out["p_value"], float)
    units = out["named_units"]
    assert isinstance(units, list)
    assert str(units[0]["unit"]).startswith("PRECINCT")


def test_cli_eforensics_refuses_mcmc_for_bl() -> None:
    data_dir = str(require_shared_data())
    args = ["forensics", "eforensics", "--dataset", "dc2010-eforensics", "--data-dir", data_dir]
    res = runner.invoke(app, [*args, "--model", "bl", "--estimator", "mcmc"])
    assert res.exit_code != 0
    assert "sampled for qbl only" in res.output


@pytest.mark.slow
def test_cli_eforensics_mcmc_adds_the_posterior_and_keeps_the_ml_keys() -> None:
    out = _run("eforensics", "--dataset", "dc2010-eforensics", "--estimator", "mcmc", "--draws", "100")
    assert out["estimator"] == "mcmc"
    assert {"params", "coefficients", "p_value", "flagged", "named_units"} <= set(out)
    post = out["posterior"]
    assert isinstance(post, dict)
    assert post["draws"] == 100
    assert [c["start"] for c in post["chains"]] == ["fraud", "honest"]
    estimate = post["parameters"]["pi[1]"]
    assert 0.0 < estimate["hpd"][0] <= estimate["mean"] <= estimate["hpd"][1] <= 1.0
