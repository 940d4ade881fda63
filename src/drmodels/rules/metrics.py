"""The metrics files trainers write, as the curves racers read: per-iteration means and evaluation trials.

Two shapes exist (docs/console-charts.md). A training file (`TrainingMetrics*.json`, the console's
`metrics/training/*.json`) is `{"metrics": [episode, ...]}` where each episode has a `phase`: the
training episodes of an iteration, then the evaluation episodes run after it. An evaluation file
(`EvaluationMetrics*.json`, `metrics/evaluation/*.json`) lists trials without a `phase`. A file is
told by its records, not its name (users rename them). Nothing here raises on odd content: a record
that cannot be read is skipped and counted, a file that is not a metrics file is named.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from drmodels.rules.jsonfile import load_json
from drmodels.rules.limits import Limits

DEFAULT_EPISODES_PER_ITERATION = 20
"""The console's default `num_episodes_between_training`, used when hyperparameters do not say."""
MAX_EPISODES_PER_ITERATION = 10_000
MAX_POINTS = 300
"""Points plotted per series at most; a longer series is downsampled evenly (first and last kept)."""
MAX_FILES = 64
MAX_ABS_VALUE = 1e12
"""A reward or time beyond this is not a value a trainer writes; it is skipped as odd."""
LAP_COMPLETE = 100.0
MAX_STATUS = 40
"""An `episode_status` is a word or two ("Lap complete"); a longer one is cut."""

T = TypeVar("T")


@dataclass(frozen=True)
class MetricsCaps:
    """How much one model's metrics may cost to read and draw."""

    file_bytes: int
    """A metrics file over this is not read (the import's own limit for control files)."""
    total_bytes: int
    """All metrics files together; files past it (in name order) are not read."""
    max_files: int = MAX_FILES
    max_points: int = MAX_POINTS

    @classmethod
    def from_limits(cls, limits: Limits) -> MetricsCaps:
        return cls(file_bytes=limits.control_file_bytes, total_bytes=16 * limits.control_file_bytes)


@dataclass(frozen=True)
class IterationMean:
    """One phase's episodes of one iteration: their count and mean reward and completion."""

    iteration: int
    episodes: int
    reward: float | None
    """None when no episode of it had a reward (evaluation files carry none)."""
    completion: float | None


@dataclass(frozen=True)
class Trial:
    """One evaluation trial from an evaluation file; `number` counts trials across runs (files)."""

    number: int
    run: int
    trial: int
    completion: float
    lap_time_s: float | None
    """The elapsed time when the lap was completed (completion 100 %), else None."""
    status: str


@dataclass(frozen=True)
class ModelMetrics:
    """What the charts draw, and what was left out on the way."""

    training: tuple[IterationMean, ...] = ()
    evaluation: tuple[IterationMean, ...] = ()
    """Evaluation episodes run between iterations (inside training files), by the iteration they follow."""
    trials: tuple[Trial, ...] = ()
    episodes_per_iteration: int = DEFAULT_EPISODES_PER_ITERATION
    workers: int = 1
    """Training files read (DeepRacer-for-Cloud writes one per worker)."""
    files: tuple[str, ...] = ()
    """The metrics files read, in name order."""
    skipped_records: int = 0
    """Records skipped: not an object, a missing or odd value (a string, NaN, out of range)."""
    skipped_files: tuple[str, ...] = ()
    """Files not used: over a cap, not JSON, or not a metrics file."""
    downsampled: bool = False
    """A series had more than `max_points` points and is drawn from evenly spaced ones."""

    @property
    def empty(self) -> bool:
        return not (self.training or self.evaluation or self.trials)


# ---------------------------------------------------------------- values


def _number(value: Any, low: float = -MAX_ABS_VALUE, high: float = MAX_ABS_VALUE) -> float | None:
    """A finite JSON number within [low, high]; None for anything else (bool, str, NaN, inf, null)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def _count(value: Any) -> int | None:
    """A positive integer (an int, or an integral float: JSON writers differ)."""
    number = _number(value, 1, MAX_ABS_VALUE)
    return int(number) if number is not None and number.is_integer() else None


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def episodes_per_iteration(hyperparameters: Any) -> int:
    """`num_episodes_between_training` from parsed hyperparameters, else the console's default."""
    if isinstance(hyperparameters, dict):
        count = _count(hyperparameters.get("num_episodes_between_training"))
        if count is not None and count <= MAX_EPISODES_PER_ITERATION:
            return count
    return DEFAULT_EPISODES_PER_ITERATION


def parse_hyperparameters(data: bytes | None) -> int:
    """Episodes per iteration from the bytes of ip/hyperparameters.json (absent or broken: the default)."""
    if data is None:
        return DEFAULT_EPISODES_PER_ITERATION
    value, problem = load_json("ip/hyperparameters.json", data)
    return DEFAULT_EPISODES_PER_ITERATION if problem is not None else episodes_per_iteration(value)


# ---------------------------------------------------------------- files


@dataclass
class _Episode:
    phase: str
    reward: float | None
    completion: float


@dataclass
class _Parsed:
    """One file's usable records, and how many were not."""

    episodes: list[_Episode] = field(default_factory=list)
    trials: list[tuple[int | None, float, float | None, str]] = field(default_factory=list)
    skipped: int = 0

    @property
    def is_training(self) -> bool:
        return bool(self.episodes)


def _records(data: bytes, key: str) -> list[Any] | None:
    value, problem = load_json(key, data)
    if problem is not None or not isinstance(value, dict) or not isinstance(value.get("metrics"), list):
        return None
    records: list[Any] = value["metrics"]
    return records


