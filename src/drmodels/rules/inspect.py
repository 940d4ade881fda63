"""The inspection: a listing plus the small control files in, every problem and the copy plan out.

Pure: the service layer lists the source, reads `control_keys(...)` and calls `inspect(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from drmodels.rules import layout
from drmodels.rules.car_archive import plan_car_archive
from drmodels.rules.checkpoints import FILE_RE, group_checkpoints
from drmodels.rules.hyperparameters import check_hyperparameters
from drmodels.rules.inspection import Inspection
from drmodels.rules.jsonfile import load_json
from drmodels.rules.limits import FileKind, Limits, file_kind, human_size
from drmodels.rules.metadata import ModelMetadata, metadata_differences, parse_model_metadata
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.optional import check_metrics, check_training_params
from drmodels.rules.pointers import choose_checkpoints
from drmodels.rules.problems import Code, Problem, error, warning
from drmodels.rules.repairs import BuildCarArchive, CopyFile
from drmodels.rules.report import Plan, Report
from drmodels.rules.reward import check_reward_function

Checker = Callable[[str, bytes], list[Problem]]


def control_keys(objects: Sequence[ObjectInfo], limits: Limits) -> list[str]:
    """The small files the inspection reads: mandatory control files, pointers, optional params."""
    present = {o.key: o for o in objects}

    def first(*keys: str) -> list[str]:
        return [k for k in keys if k in present][:1]

    wanted = [
        *first(layout.REWARD, *layout.MISPLACED[layout.REWARD]),
        *first(layout.HYPERPARAMETERS, *layout.MISPLACED[layout.HYPERPARAMETERS]),
        *[k for k in (layout.METADATA, layout.ROOT_METADATA) if k in present],
        *(first(*layout.MISPLACED[layout.METADATA]) if not _has_metadata(present) else []),
    ]
    pointers = first(layout.CHECKPOINTS_JSON, layout.COACH)
    if pointers == [layout.CHECKPOINTS_JSON] and layout.COACH in present:
        pointers.append(layout.COACH)  # the fallback when the JSON names no checkpoint
    wanted += pointers or first(
        *layout.MISPLACED[layout.CHECKPOINTS_JSON], *layout.MISPLACED[layout.COACH],
        layout.DOTLESS_COACH, layout.LEGACY_STATE,
    )  # fmt: skip
    wanted += [k for k in present if layout.is_training_params(k) or layout.is_metrics(k)]
    return [k for k in wanted if present[k].size <= limits.rule(file_kind(k)).limit]


def _has_metadata(present: Mapping[str, ObjectInfo]) -> bool:
    return layout.METADATA in present or layout.ROOT_METADATA in present


def inspect(
    location: str, objects: Sequence[ObjectInfo], contents: Mapping[str, bytes], limits: Limits
) -> Report:
    state = Inspection(location, {o.key: o for o in objects}, contents, limits)
    if not state.present:
        state.add(
            error(
                Code.FILE_DOES_NOT_EXIST,
                "",
                f"There are no files under {location}.",
                "Check the bucket and prefix: give the folder that holds reward_function.py, ip/ and model/.",
            )
        )
        return Report(location, state.problems)
    state.groups = group_checkpoints(objects)
    _mandatory(state, layout.REWARD, check_reward_function, "reward function")
    _mandatory(state, layout.HYPERPARAMETERS, check_hyperparameters, "hyperparameters")
    metadata_key, metadata = _metadata(state)
    chosen = choose_checkpoints(state)
    plan_car_archive(state, metadata_key)
    _optional(state)
    _root_hint(state)
    plan = Plan(
        checkpoints=tuple(c.name for c in chosen),
        objects=tuple(sorted(state.planned.values(), key=lambda o: o.key)),
        build_car_archive=any(isinstance(p.repair, BuildCarArchive) for p in state.problems),
        car_archive_graph=next(
            (p.repair.graph for p in state.problems if isinstance(p.repair, BuildCarArchive)), None
        ),
        model_metadata=metadata_key,
    )
    return Report(location, state.problems, plan, metadata)


def _root_hint(state: Inspection) -> None:
    """When mandatory files are missing because the prefix root is off by a level, say so."""
    if not any(p.code is Code.FILE_DOES_NOT_EXIST and p.is_error for p in state.problems):
        return
    keys = list(state.present)
    if not any(k.startswith(layout.MODEL_DIR) for k in keys) and any(FILE_RE.match(k) for k in keys):
        hint = (
            f"{state.location} holds checkpoint files at its top level: it looks like the model/ folder "
            "itself, not the prefix root.",
            "Give the folder above it, which holds reward_function.py, ip/ and model/.",
        )
    else:
        roots = sorted(
            {
                k[: -len("/model/model_metadata.json")]
                for k in keys
                if k.endswith("/model/model_metadata.json")
            }
        )
        if not roots:
            return
        shown = ", ".join(roots[:5]) + (f" and {len(roots) - 5} more" if len(roots) > 5 else "")
        hint = (
            f"{state.location} is above the model: model folders were found under {shown}.",
            "Give one model's prefix root (the folder that holds ip/ and model/); to take in every model of "
            "a bucket, import each prefix.",
        )
    state.add(warning(Code.FILE_DOES_NOT_EXIST, "", *hint))


# --- mandatory files ---------------------------------------------------------------------------------


def _mandatory(state: Inspection, key: str, checker: Checker, what: str) -> bool:
    """Check a mandatory control file at its place, or say where it was found instead."""
    if key in state.present:
        if state.within_limit(key, file_kind(key), what):
            state.plan(key)
            _run(state, key, checker)
        return True
    misplaced = [k for k in layout.MISPLACED.get(key, ()) if k in state.present]
    if misplaced:
        found = misplaced[0]
        state.add(
            error(
                Code.FILE_DOES_NOT_EXIST,
                key,
                f"{key} is missing; a copy was found at {found}, where the import does not look.",
                f"Copy {found} to {key} (`drmodels fix` does it).",
                repair=CopyFile(found, key),
            )
        )
        _run(state, found, checker)
        return False
    state.add(
        error(
            Code.FILE_DOES_NOT_EXIST,
            key,
            f"{key} is missing from {state.location} (the {what}; looked also in "
            f"{', '.join(layout.MISPLACED.get(key, ())) or 'no other place'}).",
            f"Upload the {what} the model was trained with as {key}.",
        )
    )
    return False


def _run(state: Inspection, key: str, checker: Checker) -> None:
    data = state.content(key)
    if data is not None:
        state.problems.extend(checker(key, data))


def _metadata(state: Inspection) -> tuple[str | None, ModelMetadata | None]:
    places = [k for k in (layout.METADATA, layout.ROOT_METADATA) if k in state.present]
    if not places:
        _mandatory(state, layout.METADATA, lambda k, d: parse_model_metadata(k, d)[1], "model metadata")
        return None, None
    parsed: dict[str, ModelMetadata | None] = {}
    for key in places:
        if not state.within_limit(key, FileKind.CONTROL, "model metadata"):
            continue
        state.plan(key)
        data = state.content(key)
        if data is not None:
            parsed[key], problems = parse_model_metadata(key, data)
            state.problems.extend(problems)
    if len(parsed) == 2 and all(parsed.values()):
        _compare_metadata(state, *places)
    main = places[0]
    return main, parsed.get(main)


def _compare_metadata(state: Inspection, first: str, second: str) -> None:
    a, _ = load_json(first, state.contents[first])
    b, _ = load_json(second, state.contents[second])
    differing = metadata_differences(a, b)
    if differing:
        shown = ", ".join(f"`{d}`" for d in differing[:8]) + (" ..." if len(differing) > 8 else "")
        state.add(
            error(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                second,
                f"{first} and {second} disagree on {shown}; the import cannot tell which "
                "describes the model.",
                f"Keep the one the model was trained with and copy it over the other "
                f"(usually {first}, the file the trainer wrote).",
            )
        )


# --- optional files ----------------------------------------------------------------------------------


def _optional(state: Inspection) -> None:
    for key, info in state.present.items():
        if layout.is_log(key):
            state.plan(key)
            continue
        checker = (
            check_training_params
            if layout.is_training_params(key)
            else check_metrics
            if layout.is_metrics(key)
            else None
        )
        if checker is None:
            continue
        limit = state.limits.rule(FileKind.CONTROL).limit
        if info.size > limit:
            state.add(
                warning(
                    Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED,
                    key,
                    f"{key} is {human_size(info.size)}, over the "
                    f"{human_size(limit)} limit for metadata files; "
                    "it is not read or imported.",
                    "Nothing to do unless you need it; split or trim it to import it.",
                )
            )
            continue
        state.plan(key)
        _run(state, key, checker)
