"""Charts drawn on the server as SVG: no JavaScript library to download, a few hundred bytes
each, readable without scripts, printable, and allowed by the content security policy
(colours come from classes in chiso.css, never from style attributes)."""

from __future__ import annotations

from html import escape

from markupsafe import Markup



def _fmt(value, digits: int = 2) -> str:
    from chiso.web.dashboard.common import fnum

    return fnum(value, digits)


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def line(points: list[tuple[str, float | None]], *, title: str, width: int = 560, height: int = 160,
         lo: float | None = 0, hi: float | None = 100, digits: int = 1) -> Markup:
    """A line chart of labelled values (None: a gap), with its values as text for screen
    readers and as the points' titles."""
    pad_l, pad_r, pad_t, pad_b = 40, 24, 12, 28
    if points:  # room for half of the last label, centred under its point (11 px text)
        pad_r = max(pad_r, int(len(points[-1][0]) * 3.5) + 4)
    vals = [v for _l, v in points if v is not None]
    if not vals:
        return Markup(f'<p class="muted">{escape(title)}: –</p>')
    lo = min(vals) if lo is None else min(lo, min(vals))
    hi = max(vals) if hi is None else max(hi, max(vals))
    if hi - lo < 1e-9:
        hi = lo + 1
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    n = len(points)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + (w * i / (n - 1) if n > 1 else w / 2)
        return x, pad_t + h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg class="chart line" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for t in (lo, (lo + hi) / 2, hi):
        _x, y = xy(0, t)
        parts.append(f'<line class="grid" x1="{pad_l}" x2="{width - pad_r}" y1="{_n(y)}" y2="{_n(y)}"/>'
                     f'<text class="axis" x="{pad_l - 4}" y="{_n(y + 4)}" text-anchor="end">{escape(_fmt(t, 0))}</text>')
    path, segs = [], []
    for i, (_label, v) in enumerate(points):
        if v is None:
            if path:
                segs.append(path)
            path = []
            continue
        x, y = xy(i, v)
        path.append(f"{_n(x)},{_n(y)}")
    if path:
        segs.append(path)
    for seg in segs:
        parts.append(f'<polyline class="series" points="{" ".join(seg)}"/>')
    step = max(1, n // 8)
    for i, (label, v) in enumerate(points):
        if v is not None:
            x, y = xy(i, v)
            parts.append(f'<circle class="dot" cx="{_n(x)}" cy="{_n(y)}" r="3.5"><title>{escape(label)}: '
                         f'{escape(_fmt(v, digits))}</title></circle>')
        if i % step == 0 or i == n - 1:
            x, _y = xy(i, lo)
            parts.append(f'<text class="axis" x="{_n(x)}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def spark(values: list[float | None], *, title: str, width: int = 96, height: int = 24) -> Markup:
    """A tiny trend line for a table cell."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return Markup("")
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    n = len(values)
    pts = []
    for i, v in enumerate(values):
        if v is None:
            continue
        x = 2 + (width - 4) * i / (n - 1)
        y = 2 + (height - 4) * (1 - (v - lo) / (hi - lo))
        pts.append(f"{_n(x)},{_n(y)}")
    return Markup(f'<svg class="chart spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
                  f'<polyline class="series" points="{" ".join(pts)}"/></svg>')


def meter(value: float | None, maximum: float, *, title: str, cls: str = "") -> Markup:
    """A horizontal bar: value against its maximum."""
    frac = 0 if not value or not maximum else max(0.0, min(1.0, value / maximum))
    return Markup(f'<svg class="chart meter {escape(cls)}" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
                  f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
                  f'<rect class="track" x="0" y="0" width="100" height="10"/>'
                  f'<rect class="fill" x="0" y="0" width="{_n(100 * frac)}" height="10"/></svg>')
