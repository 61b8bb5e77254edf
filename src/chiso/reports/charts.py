"""Charts as PNG images, drawn with matplotlib's Agg backend (no display, no outside fonts:
matplotlib's own DejaVu Sans carries the Vietnamese letters). Numbers on the axes are in the
language in force (Vietnamese: decimal comma)."""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import FuncFormatter  # noqa: E402

from chiso.reports.document import fmt_number  # noqa: E402

#: Bar colours by band position (lowest band first): red, amber, green, dark green.
BAND_COLOURS = ("#c0392b", "#e0a800", "#5aa469", "#1e7b3c")
DPI = 150


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return out.getvalue()



def score_bars(*, labels: Sequence[str], values: Sequence[float | None], colours: Sequence[str], title: str,
               xlabel: str, thresholds: Sequence[float] = (), top: float | None = None) -> bytes:
    """Scores by unit, best first. Up to 40 units: horizontal bars with names; more: vertical
    bars by rank (the names are in the table beside it)."""
    vals = [v or 0.0 for v in values]
    fmt = FuncFormatter(lambda v, _pos: fmt_number(v, 0))
    n = len(vals)
    if n <= 40:
        fig = Figure(figsize=(7.5, max(2.2, 0.28 * n + 1.0)))
        ax = fig.subplots()
        ys = list(range(n))[::-1]
        ax.barh(ys, vals, color=colours, height=0.7)
        ax.set_yticks(ys, [_short(lbl) for lbl in labels], fontsize=8)
        for y, v in zip(ys, vals):
            ax.text(v + (top or max(vals or [1])) * 0.01, y, fmt_number(v, 2), va="center", fontsize=7)
        ax.set_xlim(0, (top or max(vals or [1])) * 1.08)
        ax.xaxis.set_major_formatter(fmt)
        ax.set_xlabel(xlabel, fontsize=9)
        for t in thresholds:
            ax.axvline(t, color="#555555", linestyle=":", linewidth=0.8)
        ax.set_ylim(-0.6, n - 0.4)
    else:
        fig = Figure(figsize=(7.5, 3.4))
        ax = fig.subplots()
        xs = list(range(1, n + 1))
        ax.bar(xs, vals, color=colours, width=0.85)
        ax.set_xlim(0.3, n + 0.7)
        ax.set_ylim(0, (top or max(vals or [1])) * 1.12)
        ax.yaxis.set_major_formatter(fmt)
        ax.set_ylabel(xlabel, fontsize=9)
        ax.set_xlabel("#", fontsize=9)  # rank
        for t in thresholds:
            ax.axhline(t, color="#555555", linestyle=":", linewidth=0.8)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def trend(*, labels: Sequence[str], values: Sequence[float | None], title: str, ylabel: str,
          decimals: int = 2) -> bytes:
    """One series over periods (the province's score), each point labelled."""
    fig = Figure(figsize=(7.0, 2.8))
    ax = fig.subplots()
    xs = list(range(len(labels)))
    points = [(x, v) for x, v in zip(xs, values) if v is not None]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color="#1f4e79", linewidth=1.8)
        for x, v in points:
            ax.annotate(fmt_number(v, decimals), (x, v), xytext=(0, 6), textcoords="offset points", ha="center",
                        fontsize=8)
        low, high = min(p[1] for p in points), max(p[1] for p in points)
        pad = max((high - low) * 0.25, abs(high) * 0.05, 0.01)
        ax.set_ylim(low - pad, high + pad * 1.6)
    ax.set_xticks(xs, labels, fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(v, decimals if high - low < 1 else 0)
                                               if points else ""))
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def _short(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