def parse_file(key: str, data: bytes) -> _Parsed | None:
    """A metrics file's episodes (a training file) or trials (an evaluation file); None if it is neither."""
    records = _records(data, key)
    if records is None:
        return None
    parsed = _Parsed()
    training = any(isinstance(r, dict) and "phase" in r for r in records)
    for record in records:
        if not isinstance(record, dict):
            parsed.skipped += 1
            continue
        completion = _number(record.get("completion_percentage"), 0.0, LAP_COMPLETE)
        if training:
            phase = record.get("phase")
            reward = _number(record.get("reward_score"))
            if (
                completion is None
                or phase not in ("training", "evaluation")
                or (phase == "training" and reward is None)
            ):
                parsed.skipped += 1
                continue
            parsed.episodes.append(_Episode(str(phase), reward, completion))
            continue
        elapsed = _number(record.get("elapsed_time_in_milliseconds"), 0.0)
        status = record.get("episode_status")
        if completion is None or elapsed is None:
            parsed.skipped += 1
            continue
        trial = _count(record.get("trial"))
        lap = elapsed / 1000 if completion >= LAP_COMPLETE else None
        parsed.trials.append((trial, completion, lap, status[:MAX_STATUS] if isinstance(status, str) else ""))
    return parsed


# ---------------------------------------------------------------- iterations


@dataclass
class _Bucket:
    rewards: list[float] = field(default_factory=list)
    completions: list[float] = field(default_factory=list)

    def add(self, episode: _Episode) -> None:
        if episode.reward is not None:
            self.rewards.append(episode.reward)
        self.completions.append(episode.completion)


def evaluation_spacing(episodes: Sequence[_Episode]) -> int | None:
    """The usual number of training episodes between evaluation runs (the most common, the larger on a
    tie): the file's own iteration size; None when the file holds no evaluation after training."""
    runs: Counter[int] = Counter()
    run = 0
    for episode in episodes:
        if episode.phase == "training":
            run += 1
        elif run:
            runs[run] += 1
            run = 0
    return max(runs, key=lambda n: (runs[n], n)) if runs else None


def group_iterations(episodes: Iterable[_Episode], chunk: int) -> Iterable[tuple[int, _Episode]]:
    """(iteration, episode) in file order: an iteration ends after `chunk` training episodes or when
    the evaluation run that follows it ends; evaluation episodes belong to the iteration they follow."""
    iteration, in_iteration, after_evaluation = 1, 0, False
    for episode in episodes:
        if episode.phase == "training":
            if after_evaluation or in_iteration == chunk:
                iteration, in_iteration, after_evaluation = iteration + 1, 0, False
            in_iteration += 1
        elif in_iteration:  # an evaluation before any training episode stays in iteration 1
            after_evaluation = True
        yield iteration, episode


def _means(buckets: dict[int, _Bucket]) -> list[IterationMean]:
    return [
        IterationMean(i, len(b.completions), _mean(b.rewards), _mean(b.completions))
        for i, b in sorted(buckets.items())
    ]


def downsample(items: Sequence[T], max_points: int) -> tuple[T, ...]:
    """At most max_points items, evenly spaced, the first and the last always kept."""
    if len(items) <= max_points:
        return tuple(items)
    if max_points <= 1:
        return tuple(items[-1:])
    step = (len(items) - 1) / (max_points - 1)
    return tuple(items[round(i * step)] for i in range(max_points))


def summarise(
    files: Sequence[tuple[str, bytes]],
    hyperparameters: bytes | None,
    caps: MetricsCaps,
    *,
    not_read: Sequence[str] = (),
) -> ModelMetrics:
    """The charts' data from a model's metrics files (key, bytes), read in key order.

    `not_read` names the files the caller left out (over a cap) so the page can say so."""
    per_iteration = parse_hyperparameters(hyperparameters)
    skipped_files = list(not_read)
    read: list[str] = []
    parsed: list[_Parsed] = []
    for key, data in sorted(files):
        if len(data) > caps.file_bytes:
            skipped_files.append(key)
            continue
        result = parse_file(key, data)
        if result is None:
            skipped_files.append(key)
            continue
        read.append(key)
        parsed.append(result)
    training_files = [p for p in parsed if p.is_training]
    workers = max(1, len(training_files))
    chunk = max(1, math.ceil(per_iteration / workers))
    buckets: dict[str, dict[int, _Bucket]] = {"training": {}, "evaluation": {}}
    for result in training_files:
        own = evaluation_spacing(result.episodes) or chunk
        for iteration, episode in group_iterations(result.episodes, own):
            buckets[episode.phase].setdefault(iteration, _Bucket()).add(episode)
    evaluations = (p for p in parsed if not p.is_training)
    trials = [
        Trial(0, run, trial if trial is not None else position, completion, lap, status)
        for run, result in enumerate((p for p in evaluations if p.trials), start=1)
        for position, (trial, completion, lap, status) in enumerate(result.trials, start=1)
    ]
    trials = [replace(t, number=n) for n, t in enumerate(trials, start=1)]
    training, evaluation = _means(buckets["training"]), _means(buckets["evaluation"])
    longest = max(len(training), len(evaluation), len(trials))
    return ModelMetrics(
        training=downsample(training, caps.max_points),
        evaluation=downsample(evaluation, caps.max_points),
        trials=downsample(trials, caps.max_points),
        episodes_per_iteration=per_iteration,
        workers=workers,
        files=tuple(read),
        skipped_records=sum(p.skipped for p in parsed),
        skipped_files=tuple(skipped_files),
        downsampled=longest > caps.max_points,
    )
