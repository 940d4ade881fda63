"""Frozen graphs (`model_N.pb`, the archive's `agent/model.pb`) and `.meta` MetaGraphDefs, without TF.

Both are parsed with our own minimal messages (drmodels.formats.protobuf). Checks: the bytes are a
well-formed message; node names are unique and every input refers to a node; a frozen graph holds
no variables; the input placeholders the car's model optimizer feeds
(`main_level/agent/{main|policy}/online/network_0/<SENSOR>/<SENSOR>`) exist with shapes that fit
the sensors; the single policy output node exists; and the policy network's weights (Const nodes
named like the variables) fit model_metadata.json. Nodes are found by name, never by op type
(TF1 and TF2 writers differ in op types).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from drmodels.formats import protobuf as protos
from drmodels.formats.graphdef import GraphError, Node, input_node, nodes_of
from drmodels.rules.deep import network
from drmodels.rules.metadata import CAMERAS, LIDARS, ModelMetadata
from drmodels.rules.problems import Code, Problem, error, warning

VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp", "AutoReloadVariable"})
PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderWithDefault", "PlaceholderV2"})
DT_FLOAT = 1
MAX_LISTED = 8


def _structure(nodes: dict[str, Node]) -> list[str]:
    """Dangling inputs; one message per node (capped)."""
    out = []
    for node in nodes.values():
        for raw in node.inputs:
            if input_node(raw) not in nodes:
                out.append(f"node `{node.name}` ({node.op}) takes input `{raw}`, which no node defines")
                break
        if len(out) >= MAX_LISTED:
            break
    return out


def _fmt(dims: Iterable[int] | None) -> str:
    if dims is None:
        return "unknown"
    return "[" + ", ".join("None" if d < 0 else str(d) for d in dims) + "]"


def _inputs_and_output(nodes: dict[str, Node], metadata: ModelMetadata, what: str) -> list[str]:
    """Messages for placeholders and the policy output that do not fit the metadata."""
    out: list[str] = []
    expected = network.input_placeholders(metadata)
    for name, sample in expected.items():
        node = nodes.get(name)
        if node is None or node.op not in PLACEHOLDER_OPS:
            present = [n for n in nodes.values() if n.op in PLACEHOLDER_OPS and "/network_0/" in n.name]
            listed = ", ".join(f"`{n.name}` {_fmt(n.attr_shape('shape'))}" for n in present[:MAX_LISTED])
            found = f"it has {listed}" if listed else "it has no such input placeholder"
            kind = f" (a {node.op} node)" if node is not None else ""
            out.append(
                f"{what} has no input placeholder `{name}`{kind} for sensor "
                f"{name.rsplit('/', 1)[-1]} listed in model_metadata.json; {found}"
            )
            continue
        dims = node.attr_shape("shape")
        want = (-1, *sample)
        if dims is not None and (len(dims) != len(want) or dims[0] not in (-1, 1) or dims[1:] != want[1:]):
            out.append(
                f"{what}: input `{name}` has shape {_fmt(dims)} but sensor {name.rsplit('/', 1)[-1]} "
                f"needs {_fmt(want)}"
            )
        dtype = node.attr_type("dtype")
        if dtype is not None and dtype != DT_FLOAT:
            out.append(f"{what}: input `{name}` has dtype {dtype}, expected float32 ({DT_FLOAT})")
    prefix = f"{network.ROOT}/{network.wrapper(metadata)}/online/network_0/"
    for node in nodes.values():
        if node.op in PLACEHOLDER_OPS and node.name.startswith(prefix) and node.name not in expected:
            part = node.name[len(prefix) :].split("/", 1)[0]
            if part in CAMERAS or part in LIDARS:
                out.append(
                    f"{what} has input `{node.name}` {_fmt(node.attr_shape('shape'))} for sensor {part}, "
                    f"which model_metadata.json does not list ({list(metadata.sensors)})"
                )
    output = network.output_node(metadata)
    if output not in nodes:
        near = [n for n in nodes if n.endswith("/policy")][:MAX_LISTED]
        hint = f"; nodes named .../policy: {', '.join(f'`{n}`' for n in near)}" if near else ""
        out.append(
            f"{what} has no policy output node `{output}` (expected for {metadata.training_algorithm}){hint}"
        )
    return out


def _weights(nodes: dict[str, Node], metadata: ModelMetadata, what: str) -> list[str]:
    prefix = network.policy_prefix(metadata)
    consts = {
        n.name: dims
        for n in nodes.values()
        if n.op == "Const" and n.name.startswith(prefix) and (dims := n.attr_shape("value")) is not None
    }
    expected = [e for e in network.expected_tensors(metadata) if e.name.startswith(prefix)]
    # freezing keeps only what the output depends on: not the log std of the policy, maybe not the rescaler
    optional = [
        e.name
        for e in expected
        if e.name.endswith(("_rescalers", "/policy_log_std")) or "/sac_policy_head_0/dense_1/" in e.name
    ]
    return [
        f"{what}: {m.message}"
        for m in network.match(expected, consts, report_extras=False, optional=optional)
    ]


def _problems(path: str, messages: list[str], fix: str) -> list[Problem]:
    return [
        error(Code.MODEL_VALIDATION_SERVICE_ERROR, path, f"{path}: {m}" if not m.startswith(path) else m, fix)
        for m in messages
    ]


def check_frozen_graph(data: bytes, metadata: ModelMetadata | None, path: str) -> list[Problem]:
    """Every problem of a frozen policy graph, each naming the node at fault."""
    fix = (
        "Restore the frozen graph the trainer wrote for this checkpoint (model_<N>.pb / agent/model.pb), "
        "and the model_metadata.json it was trained with."
    )
    what = "the frozen graph"
    try:
        graph = protos.parse(protos.READ.GraphDef, data)
        nodes = nodes_of(graph)
    except (protos.ProtoError, GraphError) as exc:
        return _problems(path, [f"{what} is not a valid GraphDef ({len(data)} bytes): {exc}"], fix)
    if not nodes:
        return _problems(path, [f"{what} has no nodes ({len(data)} bytes)"], fix)
    messages = _structure(nodes)
    variables = [n.name for n in nodes.values() if n.op in VARIABLE_OPS]
    if variables:
        messages.append(
            f"{what} is not frozen: it still holds {len(variables)} variable node(s), first "
            f"`{variables[0]}`; the car needs weights as constants"
        )
    problems = _problems(path, messages, fix)
    if metadata is None:
        return problems
    output = network.output_node(metadata)
    io_messages = _inputs_and_output(nodes, metadata, what)
    weights = _weights(nodes, metadata, what) if output in nodes else []
    problems += _problems(path, io_messages + weights, fix)
    if output in nodes:
        consumed = {input_node(i) for n in nodes.values() for i in n.inputs}
        sinks = sorted(
            n for n in nodes if n not in consumed and n != output and nodes[n].op not in ("NoOp", "Const")
        )
        if sinks:
            problems.append(
                warning(
                    Code.MODEL_VALIDATION_SERVICE_ERROR,
                    path,
                    f"{path}: {what} has {len(sinks)} output(s) besides `{output}`, first `{sinks[0]}`; "
                    "the car "
                    "takes the graph's first output, so it may read the wrong one",
                    fix,
                )
            )
    return problems


@dataclass
class MetaSummary:
    problems: list[Problem]
    variables: dict[str, tuple[int, ...] | None]


def check_meta_graph(
    data: bytes,
    metadata: ModelMetadata | None,
    path: str,
    checkpoint_tensors: dict[str, tuple[int, ...]] | None = None,
) -> list[Problem]:
    """A `.meta` must parse, use the V2 saver, define every checkpoint tensor with the same shape
    (it is a superset: optimizer slots, target networks...), and hold the inputs and output."""
    fix = (
        "Restore the .meta written with this checkpoint (the three files .index, .meta, .data-* of one "
        "checkpoint belong together)."
    )
    what = "the checkpoint's graph (.meta)"
    try:
        meta = protos.parse(protos.READ.MetaGraphDef, data)
        nodes = nodes_of(meta.graph_def)
    except (protos.ProtoError, GraphError) as exc:
        return _problems(path, [f"{what} is not a valid MetaGraphDef ({len(data)} bytes): {exc}"], fix)
    if not nodes:
        return _problems(path, [f"{what} has no graph nodes ({len(data)} bytes)"], fix)
    messages = _structure(nodes)
    if meta.HasField("saver_def") and meta.saver_def.version == 1:
        messages.append(
            f"{what} declares a V1 saver; DeepRacer checkpoints use the V2 format (.index + .data)"
        )
    if checkpoint_tensors is not None:
        missing = []
        for name, shape in checkpoint_tensors.items():
            node = nodes.get(name)
            if node is None or node.op not in VARIABLE_OPS:
                missing.append(name)
                continue
            dims = node.attr_shape("shape")
            if dims is not None and dims != shape:
                messages.append(
                    f"{what}: variable `{name}` has shape {_fmt(dims)} but the checkpoint's "
                    f"tensor has {_fmt(shape)}"
                )
        if missing:
            messages.append(
                f"{what} defines no variable for {len(missing)} checkpoint tensor(s), first "
                f"`{missing[0]}`: the .meta belongs to another model"
            )
    if metadata is not None:
        messages += _inputs_and_output(nodes, metadata, what)
    return _problems(path, messages, fix)
