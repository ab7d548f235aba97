"""The chart of cumulative supporters against the targets, drawn on the server as SVG.

Readable without colour: the actual figures are hatched bars with their number written on
them, the targets are outlined diamonds on a dashed line with 「目標 N」 beside them, and the
same numbers are in the table beside the chart. Only presentation attributes are used (no
style attribute, no script), so the page's CSP holds; the SVG is embedded in the page.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from hikisupport.core.japanese import era_year

WIDTH, HEIGHT = 720, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 28, 64


def _nice_max(value: int) -> int:
    if value <= 10:
        return 10
    step = 10 ** (len(str(value)) - 1)
    for multiple in (1, 2, 2.5, 5, 10):
        if value <= multiple * step:
            return int(multiple * step)
    return value


def supporters_chart(report) -> Markup:
    years = report.chart_years
    actual = {c.fiscal_year: c.cumulative for c in report.counts.fiscal_years}
    goals = {t.fiscal_year: t.target for t in report.targets}
    top = _nice_max(max([*actual.values(), *goals.values(), 1]) * 11 // 10 + 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(years), 1)

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    unit = escape(report.unit)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'role="img" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(report.name)}（累計・実人数）と目標</title>',
        '<desc id="chart-desc">斜線の棒が各年度末の累計（実人数）、ひし形と点線が目標です。'
        "同じ数値を下の表に示しています。</desc>",
        '<defs><pattern id="chart-hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="8" stroke="#1a1a1a" stroke-width="3"/></pattern></defs>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    for k in range(5):
        value = top * k / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{WIDTH - RIGHT}" y2="{y(value):.1f}" '
            'stroke="#767676" stroke-width="0.5"/>'
            f'<text x="{LEFT - 8}" y="{y(value) + 5:.1f}" text-anchor="end" font-size="13" '
            f'fill="#1a1a1a">{value:g}</text>'
        )
    parts.append(
        f'<text x="{LEFT - 8}" y="{TOP - 10}" text-anchor="end" font-size="13" '
        f'fill="#1a1a1a">（{unit}）</text>'
    )
    bar_w = min(56, slot * 0.6)
    for i, fy in enumerate(years):
        era = era_year(fy)[:-1].replace("令和", "R").replace("平成", "H")
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle" '
            f'font-size="13" fill="#1a1a1a">{escape(era)}年度</text>'
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 38}" text-anchor="middle" '
            f'font-size="13" fill="#1a1a1a">（{fy}）</text>'
        )
        if fy in actual:
            h = plot_h * actual[fy] / top
            parts.append(
                f'<rect x="{x(i) - bar_w / 2:.1f}" y="{y(actual[fy]):.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="url(#chart-hatch)" stroke="#1a1a1a" stroke-width="1.5"/>'
                f'<text x="{x(i):.1f}" y="{y(actual[fy]) - 6:.1f}" text-anchor="middle" '
                f'font-size="14" font-weight="bold" fill="#1a1a1a">{actual[fy]}</text>'
            )
    points = [(x(years.index(fy)), y(goal), goal) for fy, goal in goals.items() if fy in years]
    if len(points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="#1a1a1a" stroke-width="2" '
            'stroke-dasharray="6 4"/>'
        )
    for px, py, goal in points:
        parts.append(
            f'<path d="M {px:.1f} {py - 8:.1f} L {px + 8:.1f} {py:.1f} L {px:.1f} {py + 8:.1f} '
            f'L {px - 8:.1f} {py:.1f} Z" fill="#ffffff" stroke="#1a1a1a" stroke-width="2"/>'
            f'<text x="{min(px, WIDTH - RIGHT - 40):.1f}" y="{py - 14:.1f}" font-size="14" '
            f'text-anchor="middle" fill="#1a1a1a">目標 {goal}</text>'
        )
    legend_y = HEIGHT - 10
    parts.append(
        f'<rect x="{LEFT}" y="{legend_y - 12}" width="18" height="12" fill="url(#chart-hatch)" '
        'stroke="#1a1a1a"/>'
        f'<text x="{LEFT + 24}" y="{legend_y}" font-size="13" fill="#1a1a1a">累計（実人数）</text>'
        f'<path d="M {LEFT + 170} {legend_y - 12} L {LEFT + 176} {legend_y - 6} '
        f'L {LEFT + 170} {legend_y} L {LEFT + 164} {legend_y - 6} Z" fill="#ffffff" '
        'stroke="#1a1a1a" stroke-width="1.5"/>'
        f'<text x="{LEFT + 184}" y="{legend_y}" font-size="13" fill="#1a1a1a">目標（累計）</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped or a number
