"""The inspection: a listing plus the small control files in, every problem and the copy plan out.

Pure: the service layer lists the source, reads `control_keys(...)` and calls `inspect(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from drmodels.formats.jsontext import TextError, decode_text
from drmodels.rules import layout
from drmodels.rules.checkpoints import (
    FILE_RE,
    CheckpointFiles,
    CheckpointName,
    complete_checkpoints,
    group_checkpoints,
    newest_complete,
    parse_name,
    previous_complete,
    read_checkpoints_json,
    read_coach_pointer,
    read_legacy_state,
)
from drmodels.rules.hyperparameters import check_hyperparameters
from drmodels.rules.jsonfile import load_json
from drmodels.rules.limits import Limits, human_size
from drmodels.rules.metadata import ModelMetadata, metadata_differences, parse_model_metadata
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.optional import check_metrics, check_training_params
from drmodels.rules.problems import Code, Problem, error, warning
from drmodels.rules.repairs import BuildCarArchive, CopyFile, WritePointer
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
    return [k for k in wanted if present[k].size <= _limit_for(k, limits)]


def _has_metadata(present: Mapping[str, ObjectInfo]) -> bool:
    return layout.METADATA in present or layout.ROOT_METADATA in present


def _limit_for(key: str, limits: Limits) -> int:
    return limits.reward_function_bytes if key.endswith(".py") else limits.control_file_bytes


@dataclass
class _Inspection:
    location: str
    present: dict[str, ObjectInfo]
    contents: Mapping[str, bytes]
    limits: Limits
    problems: list[Problem] = field(default_factory=list)
    planned: dict[str, ObjectInfo] = field(default_factory=dict)
    groups: dict[str, CheckpointFiles] = field(default_factory=dict)
    best: CheckpointName | None = None
    """The checkpoint the car runs: the JSON's best (else last), or the one .coach_checkpoint names."""

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def plan(self, *keys: str) -> None:
        for key in keys:
            self.planned[key] = self.present[key]

    def content(self, key: str) -> bytes | None:
        return self.contents.get(key)

    def within_limit(self, key: str, code: Code, limit: int, what: str) -> bool:
        size = self.present[key].size
        if size <= limit:
            return True
        self.add(
            error(
                code,
                key,
                f"{key} is {human_size(size)}; the limit for {what} is {human_size(limit)}, "
                "so it is not read or imported.",
                f"Replace {key} with the file the trainer wrote, or raise the limit "
                "(DRMODELS_* settings) if this size is intended.",
            )
        )
        return False


def inspect(
    location: str, objects: Sequence[ObjectInfo], contents: Mapping[str, bytes], limits: Limits
) -> Report:
    state = _Inspection(location, {o.key: o for o in objects}, contents, limits)
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
    chosen = _checkpoints(state)
    _car_archive(state, metadata_key)
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


def _root_hint(state: _Inspection) -> None:
    """When mandatory files are missing because the prefix root is off by a level, say so."""
    if not any(p.code is Code.FILE_DOES_NOT_EXIST and p.is_error for p in state.problems):
        return
    keys = list(state.present)
    if not any(k.startswith("model/") for k in keys) and any(FILE_RE.match(k) for k in keys):
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


def _mandatory(state: _Inspection, key: str, checker: Checker, what: str) -> bool:
    """Check a mandatory control file at its place, or say where it was found instead."""
    if key in state.present:
        if state.within_limit(key, _size_code(key), _limit_for(key, state.limits), what):
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


def _size_code(key: str) -> Code:
    return (
        Code.MODEL_VALIDATION_SERVICE_ERROR
        if key.endswith(".py")
        else Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED
    )


def _run(state: _Inspection, key: str, checker: Checker) -> None:
    data = state.content(key)
    if data is not None:
        state.problems.extend(checker(key, data))


def _metadata(state: _Inspection) -> tuple[str | None, ModelMetadata | None]:
    places = [k for k in (layout.METADATA, layout.ROOT_METADATA) if k in state.present]
    if not places:
        _mandatory(state, layout.METADATA, lambda k, d: parse_model_metadata(k, d)[1], "model metadata")
        return None, None
    parsed: dict[str, ModelMetadata | None] = {}
    for key in places:
        if not state.within_limit(
            key, Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED, state.limits.control_file_bytes, "model metadata"
        ):
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


def _compare_metadata(state: _Inspection, first: str, second: str) -> None:
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


# --- checkpoints ---------------------------------------------------------------------------------------


def _checkpoints(state: _Inspection) -> list[CheckpointName]:
    """Resolve the pointer files to the checkpoints to copy (spec: "Checkpoint logic")."""
    if layout.CHECKPOINTS_JSON in state.present:
        chosen = _from_json(state)
        if chosen is not None:
            if layout.COACH in state.present:
                state.plan(layout.COACH)  # ignored by the import, kept so the copy stays a valid source
            return chosen
    if layout.COACH in state.present:
        return _from_coach(state)
    if layout.CHECKPOINTS_JSON not in state.present:
        _no_pointer(state)
    return []


