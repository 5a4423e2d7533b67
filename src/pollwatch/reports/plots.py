"""Forensic plots (matplotlib, Agg backend): fingerprint, integer-percentage histograms, digits, spikes.

Every function returns a matplotlib Figure; :func:`save` writes it as PNG and SVG, :func:`svg_text` and
:func:`png_data_uri` give what the HTML report embeds.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pollwatch.forensics.digits import DigitResult  # noqa: E402
from pollwatch.forensics.fingerprint import FingerprintResult  # noqa: E402
from pollwatch.forensics.spikes import SpikesResult  # noqa: E402
from pollwatch.forensics.table import StationTable  # noqa: E402


def fingerprint_figure(result: FingerprintResult) -> Figure:
    """Heat map of voters by turnout (x) and leader share (y), log colour scale."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    h = np.log10(1 + result.histogram.T)
    im = ax.imshow(h, origin="lower", extent=(0, 100, 0, 100), cmap="viridis", aspect="auto")
    ax.set_xlabel("turnout, %")
    ax.set_ylabel("leader share, %")
    ax.set_title(f"Fingerprint: {result.dataset}", fontsize=9)
    fig.colorbar(im, ax=ax, label="log10(1 + voters)")
    fig.tight_layout()
    return fig


def integer_figure(table: StationTable, *, binwidth: float = 0.1) -> Figure:
    """Histograms of turnout and leader share in 0.1-point bins, weighted by voters (Kobak's display)."""
    reg, given = table.require_turnout("integer-percentages")
    keep = (reg >= 100) & (table.received > 0)
    turnout = 100 * given[keep] / reg[keep]
    share = 100 * table.leader_votes[keep] / table.received[keep]
    bins = np.arange(0, 100 + binwidth, binwidth)
    fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    for ax, x, label in ((axes[0], turnout, "turnout"), (axes[1], share, "leader share")):
        ax.hist(x, bins=bins, weights=reg[keep], color="#333", histtype="stepfilled", linewidth=0)
        ax.set_ylabel(f"voters ({label})")
        for tick in range(0, 101, 10):
            ax.axvline(tick, color="#c33", linewidth=0.3, alpha=0.4)
    axes[1].set_xlabel("percent (0.1-point bins; red lines every 10 %)")
    axes[0].set_title(f"Integer percentages: {table.name}", fontsize=9)
    fig.tight_layout()
    return fig


def digits_figure(result: DigitResult) -> Figure:
    """Observed digit shares against the expected law."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    d = np.arange(10)
    counts = np.asarray(result.counts, dtype=float)
    ax.bar(d, counts / max(counts.sum(), 1), color="#4a7", label="observed")
    ax.plot(d, result.expected, "k.-", label="expected")
    ax.set_xticks(d)
    ax.set_xlabel(f"{result.kind} digit of {result.candidate} counts >= {result.minimum_count}")
    ax.set_ylabel("share")
    ax.set_title(f"{result.kind} digit: p(resampled) = {result.p_resampled:.3g}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def spikes_figure(result: SpikesResult) -> Figure:
    """Observed share density against the resampled mean and maximum; spike bins marked."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(result.grid, result.resampled_max, color="#bbb", linewidth=0.6, label="max of resamples")
    ax.plot(result.grid, result.resampled_mean, color="#36c", linewidth=0.8, label="mean of resamples")
    ax.plot(result.grid, result.observed, color="k", linewidth=0.6, label="observed")
    spike = np.isin(np.round(result.grid, 4), result.spike_bins)
    ax.plot(result.grid[spike], result.observed[spike], "r.", markersize=4, label="spike")
    ax.set_xlabel("leader share of turnout")
    ax.set_ylabel("density")
    ax.set_title(f"Spikes: fraud_pct = {result.fraud_pct:.3f} %, p = {result.p_value:.3g}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save(fig: Figure, stem: Path) -> tuple[Path, Path]:
    """Write ``stem``.png and ``stem``.svg and close the figure."""
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    plt.close(fig)
    return png, svg


def svg_text(fig: Figure) -> str:
    """The figure as inline SVG markup (closes the figure)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def png_data_uri(fig: Figure) -> str:
    """The figure as a base64 PNG data URI (closes the figure)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
