"""The inspection: a listing plus the small control files in, every problem and the copy plan out.

Pure: the service layer lists the source, reads `control_keys(...)` and calls `inspect(...)`.
The first problem is the cause: a root one level off is said alone; a file that is there but cannot
be used (a link, unreadable) is named as such rather than called missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from drmodels.rules import layout
from drmodels.rules.car_archive import plan_car_archive
from drmodels.rules.checkpoints import group_checkpoints
from drmodels.rules.hyperparameters import check_hyperparameters
from drmodels.rules.inspection import Inspection
from drmodels.rules.jsonfile import load_json
from drmodels.rules.limits import FileKind, Limits, file_kind, human_size
from drmodels.rules.metadata import ModelMetadata, metadata_differences, parse_model_metadata
from drmodels.rules.nearmiss import did_you_mean
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.optional import check_metrics, check_training_params
from drmodels.rules.pointers import choose_checkpoints
from drmodels.rules.problems import Code, Problem, error, warning
from drmodels.rules.repairs import BuildCarArchive, CopyFile
from drmodels.rules.report import Plan, Report
from drmodels.rules.reward import check_reward_function
from drmodels.rules.root import one_level_off

Checker = Callable[[str, bytes], list[Problem]]
PARSER_FAILURES = (ValueError, OverflowError, RecursionError, MemoryError, TypeError)
"""What a parser of hostile bytes may still raise (number limits, depth); a Problem, never a crash."""


def control_keys(objects: Sequence[ObjectInfo], limits: Limits) -> list[str]:
    """The small files the inspection reads: mandatory control files, pointers, optional params."""
    present = {o.key: o for o in objects if o.unusable is None and not layout.is_macos_junk(o.key)}

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
    junk = sorted(o.key for o in objects if layout.is_macos_junk(o.key))
    usable = [o for o in objects if o.unusable is None and o.key not in junk]
    unusable = {o.key: o for o in objects if o.unusable is not None and o.key not in junk}
    state = Inspection(location, {o.key: o for o in usable}, contents, limits, unusable)
    if not state.present and not unusable:
        state.add(
            error(
                Code.FILE_DOES_NOT_EXIST,
                "",
                f"There are no files under {location}"
                + (f" (only macOS resource files: {', '.join(junk[:3])})." if junk else "."),
                "Check the location: give the folder that holds reward_function.py, ip/ and model/.",
            )
        )
        return Report(location, state.problems)
    off = one_level_off(state)
    if off is not None:
        return Report(location, [off], root_off=True)
    state.groups = group_checkpoints(usable)
    _mandatory(state, layout.REWARD, check_reward_function, "reward function")
    _mandatory(state, layout.HYPERPARAMETERS, check_hyperparameters, "hyperparameters")
    metadata_key, metadata = _metadata(state)
    chosen = choose_checkpoints(state)
    plan_car_archive(state, metadata_key)
    _optional(state)
    _unusable(state)
    _junk(state, junk)
    _total(state)
    plan = Plan(
        checkpoints=tuple(c.name for c in chosen),
        objects=tuple(sorted(state.planned.values(), key=lambda o: o.key)),
        build_car_archive=any(isinstance(p.repair, BuildCarArchive) for p in state.problems),
        car_archive_graph=next(
            (p.repair.graph for p in state.problems if isinstance(p.repair, BuildCarArchive)), None
        ),
        model_metadata=metadata_key,
    )
    errors = [p for p in state.problems if p.is_error]
    return Report(location, errors + [p for p in state.problems if not p.is_error], plan, metadata)


# --- mandatory files ---------------------------------------------------------------------------------


def _mandatory(state: Inspection, key: str, checker: Checker, what: str) -> bool:
    """Check a mandatory control file at its place, or say where it was found instead."""
    if key in state.present:
        if state.within_limit(key, file_kind(key), what):
            state.plan(key)
            _run(state, key, checker)
        return True
    if key in state.unusable:
        state.add(
            error(
                state.unusable_code(key),
                key,
                f"{key} is there but {state.unusable[key].unusable}, so the import cannot read it.",
                f"Replace {state.place(key)} with the file itself, readable by the user running drmodels.",
            )
        )
        return False
    misplaced = [k for k in layout.MISPLACED.get(key, ()) if k in state.present]
    if misplaced:
        found = misplaced[0]
        before = len(state.problems)
        _run(state, found, checker)
        valid = not any(p.is_error for p in state.problems[before:])
        state.problems[before:before] = [
            error(
                Code.FILE_DOES_NOT_EXIST,
                key,
                f"{key} is missing; a copy was found at {found}, where the import does not look"
                + ("." if valid else ", but it is refused too (see below), so it is not copied into place."),
                state.copy_fix(found, key) if valid else f"Correct {found}, then copy it to {key}.",
                repair=CopyFile(found, key) if valid else None,
            )
        ]
        return False
    elsewhere = ", ".join(layout.MISPLACED.get(key, ())) or "no other place"
    state.add(
        error(
            Code.FILE_DOES_NOT_EXIST,
            key,
            f"{key} is missing from {state.location} (the {what}; looked also in {elsewhere})."
            + did_you_mean(key, [*state.present, *state.unusable]),
            f"Upload the {what} the model was trained with as {state.place(key)}.",
        )
    )
    return False


def _run(state: Inspection, key: str, checker: Checker) -> None:
    data = state.content(key)
    if data is not None:
        state.problems.extend(guarded(checker, key, data, error_level=not layout.is_optional(key)))


def guarded(checker: Checker, key: str, data: bytes, *, error_level: bool = True) -> list[Problem]:
    """The checker's problems; whatever a parser still raises on hostile bytes becomes one of them."""
    try:
        return checker(key, data)
    except PARSER_FAILURES as exc:
        return [unparsable(key, exc, error_level=error_level)]


