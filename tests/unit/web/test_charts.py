"""The charts' SVG, parsed: structure, accessibility, and every point where its value puts it (the model
page's charts and the bill's daily storage)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drmodels.rules.metrics import IterationMean, ModelMetrics, Trial
from drmodels.rules.pricing import GIB, Bill, DayUsage, Prices, price
from drmodels.web.charts import Chart, fmt, nice_ticks, render_charts, render_daily_storage

NS = "{http://www.w3.org/2000/svg}"


def parse(chart: Chart) -> ET.Element:
    root = ET.fromstring(chart.svg)
    assert root.tag == NS + "svg" and root.get("id") == chart.id
    return root


def rows(values: list[tuple[float, float]]) -> tuple[IterationMean, ...]:
    return tuple(IterationMean(i, 20, reward, completion) for i, (reward, completion) in enumerate(values, 1))


def metrics(**kwargs: object) -> ModelMetrics:
    return ModelMetrics(**kwargs)  # type: ignore[arg-type]


TRAINING = rows([(12.5, 10), (30, 25.5), (-4, 5), (88.25, 60), (140, 98)])
EVALUATION = rows([(20, 15), (45, 40), (10, 0), (150, 100)])
TRIALS = (
    Trial(1, 1, 1, 100.0, 15.5, "Lap complete"),
    Trial(2, 1, 2, 62.5, None, "Off track"),
    Trial(3, 2, 1, 100.0, 14.25, "In progress"),
    Trial(4, 2, 2, 100.0, 16.0, "<script>alert(1)</script>"),
)


def scale(root: ET.Element, axis: str) -> tuple[float, float, float, float]:
    """Two ticks of an axis as (coordinate, value) pairs, from the tick labels' data-value."""
    group = next(g for g in root.iter(NS + "g") if g.get("class") == f"axis {axis}")
    ticks = [
        (float(t.get("y" if axis.startswith("y") else "x") or 0), float(t.get("data-value") or 0))
        for t in group.iter(NS + "text")
    ]
    (c0, v0), (c1, v1) = ticks[0], ticks[-1]
    if axis.startswith("y"):
        c0, c1 = c0 - 4, c1 - 4  # labels sit 4 below their gridline
    return c0, v0, c1, v1


def value_at(coordinate: float, s: tuple[float, float, float, float]) -> float:
    c0, v0, c1, v1 = s
    return v0 + (coordinate - c0) * (v1 - v0) / (c1 - c0)


def series_points(root: ET.Element, key: str) -> list[tuple[float, float]]:
    out = []
    for line in root.iter(NS + "polyline"):
        if line.get("data-series") == key:
            assert line.get("class") == "series"
            out += [tuple(map(float, p.split(","))) for p in (line.get("points") or "").split()]
    return out  # type: ignore[return-value]


class Decoded(list[tuple[float, float]]):
    """A series' points as values; equal to expected values within half a coordinate step (0.05 units)."""

    def __init__(self, points: list[tuple[float, float]], tolerance: tuple[float, float]) -> None:
        super().__init__(points)
        self.tolerance = tolerance

    def __eq__(self, expected: object) -> bool:
        assert isinstance(expected, list)
        tx, ty = self.tolerance
        return len(self) == len(expected) and all(
            abs(x - ex) <= tx and abs(y - ey) <= ty for (x, y), (ex, ey) in zip(self, expected, strict=True)
        )


def decoded(root: ET.Element, key: str, axis: str = "y left") -> Decoded:
    x, y = scale(root, "x"), scale(root, axis)

    def step(s: tuple[float, float, float, float]) -> float:
        return 0.05 * abs((s[3] - s[1]) / (s[2] - s[0])) + 1e-9

    points = [(value_at(px, x), value_at(py, y)) for px, py in series_points(root, key)]
    return Decoded(points, (step(x), step(y)))


def test_no_metrics_no_chart() -> None:
    assert render_charts(ModelMetrics()) == []