def _pointer_text(state: _Inspection, key: str) -> str | None:
    if not state.within_limit(
        key, Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED, state.limits.control_file_bytes, "a pointer file"
    ):
        return None
    state.plan(key)
    data = state.content(key)
    if data is None:
        return None
    try:
        return decode_text(data)
    except TextError as exc:
        state.add(
            error(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                key,
                f"{key} cannot be read: {exc}.",
                f"Restore {key}: one line with a checkpoint name such as 13_Step-25173.ckpt.",
            )
        )
        return None


def _from_json(state: _Inspection) -> list[CheckpointName] | None:
    """Best and last of deepracer_checkpoints.json; None to fall back to .coach_checkpoint."""
    key = layout.CHECKPOINTS_JSON
    if _pointer_text(state, key) is None:
        return []
    value, problem = load_json(key, state.contents[key])
    if problem is not None:
        state.add(problem)
        return []
    names = read_checkpoints_json(value)
    if isinstance(names, str):
        state.add(
            error(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                key,
                f"{key} {names}.",
                f'Restore {key}: {{"best_checkpoint": {{"name": "N_Step-M.ckpt"}}, '
                '"last_checkpoint": {"name": "N_Step-M.ckpt"}}.',
            )
        )
        return []
    wanted = [n for n in dict.fromkeys((names.best, names.last)) if n]
    if not wanted:
        if layout.COACH in state.present:
            state.add(
                warning(
                    Code.COACH_CHECKPOINT_DOES_NOT_EXIST,
                    key,
                    f"{key} names no checkpoint (both names are empty); {layout.COACH} is used instead.",
                    f"Nothing to do, or delete {key}.",
                )
            )
            return None
        state.add(
            error(
                Code.COACH_CHECKPOINT_DOES_NOT_EXIST,
                key,
                f"{key} names no checkpoint (best and last are empty) and there is no {layout.COACH}.",
                "Write the name of the checkpoint to import into model/.coach_checkpoint "
                "(`drmodels fix --checkpoint last` picks the newest complete one).",
            )
        )
        return []
    chosen = [c for name in wanted if (c := _resolve(state, key, name)) is not None]
    if len(chosen) != len(wanted):
        return []
    state.best = chosen[0]  # best when named, else last
    return sorted(set(chosen))


def _from_coach(state: _Inspection) -> list[CheckpointName]:
    key = layout.COACH
    text = _pointer_text(state, key)
    if text is None:
        return []
    name, notes = read_coach_pointer(text)
    for note in notes:
        state.add(
            warning(
                Code.COACH_CHECKPOINT_DOES_NOT_EXIST,
                key,
                f"{key}: {note}.",
                f"Write only the checkpoint name, e.g. {name}, in {key}.",
            )
        )
    if name is None:
        state.add(
            error(
                Code.COACH_CHECKPOINT_DOES_NOT_EXIST,
                key,
                f"{key} is empty; it must name the checkpoint to import.",
                _suggest_pointer(state),
            )
        )
        return []
    named = _resolve(state, key, name)
    if named is None:
        return []
    state.best = named
    previous = previous_complete(named, state.groups)
    if previous is None:
        return [named]
    _plan_checkpoints(state, [previous])
    return [previous, named]


def _resolve(state: _Inspection, pointer: str, name: str) -> CheckpointName | None:
    """The named checkpoint, planned, if its name is valid and all its files are there."""
    parsed = parse_name(name)
    if parsed is None:
        state.add(
            error(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                pointer,
                f"{pointer} names {name!r}, which does not follow the checkpoint naming convention "
                "<iteration>_Step-<total steps>.ckpt.",
                f"Write the name of a checkpoint in model/, e.g. {_example(state)}.",
            )
        )
        return None
    group = state.groups.get(name)
    missing = (group or CheckpointFiles(name)).missing()
    if missing:
        newest = newest_complete(state.groups)
        state.add(
            error(
                Code.CHECKPOINT_FILES_DOES_NOT_EXIST,
                f"model/{name}",
                f"{pointer} names {name}, but model/ lacks {', '.join(missing)}"
                f"{' (training may still have been writing it)' if group else ''}. "
                f"{_present_checkpoints(state)}",
                f"Upload the missing files of {name}, or point {pointer} at a complete checkpoint"
                f"{' such as ' + newest.name if newest else ''}.",
            )
        )
        return None
    _plan_checkpoints(state, [parsed])
    return parsed


def _plan_checkpoints(state: _Inspection, chosen: list[CheckpointName]) -> None:
    for checkpoint in chosen:
        for obj in state.groups[checkpoint.name].objects:
            if state.within_limit(
                obj.key,
                Code.CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED,
                state.limits.checkpoint_file_bytes,
                "a checkpoint file",
            ):
                state.plan(obj.key)
        if checkpoint.graph_key in state.present:
            state.plan(checkpoint.graph_key)


def _present_checkpoints(state: _Inspection) -> str:
    complete = complete_checkpoints(state.groups)
    if not complete:
        return "There is no complete checkpoint in model/."
    return "Complete checkpoints in model/: " + ", ".join(c.name for c in complete) + "."


