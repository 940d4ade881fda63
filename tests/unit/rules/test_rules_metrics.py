"""Metrics files -> per-iteration means and evaluation trials: grouping, odd values, caps."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drmodels.rules.limits import Limits
from drmodels.rules.metrics import (
    DEFAULT_EPISODES_PER_ITERATION,
    MetricsCaps,
    downsample,
    parse_hyperparameters,
    summarise,
)
from drmodels.sample import control_files

CAPS = MetricsCaps.from_limits(Limits())


def episode(n: int, phase: str, reward: Any, completion: Any, trial: int = 1) -> dict[str, Any]:
    return {
        "episode": n,
        "trial": trial,
        "phase": phase,
        "reward_score": reward,
        "completion_percentage": completion,
        "elapsed_time_in_milliseconds": 12000,
        "episode_status": "Off track",
        "start_time": 0,
        "metric_time": 12000,
    }


def trial(n: int, completion: Any, elapsed: Any, status: str = "Lap complete") -> dict[str, Any]:
    return {
        "trial": n,
        "completion_percentage": completion,
        "elapsed_time_in_milliseconds": elapsed,
        "episode_status": status,
        "crash_count": 0,
    }


def doc(records: list[Any]) -> bytes:
    return json.dumps({"metrics": records, "version": 2.0}).encode()


def hyper(n: Any) -> bytes:
    return json.dumps({"num_episodes_between_training": n, "batch_size": 64}).encode()


def test_iterations_close_after_their_evaluation_and_means_are_per_phase() -> None:
    records = [
        episode(1, "training", 10, 20),
        episode(2, "training", 30, 40),
        episode(2, "evaluation", 100, 50),
        episode(2, "evaluation", 200, 70),
        episode(3, "training", 50, 60),
        episode(4, "training", 70, 80),
        episode(4, "evaluation", 300, 100),
        episode(5, "training", 90, 90),  # the iteration being trained when the file was written
    ]
    m = summarise([("metrics/TrainingMetrics.json", doc(records))], hyper(2), CAPS)
    assert [(r.iteration, r.episodes, r.reward, r.completion) for r in m.training] == [
        (1, 2, 20.0, 30.0),
        (2, 2, 60.0, 70.0),
        (3, 1, 90.0, 90.0),
    ]
    assert [(r.iteration, r.episodes, r.reward, r.completion) for r in m.evaluation] == [
        (1, 2, 150.0, 60.0),
        (2, 1, 300.0, 100.0),
    ]
    assert m.episodes_per_iteration == 2 and m.workers == 1 and m.skipped_records == 0
    assert m.files == ("metrics/TrainingMetrics.json",) and not m.empty


def test_without_evaluations_iterations_are_num_episodes_between_training() -> None:
    records = [episode(i, "training", i, i) for i in range(1, 11)]
    m = summarise([("metrics/TrainingMetrics.json", doc(records))], hyper(4), CAPS)
    assert [(r.iteration, r.episodes, r.reward) for r in m.training] == [
        (1, 4, 2.5),
        (2, 4, 6.5),
        (3, 2, 9.5),
    ]
    assert m.evaluation == ()


def test_the_files_own_evaluations_give_its_iteration_size() -> None:
    """A 2020 console file trained 40 episodes per iteration; without its hyperparameters (default 20)
    its evaluation runs still say where iterations end, the trailing episodes too."""
    records: list[Any] = []
    for i in range(1, 131):
        records.append(episode(i, "training", 1, 1))
        if i % 40 == 0 and i <= 80:
            records += [episode(i, "evaluation", 2, 2)] * 3
    m = summarise([("metrics/training/training-20200809202255-x.json", doc(records))], None, CAPS)
    assert [r.episodes for r in m.training] == [40, 40, 40, 10]
    assert [(r.iteration, r.episodes) for r in m.evaluation] == [(1, 3), (2, 3)]


@pytest.mark.parametrize(
    "hyperparameters",
    [None, b"not json", b"[]", hyper("20"), hyper(0), hyper(-3), hyper(True), hyper(2.5), hyper(10**9)],
)
def test_episodes_per_iteration_defaults_to_20(hyperparameters: bytes | None) -> None:
    assert parse_hyperparameters(hyperparameters) == DEFAULT_EPISODES_PER_ITERATION
    records = [episode(i, "training", 1, 1) for i in range(1, 42)]
    m = summarise([("metrics/TrainingMetrics.json", doc(records))], hyperparameters, CAPS)
    assert [r.episodes for r in m.training] == [20, 20, 1]


def test_integral_float_is_accepted() -> None:
    assert parse_hyperparameters(hyper(10.0)) == 10


def test_each_worker_runs_its_share_of_an_iteration() -> None:
    """DeepRacer-for-Cloud with 2 workers: each file holds half of the 20 episodes of an iteration."""
    worker0 = [episode(i, "training", 10, 10) for i in range(1, 21)]
    worker1 = [episode(i, "training", 30, 30) for i in range(1, 21)]
    m = summarise(
        [("metrics/TrainingMetrics.json", doc(worker0)), ("metrics/TrainingMetrics_1.json", doc(worker1))],
        hyper(20),
        CAPS,
    )
    assert m.workers == 2
    assert [(r.iteration, r.episodes, r.reward) for r in m.training] == [(1, 20, 20.0), (2, 20, 20.0)]


def test_evaluation_files_are_trials_numbered_across_runs_with_lap_times_of_completed_laps() -> None:
    first = doc([trial(1, 100, 15500), trial(2, 62.5, 9000, "Off track")])
    second = doc(
        [
            trial(1, 100, 14250, "In progress"),
            {"completion_percentage": 100, "elapsed_time_in_milliseconds": 1},
        ]
    )
    m = summarise(
        [
            ("metrics/EvaluationMetrics-20220709200509.json", second),
            ("metrics/EvaluationMetrics-1.json", first),
        ],
        None,
        CAPS,
    )
    assert [(t.number, t.run, t.trial, t.completion, t.lap_time_s, t.status) for t in m.trials] == [
        (1, 1, 1, 100.0, 15.5, "Lap complete"),
        (2, 1, 2, 62.5, None, "Off track"),
        (3, 2, 1, 100.0, 14.25, "In progress"),
        (4, 2, 2, 100.0, 0.001, ""),  # no trial number: its position; no status: ""
    ]
    assert m.training == () and m.evaluation == ()


ODD = [
    "12",
    None,
    math.nan,
    math.inf,
    True,
    [1],
    {"x": 1},
    1e300,
]


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_odd_values_are_skipped_and_counted(value: Any) -> None:
    records: list[Any] = [
        episode(1, "training", 10, 50),
        episode(2, "training", value, 50),
        episode(3, "training", 10, value),
        {**episode(4, "training", 10, 50), "phase": value},
        episode(5, "training", 10, 150),  # completion out of 0..100
        "not an object",
        7,
    ]
    text = json.dumps({"metrics": records}, allow_nan=True).encode()
    m = summarise([("metrics/TrainingMetrics.json", text)], None, CAPS)
    assert [(r.episodes, r.reward, r.completion) for r in m.training] == [(1, 10.0, 50.0)]
    assert m.skipped_records == 6


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xfe", b"{", b"[]", b'{"metrics": {}}', b'{"metrics": 3}', b"null", b"[" * 100_000],
    ids=["empty", "binary", "truncated", "list", "metrics-object", "metrics-number", "null", "deep"],
)
def test_a_file_that_is_not_metrics_is_named_not_raised(data: bytes) -> None:
    good = doc([episode(1, "training", 1, 1)])
    m = summarise([("metrics/a.json", data), ("metrics/b.json", good)], None, CAPS)
    assert m.skipped_files == ("metrics/a.json",) and m.files == ("metrics/b.json",)
    assert len(m.training) == 1


def test_a_file_over_the_cap_is_not_parsed() -> None:
    caps = MetricsCaps(file_bytes=1000, total_bytes=10_000)
    big = doc([episode(i, "training", 1, 1) for i in range(1, 100)])
    assert len(big) > 1000
    m = summarise([("metrics/TrainingMetrics.json", big)], None, caps, not_read=["metrics/Other.json"])
    assert m.empty and m.skipped_files == ("metrics/Other.json", "metrics/TrainingMetrics.json")


def test_long_series_are_downsampled_evenly_keeping_first_and_last() -> None:
    records = [episode(i, "training", i, 50) for i in range(1, 1001)]
    caps = MetricsCaps(file_bytes=10**7, total_bytes=10**8, max_points=100)
    m = summarise([("metrics/TrainingMetrics.json", doc(records))], hyper(1), caps)
    assert m.downsampled and len(m.training) == 100
    iterations = [r.iteration for r in m.training]
    assert iterations[0] == 1 and iterations[-1] == 1000
    gaps = {b - a for a, b in itertools.pairwise(iterations)}
    assert gaps <= {10, 11}


def test_downsample_small_and_degenerate() -> None:
    assert downsample([1, 2, 3], 5) == (1, 2, 3)
    assert downsample(list(range(10)), 1) == (9,)
    assert downsample(list(range(10)), 2) == (0, 9)


def test_the_sample_model_metrics_read_as_six_iterations() -> None:
    """`drmodels sample` writes 4 training episodes then an evaluation per iteration (while its
    hyperparameters say 20): the evaluations close the iterations."""
    data = control_files.dumps(control_files.training_metrics(2018, 5))
    hp = control_files.dumps(control_files.hyperparameters("clipped_ppo"))
    m = summarise([("metrics/TrainingMetrics.json", data)], hp, CAPS)
    assert [r.episodes for r in m.training] == [4] * 6
    assert [r.episodes for r in m.evaluation] == [1] * 6
    assert m.skipped_records == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
record = st.fixed_dictionaries(
    {},
    optional={
        "phase": st.sampled_from(["training", "evaluation", "other"]) | json_values,
        "reward_score": st.floats(allow_nan=True) | json_values,
        "completion_percentage": st.floats(-10, 110) | json_values,
        "elapsed_time_in_milliseconds": st.integers(-5, 10**7) | json_values,
        "trial": st.integers(-2, 50) | json_values,
        "episode_status": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(st.lists(record | json_values, max_size=40), st.integers(-3, 50) | json_values)
def test_any_records_never_raise_and_every_record_is_used_or_counted(records: list[Any], n: Any) -> None:
    data = json.dumps({"metrics": records}, allow_nan=True).encode()
    hp = json.dumps({"num_episodes_between_training": n}, allow_nan=True).encode()
    m = summarise([("metrics/TrainingMetrics.json", data)], hp, CAPS)
    used = sum(r.episodes for r in m.training) + sum(r.episodes for r in m.evaluation) + len(m.trials)
    assert used + m.skipped_records == len(records)
    for row in (*m.training, *m.evaluation):
        assert row.completion is not None and 0 <= row.completion <= 100
        assert row.reward is None or math.isfinite(row.reward)