def unparsable(key: str, exc: BaseException, *, error_level: bool = True) -> Problem:
    return (error if error_level else warning)(
        Code.MODEL_VALIDATION_SERVICE_ERROR,
        key,
        f"{key} cannot be read: {type(exc).__name__} ({str(exc)[:120] or 'no detail'}).",
        f"Restore {key} from the training output.",
    )


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
            try:
                parsed[key], problems = parse_model_metadata(key, data)
            except PARSER_FAILURES as exc:
                parsed[key], problems = None, [unparsable(key, exc)]
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
                    "",
                )
            )
            continue
        if state.plan(key):
            _run(state, key, checker)


# --- what the listing holds but the import cannot use ------------------------------------------------


def _unusable(state: Inspection) -> None:
    """One warning per entry that is listed but cannot be read or copied (unless already named)."""
    named = {p.path for p in state.problems}
    for key, info in sorted(state.unusable.items()):
        if key in named:
            continue
        state.add(
            warning(
                state.unusable_code(key),
                key,
                f"{key} {info.unusable}; it is not read or imported.",
                f"If the model needs it, replace {state.place(key)} with the file itself, readable by "
                "the user running drmodels.",
            )
        )


def _junk(state: Inspection, junk: list[str]) -> None:
    if not junk:
        return
    shown = ", ".join(junk[:5]) + (f" and {len(junk) - 5} more" if len(junk) > 5 else "")
    state.add(
        warning(
            Code.FILE_DOES_NOT_EXIST,
            junk[0],
            f"{shown}: macOS resource {'forks' if len(junk) > 1 else 'fork'} and folder metadata, "
            "ignored, not copied.",
            "",
        )
    )


def _total(state: Inspection) -> None:
    """Keep the plan under Limits.model_bytes: optional files go first (logs, largest first)."""
    limit = state.limits.model_bytes
    total = sum(o.size for o in state.planned.values())
    if total <= limit:
        return
    left_out = []
    for info in sorted(
        (o for o in state.planned.values() if layout.is_optional(o.key)),
        key=lambda o: (not layout.is_log(o.key), -o.size),
    ):
        if total <= limit:
            break
        del state.planned[info.key]
        total -= info.size
        left_out.append(info.key)
    if left_out:
        shown = ", ".join(left_out[:5]) + (f" and {len(left_out) - 5} more" if len(left_out) > 5 else "")
        state.add(
            warning(
                Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED,
                left_out[0],
                f"The model would copy more than the {human_size(limit)} one import may hold; "
                f"{shown} {'are' if len(left_out) > 1 else 'is'} left out to stay under it.",
                "Nothing of the model itself is lost; raise DRMODELS_MODEL_MAX_BYTES to import these too.",
            )
        )
    if total > limit:
        state.add(
            error(
                Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED,
                "",
                f"The model's files come to {human_size(total)}, more than the {human_size(limit)} one "
                "import may hold.",
                "Keep only the checkpoints the import copies (best and last), or raise "
                "DRMODELS_MODEL_MAX_BYTES if this size is intended.",
            )
        )