def _example(state: _Inspection) -> str:
    newest = newest_complete(state.groups)
    return newest.name if newest else "N_Step-M.ckpt"


def _suggest_pointer(state: _Inspection) -> str:
    return (
        f"Write the checkpoint name (e.g. {_example(state)}) into {layout.COACH}, or run "
        "`drmodels fix FOLDER --checkpoint last` to name the newest complete checkpoint."
    )


def _no_pointer(state: _Inspection) -> None:
    """Neither pointer in model/: say what was found instead and whether fix can write one."""
    repair: WritePointer | None = None
    found = ""
    for key in (
        *layout.MISPLACED[layout.CHECKPOINTS_JSON],
        *layout.MISPLACED[layout.COACH],
        layout.DOTLESS_COACH,
        layout.LEGACY_STATE,
    ):
        data = state.content(key)
        if key not in state.present or data is None:
            continue
        name = _name_in(key, data)
        if name and parse_name(name):
            repair = WritePointer(name, key)
            if "/" not in key:
                found = f" {key} is at the prefix root and names {name}; pointer files belong in model/."
            else:
                found = (
                    f" {key} is there and names {name}, but the import only reads {layout.COACH}"
                    + (
                        " (files starting with '.' are hidden on macOS, and often lose the dot)"
                        if key == layout.DOTLESS_COACH
                        else ""
                    )
                    + "."
                )
            break
        found = f" {key} is there but names no valid checkpoint."
    fix = (
        f"Write {repair.name} into {layout.COACH} (`drmodels fix` does it)."
        if repair
        else _suggest_pointer(state)
    )
    state.add(
        error(
            Code.COACH_CHECKPOINT_DOES_NOT_EXIST,
            layout.COACH,
            f"model/ has neither deepracer_checkpoints.json nor .coach_checkpoint, so the import "
            f"cannot tell which checkpoint to copy.{found}",
            fix,
            repair=repair,
        )
    )


def _name_in(key: str, data: bytes) -> str | None:
    try:
        text = decode_text(data)
    except TextError:
        return None
    if key.endswith(".json"):
        value, problem = load_json(key, data)
        names = read_checkpoints_json(value) if problem is None else "invalid"
        return None if isinstance(names, str) else (names.best or names.last)
    if key == layout.LEGACY_STATE:
        return read_legacy_state(text)
    return read_coach_pointer(text)[0]


# --- car archive ----------------------------------------------------------------------------------------


def _car_archive(state: _Inspection, metadata_key: str | None) -> None:
    archives = [k for k in layout.CAR_ARCHIVES if k in state.present]
    if archives:
        key = archives[0]
        if state.within_limit(
            key, Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED, state.limits.model_tar_bytes, "the model archive"
        ):
            state.plan(key)
        return
    best = state.best
    if best is not None and best.graph_key in state.present:
        graph = best.graph_key
        if metadata_key is None:
            return  # the missing model_metadata.json is reported already; the archive needs it
        if state.within_limit(
            graph,
            Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED,
            state.limits.model_tar_bytes,
            "the model archive built from it",
        ):
            state.plan(graph)
            state.add(
                warning(
                    Code.FILE_DOES_NOT_EXIST,
                    layout.CAR_ARCHIVES[0],
                    f"model.tar.gz is missing; it will be built from {graph}, the frozen graph of "
                    f"{best.name}, and {metadata_key}, as the car expects "
                    "(agent/model.pb + model_metadata.json).",
                    "Nothing to do; `drmodels fix` builds it in the folder if you want it there.",
                    repair=BuildCarArchive(graph, metadata_key),
                )
            )
        return
    others = sorted(k for k in state.present if layout.is_other_car_archive(k))
    graphs = sorted(k for k in state.present if k.startswith("model/model_") and k.endswith(".pb"))
    seen = ""
    if others:
        seen += f" Found {', '.join(others)}: rename it to model.tar.gz if it is this model's car archive."
    if graphs:
        seen += f" Found {', '.join(graphs)}, but none for the best checkpoint."
    wanted = (
        f"model/model_{best.iteration}.pb (the frozen graph of {best.name})"
        if best
        else "model/model_<iteration>.pb of the best checkpoint"
    )
    state.add(
        error(
            Code.FILE_DOES_NOT_EXIST,
            layout.CAR_ARCHIVES[0],
            f"The car archive is missing: neither model.tar.gz (in model/ or at the root) nor {wanted} "
            f"is there.{seen}",
            f"Upload model.tar.gz, or {wanted.split(' (')[0]} from the training output "
            "so the archive can be built.",
        )
    )


# --- optional files ----------------------------------------------------------------------------------


def _optional(state: _Inspection) -> None:
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
        if info.size > state.limits.control_file_bytes:
            state.add(
                warning(
                    Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED,
                    key,
                    f"{key} is {human_size(info.size)}, over the "
                    f"{human_size(state.limits.control_file_bytes)} limit for metadata files; "
                    "it is not read or imported.",
                    "Nothing to do unless you need it; split or trim it to import it.",
                )
            )
            continue
        state.plan(key)
        _run(state, key, checker)