def test_three_charts_in_page_order_accessible_and_scalable() -> None:
    charts = render_charts(metrics(training=TRAINING, evaluation=EVALUATION, trials=TRIALS))
    assert [c.id for c in charts] == ["chart-reward", "chart-completion", "chart-evaluation"]
    for chart in charts:
        root = parse(chart)
        assert root.get("role") == "img" and root.get("viewBox") == "0 0 420 270"
        # drawn at a fixed size the page's CSS (max-width: 100%; height: auto) shrinks to 375 px
        assert float(root.get("width") or 0) / float(root.get("height") or 1) == pytest.approx(
            420 / 270, 0.01
        )
        title_id, desc_id = (root.get("aria-labelledby") or "").split()
        title = root.find(f"{NS}title")
        desc = root.find(f"{NS}desc")
        assert title is not None and title.get("id") == title_id and title.text == chart.title
        assert desc is not None and desc.get("id") == desc_id and desc.text and desc.text.endswith(".")
        assert root.find(f"{NS}g[@class='grid']") is not None
        labels = [t.text for t in root.iter(NS + "text") if (t.get("class") or "").startswith("axis-label")]
        assert labels[0] in ("Iteration", "Trial") and len(labels) >= 2
        legend = root.find(f"{NS}g[@class='legend']")
        assert legend is not None  # two series in each
        assert "style" not in chart.svg and "<script" not in chart.svg


def test_reward_points_sit_at_their_values() -> None:
    root = parse(render_charts(metrics(training=TRAINING, evaluation=EVALUATION))[0])
    assert decoded(root, "training") == [(1, 12.5), (2, 30), (3, -4), (4, 88.25), (5, 140)]
    assert decoded(root, "evaluation") == [(1, 20), (2, 45), (3, 10), (4, 150)]
    desc = root.find(f"{NS}desc")
    assert desc is not None
    assert desc.text == (
        "Average reward per iteration over 5 iterations; "
        "Training: best 140 at iteration 5, last 140 at iteration 5; "
        "Evaluation: best 150 at iteration 4, last 150 at iteration 4."
    )


def test_completion_axis_is_0_to_100_percent() -> None:
    chart = render_charts(metrics(training=TRAINING))[1]
    root = parse(chart)
    ticks = [t.get("data-value") for t in root.iter(NS + "text") if t.get("data-value")]
    assert "0" in ticks and "100" in ticks
    assert decoded(root, "training") == [(1, 10), (2, 25.5), (3, 5), (4, 60), (5, 98)]
    assert root.find(f"{NS}g[@class='legend']") is None  # one series: no legend


def test_evaluation_chart_has_lap_times_on_a_second_axis_with_gaps() -> None:
    root = parse(render_charts(metrics(trials=TRIALS))[0])
    assert decoded(root, "completion") == [(1, 100), (2, 62.5), (3, 100), (4, 100)]
    assert decoded(root, "lap-time", "y right") == [(1, 15.5), (3, 14.25), (4, 16)]
    laps = [p for p in root.iter(NS + "polyline") if p.get("data-series") == "lap-time"]
    assert len(laps) == 2  # no lap at trial 2: the line is broken there
    # file-supplied text (the status) is escaped: the document parses and carries it as text
    assert "<script>" not in render_charts(metrics(trials=TRIALS))[0].svg
    tips = [t.text for t in root.iter(NS + "title")]
    assert any(tip and "<script>alert(1)</script>" in tip for tip in tips)
    desc = root.find(f"{NS}desc")
    assert desc is not None and desc.text is not None
    assert desc.text.startswith("4 evaluation trials in 2 runs, 3 laps completed;")
    assert "lap time: best 14.25 s at trial 3, last 16 s at trial 4" in desc.text


def test_a_single_point_is_drawn_as_a_circle_too() -> None:
    root = parse(render_charts(metrics(training=rows([(42, 50)])))[0])
    assert decoded(root, "training") == [(1, 42)]
    circles = list(root.iter(NS + "circle"))
    assert len(circles) == 1
    x, y = scale(root, "x"), scale(root, "y left")
    assert value_at(float(circles[0].get("cx") or 0), x) == pytest.approx(1, abs=0.05)
    assert value_at(float(circles[0].get("cy") or 0), y) == pytest.approx(42, abs=0.1)


def test_long_series_draw_no_markers_and_stay_small() -> None:
    long = rows([(float(i % 37), float(i % 100)) for i in range(300)])
    charts = render_charts(metrics(training=long, evaluation=long))
    root = parse(charts[0])
    assert list(root.iter(NS + "circle")) == []
    assert len(series_points(root, "training")) == 300
    assert all(len(c.svg) < 40_000 for c in charts)


def test_no_evaluation_trials_without_laps_draws_completion_only() -> None:
    trials = (Trial(1, 1, 1, 40.0, None, "Off track"),)
    root = parse(render_charts(metrics(trials=trials))[0])
    assert root.find(f"{NS}g[@class='axis y right']") is None
    assert decoded(root, "completion") == [(1, 40)]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 204, (0, 50, 100, 150, 200, 250)),
        (0, 100, (0, 20, 40, 60, 80, 100)),
        (-4, 140, (-50, 0, 50, 100, 150)),
        (5, 5, (4, 4.5, 5, 5.5, 6)),
        (0, 0, (0, 0.2, 0.4, 0.6, 0.8, 1)),
    ],
)
def test_nice_ticks(low: float, high: float, expected: tuple[float, ...]) -> None:
    assert nice_ticks(low, high, 6) == expected


