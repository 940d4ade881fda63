"""Optional files (training params, metrics): a malformed one is a warning, never a refusal."""

from __future__ import annotations

import yaml

from drmodels.formats.jsontext import BOM, TextError, decode_text
from drmodels.rules.jsonfile import load_json
from drmodels.rules.problems import Code, Problem, Severity, warning


def check_training_params(path: str, data: bytes) -> list[Problem]:
    def warn(found: str) -> list[Problem]:
        return [
            warning(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                path,
                f"{path} {found}; the model imports without it, but its training settings will not be shown.",
                f"Restore {path} from the training output, or delete it.",
            )
        ]

    if data.startswith(BOM):  # YAML reads a BOM; so does the simulation app's yaml.safe_load
        data = data[len(BOM) :]
    try:
        value = yaml.safe_load(decode_text(data))
    except TextError as exc:
        return warn(f"cannot be read: {exc}")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return warn(f"is not valid YAML{at} ({getattr(exc, 'problem', None) or exc})")
    except RecursionError:
        return warn("is nested too deeply")
    except (ValueError, OverflowError) as exc:  # an impossible date (2001-02-30), a number past the limit
        return warn(f"holds a value YAML cannot turn into data ({str(exc)[:100]})")
    if not isinstance(value, dict):
        return warn(f"is a YAML {type(value).__name__}, not a mapping of settings")
    return []


def check_metrics(path: str, data: bytes) -> list[Problem]:
    value, problem = load_json(path, data, severity=Severity.WARNING)
    if problem is not None:
        return [problem]
    if not isinstance(value, dict) or not isinstance(value.get("metrics"), list):
        return [
            warning(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                path,
                f'{path} is JSON but not a metrics file (an object with a "metrics" list); '
                "the model imports, but these metrics will not be charted.",
                f"Restore {path} from the training output, or delete it.",
            )
        ]
    return []
