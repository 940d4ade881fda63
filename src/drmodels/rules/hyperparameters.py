"""ip/hyperparameters.json: an object of the training hyperparameters."""

from __future__ import annotations

import math

from drmodels.formats.jsontext import decode_text, where
from drmodels.rules.jsonfile import load_json
from drmodels.rules.problems import Code, Problem, error, warning

NUMERIC = (
    "batch_size", "beta_entropy", "discount_factor", "e_greedy_value", "epsilon_steps", "lr",
    "num_episodes_between_training", "num_epochs", "stack_size", "term_cond_avg_score",
    "term_cond_max_episodes", "sac_alpha",
)  # fmt: skip


def check_hyperparameters(path: str, data: bytes) -> list[Problem]:
    value, problem = load_json(path, data)
    if problem is not None:
        return [problem]
    if not isinstance(value, dict):
        return [
            error(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                path,
                f"{path} is a JSON {type(value).__name__}; it must be an object of hyperparameters "
                'such as {"batch_size": 64, "lr": 0.0003}.',
                f"Restore {path} from the training output.",
            )
        ]
    text = decode_text(data)
    problems = []
    for key in NUMERIC:
        if key not in value:
            continue
        item = value[key]
        at = where(text, (key,))
        if isinstance(item, float) and not math.isfinite(item):
            problems.append(
                error(
                    Code.MODEL_VALIDATION_SERVICE_ERROR,
                    path,
                    f"{path}: `{key}`{at} is {item}, not a finite number.",
                    f"Set `{key}` to the number the model was trained with.",
                )
            )
        elif isinstance(item, bool) or not isinstance(item, int | float | str):
            problems.append(
                error(
                    Code.MODEL_VALIDATION_SERVICE_ERROR,
                    path,
                    f"{path}: `{key}`{at} is {item!r}, not a number.",
                    f"Set `{key}` to a number.",
                )
            )
        elif isinstance(item, str):
            try:
                float(item)
            except ValueError:
                problems.append(
                    error(
                        Code.MODEL_VALIDATION_SERVICE_ERROR,
                        path,
                        f"{path}: `{key}`{at} is the text {item!r}, not a number.",
                        f"Set `{key}` to a number.",
                    )
                )
            else:
                problems.append(
                    warning(
                        Code.MODEL_VALIDATION_SERVICE_ERROR,
                        path,
                        f"{path}: `{key}`{at} is the string {item!r}; it is read as a number.",
                        f"Write `{key}` without quotes.",
                    )
                )
    return problems
