"""reward_function.py: parsed with `ast`, never executed."""

from __future__ import annotations

import ast

from drmodels.formats.jsontext import TextError, decode_text
from drmodels.rules.problems import Code, Problem, error, warning

ENTRY = "reward_function"


def check_reward_function(path: str, data: bytes) -> list[Problem]:
    """A module-level `reward_function` taking one argument (a def, or a name bound to a callable)."""

    def refuse(explanation: str, fix: str) -> list[Problem]:
        return [error(Code.MODEL_VALIDATION_SERVICE_ERROR, path, explanation, fix)]

    try:
        text = decode_text(data)
    except TextError as exc:
        return refuse(f"{path} cannot be read: {exc}.", f"Save {path} as UTF-8 Python source.")
    if not text.strip():
        return refuse(f"{path} is empty.", "Restore the reward function the model was trained with.")
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        hint = " (Python 2 `print` statements are not valid Python 3)" if "print" in (exc.text or "") else ""
        return refuse(
            f"{path} is not valid Python 3: {exc.msg} at line {exc.lineno}, column {exc.offset}{hint}.",
            f"Fix line {exc.lineno} of {path}; `python3 -m py_compile {path}` shows the same error.",
        )
    except (RecursionError, MemoryError, ValueError) as exc:
        return refuse(f"{path} cannot be parsed as Python: {type(exc).__name__}.", f"Restore {path}.")
    return _entry_point(path, tree)


def _entry_point(path: str, tree: ast.Module) -> list[Problem]:
    bindings: list[ast.stmt] = []
    for node in tree.body:
        if (
            (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == ENTRY)
            or (isinstance(node, ast.Assign) and any(_binds(t) for t in node.targets))
            or (isinstance(node, ast.AnnAssign) and _binds(node.target) and node.value is not None)
        ):
            bindings.append(node)
    if not bindings:
        return [
            error(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                path,
                _missing_text(path, tree),
                f"Add `def {ENTRY}(params):` at the top level of {path}, returning a float.",
            )
        ]
    problems: list[Problem] = []
    if len(bindings) > 1:
        lines = ", ".join(str(b.lineno) for b in bindings)
        problems.append(
            warning(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                path,
                f"{path} defines `{ENTRY}` {len(bindings)} times (lines {lines}); "
                f"the last one, line {bindings[-1].lineno}, is the one the simulator calls.",
                "Remove the definitions that are not used.",
            )
        )
    last = bindings[-1]
    if isinstance(last, ast.FunctionDef | ast.AsyncFunctionDef):
        problems.extend(_signature(path, last))
    elif isinstance(last, ast.Assign | ast.AnnAssign):
        value = last.value
        if isinstance(value, ast.Constant):
            problems.append(
                error(
                    Code.MODEL_VALIDATION_SERVICE_ERROR,
                    path,
                    f"{path} binds `{ENTRY}` to the constant {value.value!r} at line "
                    f"{last.lineno}; it must be a function.",
                    f"Bind `{ENTRY}` to a function that takes `params`.",
                )
            )
        elif isinstance(value, ast.Lambda):
            problems.extend(_arguments(path, value.args, last.lineno, "lambda"))
    return problems


def _binds(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id == ENTRY


def _missing_text(path: str, tree: ast.Module) -> str:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == ENTRY:
                    return (
                        f"{path} defines `{ENTRY}` only as a method of class `{node.name}` (line "
                        f"{item.lineno}); the simulator calls a module-level `{ENTRY}(params)`. "
                        f"Add `{ENTRY} = {node.name}().{ENTRY}` at the end of the file"
                    )
    return f"{path} has no top-level `{ENTRY}`; the simulator calls `{ENTRY}(params)`"


def _signature(path: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Problem]:
    problems = _arguments(path, node.args, node.lineno, f"def {ENTRY}")
    if isinstance(node, ast.AsyncFunctionDef):
        problems.append(
            error(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                path,
                f"{path}: `{ENTRY}` at line {node.lineno} is `async`; the simulator "
                "calls it synchronously and would get a coroutine, not a reward.",
                "Remove `async`.",
            )
        )
    return problems


def _arguments(path: str, args: ast.arguments, line: int, what: str) -> list[Problem]:
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    names = ", ".join(a.arg for a in positional) or "nothing"
    if required > 1:
        reason = f"requires {required} arguments ({names})"
    elif not positional and args.vararg is None:
        reason = "takes no argument"
    else:
        return []
    return [
        error(
            Code.MODEL_VALIDATION_SERVICE_ERROR,
            path,
            f"{path}: `{what}` at line {line} {reason}; the simulator calls it with one "
            "argument, the params dictionary.",
            f"Make it `def {ENTRY}(params):`.",
        )
    ]
