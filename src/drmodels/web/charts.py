"""The console's charts as server-rendered SVG: the model page's reward and completion per iteration and
evaluation trials, the bill page's storage per day. Pure: ModelMetrics (or a Bill) in, complete accessible
<svg> elements out (no script, no inline style, so a strict Content-Security-Policy holds; colours are
presentation attributes, classes are for the page's CSS).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from drmodels.rules.metrics import IterationMean, ModelMetrics
from drmodels.rules.pricing import Bill

WIDTH, HEIGHT = 420, 270
"""The viewBox: at 375 px wide (the page's CSS `max-width: 100%; height: auto` shrinks it) the 13-unit
text is ~11 px."""
SHOWN = 1.4
"""The drawn size on a wide page: the viewBox x 1.4 (588 x 378 px, 18 px text), not the page's width."""
LEFT, RIGHT, TOP, BOTTOM = 50, 14, 34, 42
RIGHT_AXIS = 50
"""The right margin when a second axis is drawn."""
MARKERS_UP_TO = 60
"""Series this short draw a marker (with its value as a tooltip) at every point."""
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK, MUTED, GRID = "#1f2328", "#59636e", "#d8dee4"
TRAINING = ("#0072b2", "")
EVALUATION = ("#d55e00", "6 4")
LAP_TIME = ("#009e73", "2 3")
"""Colour and dash of each series (Okabe-Ito colours: told apart with colour-blindness, and by dash too)."""


MIN_STEP = 0.01
"""Ticks are at least this far apart: labels show 2 decimals at most."""
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(text: str) -> str:
    """Text for the SVG: escaped, and what XML cannot hold at all (control characters) replaced."""
    return escape(_NOT_XML.sub("\ufffd", text), quote=True)


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    svg: str


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    points: tuple[tuple[float, float | None], ...]
    """(x, y); y None is a gap (no value there)."""
    colour: tuple[str, str]
    axis: str = "left"
    higher_is_better: bool = True
    unit: str = ""
    notes: tuple[str, ...] = ()
    """A word per point for its tooltip (an evaluation trial's status), from the file: escaped."""


@dataclass(frozen=True)
class Axis:
    label: str
    low: float
    high: float
    ticks: tuple[float, ...]
    unit: str = ""


# ---------------------------------------------------------------- numbers


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> tuple[float, ...]:
    """Round tick values (1, 2, 2.5 or 5 x 10^n apart) covering [low, high], about `count` of them."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return (0.0, 1.0)
    if high <= low:
        low, high = (low - 1, low + 1) if low != 0 else (0.0, 1.0)
    raw = max((high - low) / max(1, count - 1), MIN_STEP)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    n = round((last - first) / step)
    return tuple(float(round(first + i * step, 10)) for i in range(n + 1))


def fmt(value: float) -> str:
    """A value as a label: no trailing zeros, 2 decimals at most (1 from 100 up)."""
    value = float(value)
    text = f"{value:.1f}" if abs(value) >= 100 or value.is_integer() else f"{value:.2f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def _coord(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _axis_for(
    label: str,
    values: Sequence[float],
    *,
    unit: str = "",
    fixed: tuple[float, float] | None = None,
    from_zero: bool = True,
) -> Axis:
    """An axis over `values` (with 0 unless from_zero is False), or over `fixed`."""
    if fixed is not None:
        low, high = fixed
    else:
        floor = [0.0] if from_zero else []
        low, high = min([*floor, *values]), max([*floor, *values])
    ticks = nice_ticks(low, high, 6)
    return Axis(label, ticks[0], ticks[-1], ticks, unit)


# ---------------------------------------------------------------- drawing


def _a(**attrs: str | float) -> str:
    """Attributes, escaped; a trailing underscore is dropped and other underscores become dashes."""
    return "".join(f' {name.rstrip("_").replace("_", "-")}="{_escape(str(v))}"' for name, v in attrs.items())


def render_svg(
    chart_id: str,
    title: str,
    summary: str,
    x_label: str,
    x_values: Sequence[float],
    left: Axis,
    series: Sequence[Series],
    right: Axis | None = None,
) -> str:
    """One complete <svg>: title and desc, gridlines, both axes with ticks and labels, a legend when there
    is more than one series, each series a polyline (a gap splits it), single points as circles."""
    plot_right = WIDTH - (RIGHT_AXIS if right else RIGHT)
    plot_bottom = HEIGHT - BOTTOM
    x_ticks = nice_ticks(min(x_values), max(x_values), 6, integer=True)
    x_low, x_high = x_ticks[0], x_ticks[-1]

    def sx(x: float) -> float:
        return LEFT + (x - x_low) / (x_high - x_low) * (plot_right - LEFT)

    def scale(axis: Axis) -> Callable[[float], float]:
        return lambda y: plot_bottom - (y - axis.low) / (axis.high - axis.low) * (plot_bottom - TOP)

    sy = {"left": scale(left), "right": scale(right or left)}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg"{_a(id=chart_id, class_="chart-plot", role="img")}'
        f"{_a(aria_labelledby=f'{chart_id}-title {chart_id}-desc', viewBox=f'0 0 {WIDTH} {HEIGHT}')}"
        f"{_a(width=round(WIDTH * SHOWN), height=round(HEIGHT * SHOWN), preserveAspectRatio='xMidYMid meet')}"
        f"{_a(font_family=FONT, font_size=13, fill=INK)}>",
        f'<title id="{chart_id}-title">{_escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{_escape(summary)}</desc>',
        '<g class="grid" stroke="' + GRID + '" stroke-width="1">',
    ]
    for tick in left.ticks:
        y = _coord(sy["left"](tick))
        out.append(f"<line{_a(x1=LEFT, x2=_coord(plot_right), y1=y, y2=y)}/>")
    out.append("</g>")
    out.append(f'<g class="axis y left"{_a(fill=MUTED, text_anchor="end")}>')
    for tick in left.ticks:
        out.append(
            f"<text{_a(x=LEFT - 6, y=_coord(sy['left'](tick) + 4), data_value=fmt(tick))}>"
            f"{_escape(fmt(tick) + left.unit)}</text>"
        )
    out.append("</g>")
    if right is not None:
        out.append(f'<g class="axis y right"{_a(fill=MUTED, text_anchor="start")}>')
        for tick in right.ticks:
            out.append(
                f"<text{_a(x=_coord(plot_right + 6), y=_coord(sy['right'](tick) + 4), data_value=fmt(tick))}>"
                f"{_escape(fmt(tick) + right.unit)}</text>"
            )
        out.append("</g>")
    out.append(f'<g class="axis x"{_a(fill=MUTED, text_anchor="middle")}>')
    out.append(f"<line{_a(x1=LEFT, x2=_coord(plot_right), y1=plot_bottom, y2=plot_bottom, stroke=MUTED)}/>")
    for tick in x_ticks:
        x = _coord(sx(tick))
        out.append(f"<line{_a(x1=x, x2=x, y1=plot_bottom, y2=plot_bottom + 4, stroke=MUTED)}/>")
        out.append(f"<text{_a(x=x, y=plot_bottom + 16, data_value=fmt(tick))}>{_escape(fmt(tick))}</text>")
    out.append("</g>")
    mid_y = (TOP + plot_bottom) / 2
    out.append(
        f"<text{_a(class_='axis-label x', x=_coord((LEFT + plot_right) / 2), y=HEIGHT - 8)}"
        f"{_a(text_anchor='middle')}>"
        f"{_escape(x_label)}</text>"
    )
    out.append(
        f"<text{_a(class_='axis-label y left', x=14, y=_coord(mid_y), text_anchor='middle')}"
        f"{_a(transform=f'rotate(-90 14 {_coord(mid_y)})')}>{_escape(left.label)}</text>"
    )
    if right is not None:
        rx = WIDTH - 8
        out.append(
            f"<text{_a(class_='axis-label y right', x=rx, y=_coord(mid_y), text_anchor='middle')}"
            f"{_a(transform=f'rotate(90 {rx} {_coord(mid_y)})')}>{_escape(right.label)}</text>"
        )
    if len(series) > 1:
        out.append(_legend(series))
    for one in series:
        out.append(_series(one, x_label, sx, sy[one.axis]))
    out.append("</svg>")
    return "".join(out)


def _legend(series: Sequence[Series]) -> str:
    out = ['<g class="legend">']
    x = LEFT
    for one in series:
        colour, dash = one.colour
        out.append(
            f"<line{_a(x1=x, x2=x + 22, y1=14, y2=14, stroke=colour, stroke_width=2.5)}"
            f"{_a(stroke_dasharray=dash or 'none')}/>"
        )
        out.append(f"<text{_a(x=x + 28, y=18, data_series=one.key)}>{_escape(one.label)}</text>")
        x += 28 + 7 * len(one.label) + 18
    out.append("</g>")
    return "".join(out)


def _series(one: Series, x_label: str, sx: Callable[[float], float], sy: Callable[[float], float]) -> str:
    colour, dash = one.colour
    segments: list[list[tuple[float, float, str]]] = [[]]
    for i, (x, y) in enumerate(one.points):
        if y is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((x, y, one.notes[i] if i < len(one.notes) else ""))
    out = [f"<g{_a(class_='series-group', data_series=one.key, data_axis=one.axis)}>"]
    line = _a(fill="none", stroke=colour, stroke_width=2, stroke_linejoin="round", stroke_linecap="round")
    if dash:
        line += _a(stroke_dasharray=dash)
    markers = len(one.points) <= MARKERS_UP_TO
    for segment in segments:
        if not segment:
            continue
        points = " ".join(f"{_coord(sx(x))},{_coord(sy(y))}" for x, y, _ in segment)
        out.append(f"<polyline{_a(class_='series', data_series=one.key, points=points)}{line}/>")
        if len(segment) == 1 or markers:
            for x, y, note in segment:
                tip = f"{x_label} {fmt(x)}: {one.label.lower()} {fmt(y)}{one.unit}" + (
                    f" ({note})" if note else ""
                )
                radius = 3 if markers and len(segment) > 1 else 4
                out.append(
                    f"<circle{_a(class_='point', cx=_coord(sx(x)), cy=_coord(sy(y)), r=radius, fill=colour)}>"
                    f"<title>{_escape(tip)}</title></circle>"
                )
    out.append("</g>")
    return "".join(out)


# ---------------------------------------------------------------- the three charts


def _best_last(series: Series, what: str, x_label: str) -> str:
    values = [(x, y) for x, y in series.points if y is not None]
    if not values:
        return f"{what}: no values"
    pick = max if series.higher_is_better else min
    best = pick(values, key=lambda p: p[1])
    last = values[-1]
    return (
        f"{what}: best {fmt(best[1])}{series.unit} at {x_label} {fmt(best[0])}, "
        f"last {fmt(last[1])}{series.unit} at {x_label} {fmt(last[0])}"
    )


def _phases(metrics: ModelMetrics, value: Callable[[IterationMean], float | None], unit: str) -> list[Series]:
    """One value per iteration, as a training series and an evaluation series."""
    return [
        Series(key, label, tuple((float(r.iteration), value(r)) for r in rows), colour, unit=unit)
        for key, label, rows, colour in (
            ("training", "Training", metrics.training, TRAINING),
            ("evaluation", "Evaluation", metrics.evaluation, EVALUATION),
        )
    ]


def _iteration_chart(
    chart_id: str, title: str, axis_label: str, series: list[Series], fixed: tuple[float, float] | None
) -> Chart | None:
    series = [s for s in series if any(y is not None for _, y in s.points)]
    if not series:
        return None
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points if y is not None]
    iterations = len(set(xs))
    summary = (
        f"{title} over {iterations} iteration{'s' if iterations != 1 else ''}; "
        + "; ".join(_best_last(s, s.label, "iteration") for s in series)
        + "."
    )
    axis = _axis_for(axis_label, ys, fixed=fixed)
    return Chart(chart_id, title, render_svg(chart_id, title, summary, "Iteration", xs, axis, series))


def render_charts(metrics: ModelMetrics) -> list[Chart]:
    """The model page's charts, in page order; none when the metrics hold nothing to draw."""
    reward = _phases(metrics, lambda r: r.reward, "")
    completion = _phases(metrics, lambda r: r.completion, "%")
    charts = [
        _iteration_chart("chart-reward", "Average reward per iteration", "Average reward", reward, None),
        _iteration_chart(
            "chart-completion",
            "Average track completion per iteration",
            "Track completion (%)",
            completion,
            (0.0, 100.0),
        ),
        _evaluation_chart(metrics),
    ]
    return [c for c in charts if c is not None]


def _evaluation_chart(metrics: ModelMetrics) -> Chart | None:
    trials = metrics.trials
    if not trials:
        return None
    chart_id, title = "chart-evaluation", "Evaluation trials"
    completion = Series(
        "completion",
        "Completion",
        tuple((float(t.number), t.completion) for t in trials),
        TRAINING,
        unit="%",
        notes=tuple(t.status for t in trials),
    )
    lap = Series(
        "lap-time",
        "Lap time",
        tuple((float(t.number), t.lap_time_s) for t in trials),
        LAP_TIME,
        axis="right",
        higher_is_better=False,
        unit=" s",
    )
    laps = [t.lap_time_s for t in trials if t.lap_time_s is not None]
    runs = len({t.run for t in trials})
    summary = (
        f"{len(trials)} evaluation trial{'s' if len(trials) != 1 else ''}"
        + (f" in {runs} runs" if runs > 1 else "")
        + f", {len(laps)} lap{'s' if len(laps) != 1 else ''} completed; "
        + _best_last(completion, "completion", "trial")
        + "; "
        + (_best_last(lap, "lap time", "trial") if laps else "no lap completed")
        + "."
    )
    left = _axis_for("Track completion (%)", [], fixed=(0.0, 100.0))
    right = _axis_for("Lap time (s)", laps, from_zero=False) if laps else None
    series = [completion, lap] if laps else [completion]
    xs = [float(t.number) for t in trials]
    return Chart(chart_id, title, render_svg(chart_id, title, summary, "Trial", xs, left, series, right))


# ---------------------------------------------------------------- the bill's daily storage

STORED = ("#0072b2", "")
FREE = ("#009e73", "6 4")
STORAGE_UNITS = (("GB", 1), ("MB", 1024), ("KB", 1024 * 1024))
"""The chart's unit: the largest in which the month's peak is at least 1 (GB = 2^30 bytes, as billed)."""


def _storage_unit(peak: float) -> tuple[str, int]:
    if peak == 0:
        return STORAGE_UNITS[0]
    return next((u for u in STORAGE_UNITS if peak * u[1] >= 1), STORAGE_UNITS[-1])


def render_daily_storage(bill: Bill) -> Chart | None:
    """The bill page's chart: average model storage per day of the month so far (and the part free for
    migrated models, when there is one); None before the month's first day."""
    if not bill.daily:
        return None
    chart_id, title = "chart-storage", f"Model storage per day, {bill.month}"
    peak = float(max(d.gb for d in bill.daily))
    unit, scale = _storage_unit(peak)
    days = [float(d.day.day) for d in bill.daily]
    stored = Series(
        "stored", "Stored", tuple((x, float(d.gb) * scale) for x, d in zip(days, bill.daily, strict=True)),
        STORED, unit=f" {unit}",
    )  # fmt: skip
    series = [stored]
    if any(d.free_gb for d in bill.daily):
        free = tuple((x, float(d.free_gb) * scale) for x, d in zip(days, bill.daily, strict=True))
        series.append(Series("free", "Free (migrated)", free, FREE, unit=f" {unit}"))
    top = max(stored.points, key=lambda p: p[1] or 0.0)
    summary = (
        f"Average model storage per day on {len(days)} day{'s' if len(days) != 1 else ''} of {bill.month}: "
        f"peak {fmt(top[1] or 0.0)} {unit} on day {fmt(top[0])}, "
        f"last {fmt(stored.points[-1][1] or 0.0)} {unit} on day {fmt(stored.points[-1][0])}."
    )
    axis = _axis_for(
        f"Stored ({unit}, daily average)", [y for s in series for _, y in s.points if y is not None]
    )
    return Chart(chart_id, title, render_svg(chart_id, title, summary, "Day", days, axis, series))