def test_fmt() -> None:
    assert [fmt(v) for v in (0.0, -0.0, 5.0, 2.5, 0.25, 88.25, 1234.0, 14.25, 123.45)] == [
        "0", "0", "5", "2.5", "0.25", "88.25", "1234", "14.25", "123.5"
    ]  # fmt: skip


finite = st.floats(-1e12, 1e12, allow_nan=False)
means = st.lists(
    st.builds(
        IterationMean, st.just(0), st.integers(1, 20), finite | st.none(), st.floats(0, 100) | st.none()
    ),
    max_size=40,
).map(lambda rs: tuple(IterationMean(i, r.episodes, r.reward, r.completion) for i, r in enumerate(rs, 1)))
trials = st.lists(
    st.tuples(st.floats(0, 100), st.floats(0, 1e9) | st.none(), st.text(max_size=20)), max_size=30
).map(lambda ts: tuple(Trial(n, 1, n, c, lap, s) for n, (c, lap, s) in enumerate(ts, 1)))


@settings(max_examples=150, deadline=None)
@given(means, means, trials)
def test_any_metrics_render_well_formed_svg_with_every_point_inside(
    training: tuple[IterationMean, ...], evaluation: tuple[IterationMean, ...], trial_rows: tuple[Trial, ...]
) -> None:
    for chart in render_charts(metrics(training=training, evaluation=evaluation, trials=trial_rows)):
        root = parse(chart)
        for line in root.iter(NS + "polyline"):
            for point in (line.get("points") or "").split():
                x, y = map(float, point.split(","))
                assert 0 <= x <= 420 and 0 <= y <= 270, (chart.id, point)


def test_control_characters_from_a_file_are_replaced_and_tiny_ranges_still_have_ticks() -> None:
    trial_rows = (Trial(1, 1, 1, 100.0, 12.0, "Lap\x00 complete\x1b"),)
    root = parse(render_charts(metrics(trials=trial_rows))[0])
    assert any(
        t.text == "Trial 1: completion 100% (Lap\ufffd complete\ufffd)" for t in root.iter(NS + "title")
    )
    root = parse(render_charts(metrics(training=rows([(6e-96, 50)])))[0])
    assert [t.get("data-value") for t in root.find(f"{NS}g[@class='axis y left']") or []] == ["0", "0.01"]


def storage_bill(byte_days: list[tuple[int, int]], month: date = date(2021, 6, 1)) -> Bill:
    """A bill whose days hold (bytes stored all day, of which free)."""
    days = [
        DayUsage(month.replace(day=i), stored * 86400, free * 86400, 0.0)
        for i, (stored, free) in enumerate(byte_days, 1)
    ]
    return price("123456789012", month, days, Prices(), datetime(2021, 7, 1))


def test_the_daily_storage_chart_draws_each_day_at_its_gigabytes_and_the_free_part() -> None:
    chart = render_daily_storage(storage_bill([(2 * GIB, 0), (3 * GIB, GIB), (GIB // 2, GIB // 2)]))
    assert chart is not None and chart.id == "chart-storage"
    root = parse(chart)
    assert decoded(root, "stored") == [(1, 2), (2, 3), (3, 0.5)]
    assert decoded(root, "free") == [(1, 0), (2, 1), (3, 0.5)]
    desc = root.find(f"{NS}desc")
    assert desc is not None and desc.text == (
        "Average model storage per day on 3 days of 2021-06: peak 3 GB on day 2, last 0.5 GB on day 3."
    )
    label = next(t for t in root.iter(NS + "text") if "axis-label y" in (t.get("class") or ""))
    assert label.text == "Stored (GB, daily average)"


def test_the_daily_storage_chart_picks_a_unit_its_peak_reads_in_and_none_before_the_month() -> None:
    small = render_daily_storage(storage_bill([(300 * 1024, 0), (600 * 1024, 0)]))
    assert small is not None
    root = parse(small)
    assert [(x, round(y)) for x, y in decoded(root, "stored")] == [(1, 300), (2, 600)]  # KB, 6-decimal GB
    assert not series_points(root, "free")  # nothing free: no second series
    empty = render_daily_storage(storage_bill([(0, 0)]))
    assert empty is not None and "peak 0 GB" in empty.svg
    assert render_daily_storage(storage_bill([])) is None  # a month that has not begun
