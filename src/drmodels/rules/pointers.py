"""Which checkpoints to copy: the pointer files resolved as the spec's "Checkpoint logic" says.

deepracer_checkpoints.json names best and last (both are copied); without it, .coach_checkpoint names
one checkpoint, copied with the complete one before it. Each named checkpoint must be complete.
"""

from __future__ import annotations

from drmodels.formats.jsontext import BOM, TextError, decode_text
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
from drmodels.rules.jsonfile import bom_problem, load_json
from drmodels.rules.limits import FileKind
from drmodels.rules.nearmiss import did_you_mean
from drmodels.rules.problems import Code, error, warning
from drmodels.rules.repairs import CopyFile, WritePointer


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
    if data.startswith(BOM) and not key.endswith(".json"):  # rl_coach would read the BOM as part of the name
        state.add(bom_problem(key))
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
                    "",
                )
            )
            return None
        state.add(
            error(
                Code.COACH_CHECKPOINT_DOES_NOT_EXIST,
                key,
                f"{key} names no checkpoint (best and last are empty) and there is no {layout.COACH}.",
                _suggest_pointer(state),
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
        links = [f"{m} {state.unusable[layout.MODEL_DIR + m].unusable}" for m in missing
                 if layout.MODEL_DIR + m in state.unusable]  # fmt: skip
        why = (
            f" ({'; '.join(links)})"
            if links
            else " (training may still have been writing it)"
            if group
            else ""
        )
        state.add(
            error(
                Code.CHECKPOINT_FILES_DOES_NOT_EXIST,
                f"{layout.MODEL_DIR}{name}",
                f"{pointer} names {name}, but model/ lacks {', '.join(missing)}{why}. "
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
    example = _example(state)
    command = state.fix_command(" --checkpoint last")
    if state.on_s3:
        return (
            f"Write the checkpoint to import (e.g. {example}) into {state.place(layout.COACH)}: "
            f"`printf {example} | aws s3 cp - {state.place(layout.COACH)}`."
        )
    if command is None:
        return (
            f"Write the checkpoint to import (e.g. {example}) into {layout.COACH}, then pack the folder "
            "again."
        )
    return (
        f"Write the checkpoint to import (e.g. {example}) into {layout.COACH}, or run `{command}` to name "
        "the newest complete checkpoint."
    )


def _no_pointer(state: Inspection) -> None:
    """Neither pointer in model/: say what was found instead and whether fix can write one."""
    repair: WritePointer | CopyFile | None = None
    found = ""
    complete = {c.name for c in complete_checkpoints(state.groups)}
    for key in (
        *layout.MISPLACED[layout.CHECKPOINTS_JSON],
        *layout.MISPLACED[layout.COACH],
        layout.DOTLESS_COACH,
        layout.LEGACY_STATE,
    ):
        data = state.content(key)
        if key not in state.present or data is None:
            continue
        names = [n for n in _names_in(key, data) if parse_name(n)]
        if not names:
            found = f" {key} is there but names no valid checkpoint."
            continue
        usable = [n for n in names if n in complete]
        where = (
            f" {key} is at the prefix root and names {' and '.join(names)}; pointer files belong in model/"
            if "/" not in key
            else f" {key} is there and names {names[0]}, but the import only reads {layout.COACH}"
            + (
                " (files starting with '.' are hidden on macOS, and often lose the dot)"
                if key == layout.DOTLESS_COACH
                else ""
            )
        )
        if not usable:
            verb = "has" if len(names) == 1 else "have"
            found = f"{where}; but {' and '.join(names)} {verb} no complete files in model/."
            continue
        if key.endswith(".json") and len(usable) == len(names):
            repair = CopyFile(key, layout.CHECKPOINTS_JSON)
        else:
            repair = WritePointer(usable[0], key)
        found = where + "."
        break
    if repair is None:
        fix = _suggest_pointer(state)
    elif isinstance(repair, CopyFile):
        fix = state.copy_fix(repair.source, repair.target)
    else:
        fix = state.repaired(f"Write {repair.name} into {layout.COACH}")
    has_model_dir = any(k.startswith(layout.MODEL_DIR) for k in (*state.present, *state.unusable))
    explanation = (
        "model/ has neither deepracer_checkpoints.json nor .coach_checkpoint, so the import cannot tell "
        "which checkpoint to copy."
        if has_model_dir
        else "There is no model/ folder: no checkpoint and no pointer (model/deepracer_checkpoints.json or "
        "model/.coach_checkpoint) to import."
    )
    state.add(
        error(
            Code.COACH_CHECKPOINT_DOES_NOT_EXIST,
            layout.COACH,
            explanation + found + did_you_mean(layout.COACH, [*state.present, *state.unusable]),
            fix,
            repair=repair,
        )
    )


def _names_in(key: str, data: bytes) -> list[str]:
    """The checkpoint names a pointer file names (best first for the JSON)."""
    try:
        text = decode_text(data)
    except TextError:
        return []
    if key.endswith(".json"):
        value, problem = load_json(key, data)
        names = read_checkpoints_json(value) if problem is None else "invalid"
        return [] if isinstance(names, str) else [n for n in dict.fromkeys((names.best, names.last)) if n]
    name = read_legacy_state(text) if key == layout.LEGACY_STATE else read_coach_pointer(text)[0]
    return [name] if name else []
