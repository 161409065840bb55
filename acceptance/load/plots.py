"""Small hand-written SVG charts for the load report: inline in the HTML, no scripts, no external files.

scatter(): one <circle class="pt"> per point; lines(): one <polyline> per series (stepped or straight) and,
with markers, one <circle class="pt"> per point. Series are coloured in order; a legend names them."""
from __future__ import annotations

from html import escape

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 56, 150, 24, 40


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    for scale in (10 ** e for e in range(-2, 7)):
        for step in (1, 2, 5):
            if step * scale >= v:
                return step * scale
    return v


def _frame(title: str, xlabel: str, ylabel: str, xmax: float, ymax: float, names: list[str]) -> list[str]:
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="sans-serif" font-size="11" role="img">',
           f'<title>{escape(title)}</title>',
           f'<text x="{LEFT}" y="14" font-weight="bold">{escape(title)}</text>',
           f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for i in range(5):
        y = TOP + ph - ph * i / 4
        x = LEFT + pw * i / 4
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{ymax * i / 4:g}</text>')
        out.append(f'<text x="{x:.1f}" y="{TOP + ph + 14}" text-anchor="middle">{xmax * i / 4:g}</text>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 6}" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(f'<text x="12" y="{TOP + ph / 2}" transform="rotate(-90 12 {TOP + ph / 2})" '
               f'text-anchor="middle">{escape(ylabel)}</text>')
    for i, name in enumerate(names):
        y = TOP + 10 + 16 * i
        out.append(f'<rect x="{W - RIGHT + 10}" y="{y - 8}" width="10" height="10" fill="{COLOURS[i % 6]}"/>')
        out.append(f'<text x="{W - RIGHT + 24}" y="{y + 1}">{escape(name)}</text>')
    return out


def _scale(xmax: float, ymax: float):
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    return lambda x, y: (LEFT + pw * x / xmax, TOP + ph - ph * y / ymax)


def _bounds(series: dict[str, list[tuple[float, float]]]) -> tuple[float, float]:
    points = [p for pts in series.values() for p in pts]
    return _nice_max(max((x for x, _ in points), default=1)), _nice_max(max((y for _, y in points), default=1))


def scatter(series: dict[str, list[tuple[float, float]]], title: str, xlabel: str, ylabel: str) -> str:
    xmax, ymax = _bounds(series)
    at = _scale(xmax, ymax)
    out = _frame(title, xlabel, ylabel, xmax, ymax, list(series))
    for i, pts in enumerate(series.values()):
        for x, y in pts:
            px, py = at(x, y)
            out.append(f'<circle class="pt" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{COLOURS[i % 6]}" '
                       f'fill-opacity="0.7"><title>{x:g}, {y:g}</title></circle>')
    return "\n".join([*out, "</svg>"])


def lines(series: dict[str, list[tuple[float, float]]], title: str, xlabel: str, ylabel: str,
          stepped: bool = False, markers: bool = False) -> str:
    xmax, ymax = _bounds(series)
    at = _scale(xmax, ymax)
    out = _frame(title, xlabel, ylabel, xmax, ymax, list(series))
    for i, pts in enumerate(series.values()):
        coords, prev = [], None
        for x, y in sorted(pts):
            if stepped and prev is not None:
                coords.append(at(x, prev))
            coords.append(at(x, y))
            prev = y
        if coords:
            text = " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
            out.append(f'<polyline points="{text}" fill="none" stroke="{COLOURS[i % 6]}" stroke-width="1.5"/>')
        if markers:
            for x, y in pts:
                px, py = at(x, y)
                out.append(f'<circle class="pt" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{COLOURS[i % 6]}">'
                           f'<title>{x:g}, {y:g}</title></circle>')
    return "\n".join([*out, "</svg>"])
