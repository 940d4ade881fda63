"""Which checkpoints to copy: the pointer files resolved as the spec's "Checkpoint logic" says.

deepracer_checkpoints.json names best and last (both are copied); without it, .coach_checkpoint names
one checkpoint, copied with the complete one before it. Each named checkpoint must be complete.
"""

from __future__ import annotations

from drmodels.formats.jsontext import TextError, decode_text
from drmodels.rules import layout
from drmodels.rules.checkpoints import (
    CheckpointFiles,
    CheckpointName,
    complete_checkpoints,
    newest_complete,
    parse_name,
    previous_complete,
    read_checkpoints_json,
    read_coach_pointer,
    read_legacy_state,
)
from drmodels.rules.inspection import Inspection
from drmodels.rules.jsonfile import load_json
from drmodels.rules.limits import FileKind
from drmodels.rules.problems import Code, error, warning
from drmodels.rules.repairs import WritePointer


def choose_checkpoints(state: Inspection) -> list[CheckpointName]:
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


def _pointer_text(state: Inspection, key: str) -> str | None:
    if not state.within_limit(key, FileKind.CONTROL, "a pointer file"):
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


def _from_json(state: Inspection) -> list[CheckpointName] | None:
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


def _from_coach(state: Inspection) -> list[CheckpointName]:
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


def _resolve(state: Inspection, pointer: str, name: str) -> CheckpointName | None:
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
                f"{layout.MODEL_DIR}{name}",
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


def _plan_checkpoints(state: Inspection, chosen: list[CheckpointName]) -> None:
    for checkpoint in chosen:
        for obj in state.groups[checkpoint.name].objects:
            if state.within_limit(obj.key, FileKind.CHECKPOINT, "a checkpoint file"):
                state.plan(obj.key)
        if checkpoint.graph_key in state.present:
            state.plan(checkpoint.graph_key)


def _present_checkpoints(state: Inspection) -> str:
    complete = complete_checkpoints(state.groups)
    if not complete:
        return "There is no complete checkpoint in model/."
    return "Complete checkpoints in model/: " + ", ".join(c.name for c in complete) + "."


def _example(state: Inspection) -> str:
    newest = newest_complete(state.groups)
    return newest.name if newest else "N_Step-M.ckpt"


def _suggest_pointer(state: Inspection) -> str:
    return (
        f"Write the checkpoint name (e.g. {_example(state)}) into {layout.COACH}, or run "
        "`drmodels fix FOLDER --checkpoint last` to name the newest complete checkpoint."
    )


def _no_pointer(state: Inspection) -> None:
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
