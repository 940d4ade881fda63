"""What a DeepRacer network's tensors must be for a model_metadata.json, and the check against them.

Names and shapes come from the DeepRacer simulation app and its patched rl-coach (see
docs/deep-validation.md and the team note on checkpoints): variables live under
`main_level/agent/<wrapper>/online/network_<i>/<part>/...`; clipped PPO has a value network
(`network_0`) and a policy network (`network_1`) under wrapper `main`; SAC has wrappers `policy`,
`q` and `v` with one `network_0` each. Input embedders are scoped by sensor name, built in sorted
order and concatenated before the middleware.

Layers are matched by exact name first, then, where trainers name layers differently (Keras
default names in SAC heads), by scope + leaf (`kernel`/`bias`) + shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from drmodels.rules.metadata import CAMERAS, LIDARS, NETWORKS, ModelMetadata
from drmodels.rules.problems import Code, Problem, error

SHALLOW, STANDARD, DEEP = NETWORKS
IMAGE_HW = (120, 160)
ROOT = "main_level/agent"

# The layer sizes of DeepRacer's networks (simapp sensors/utils.py, agents/utils.py).
# conv specs: (filters, kernel, stride), padding VALID
CAMERA_CONVS: dict[str, list[tuple[int, int, int]]] = {
    SHALLOW: [(32, 8, 4), (64, 4, 2), (64, 3, 1)],
    STANDARD: [(32, 5, 2), (32, 3, 1), (64, 3, 2), (64, 3, 1)],
    DEEP: [(32, 8, 4), (32, 4, 2), (64, 4, 2), (64, 3, 1)],
}
CAMERA_DENSES: dict[str, list[int]] = {SHALLOW: [], STANDARD: [64], DEEP: [512, 512]}
STEREO_CONVS = [(32, 3, 1), (64, 3, 2), (64, 3, 1), (128, 3, 2), (128, 3, 1)]
MIDDLEWARE: dict[str, list[int]] = {SHALLOW: [512], STANDARD: [512], DEEP: [256, 128]}
LIDAR_DENSES = [256, 256]
_IGNORED_EXTRAS = ("/Adam", "beta1_power", "beta2_power", "global_step")


@dataclass(frozen=True)
class Expected:
    name: str
    shape: tuple[int, ...]
    meaning: str
    scope: str
    """Prefix within which a differently named tensor of the same leaf and shape may stand in."""

    @property
    def layer(self) -> str:
        return self.name.rsplit("/", 1)[0] if self.leaf in ("kernel", "bias") else self.name

    @property
    def leaf(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def wrapper(metadata: ModelMetadata) -> str:
    return "policy" if metadata.training_algorithm == "sac" else "main"


def output_node(metadata: ModelMetadata) -> str:
    """The frozen graph's single output (simapp FROZEN_HEAD_OUTPUT_GRAPH_FORMAT_MAPPING)."""
    if metadata.training_algorithm == "sac":
        return f"{ROOT}/policy/online/network_0/sac_policy_head_0/policy"
    return f"{ROOT}/main/online/network_1/ppo_head_0/policy"


def policy_prefix(metadata: ModelMetadata) -> str:
    """Scope of the network whose weights a frozen graph keeps."""
    if metadata.training_algorithm == "sac":
        return f"{ROOT}/policy/online/network_0/"
    return f"{ROOT}/main/online/network_1/"


def sensor_input_shape(sensor: str, metadata: ModelMetadata) -> tuple[int, ...]:
    """Per-sample input shape of a sensor (no batch dimension)."""
    if sensor == "STEREO_CAMERAS":
        return (*IMAGE_HW, 2)
    if sensor in CAMERAS:
        return (*IMAGE_HW, 1)
    if sensor == "LIDAR":
        return (64,)
    if sensor == "SECTOR_LIDAR":
        return (metadata.lidar_config.num_sectors,)
    if sensor == "DISCRETIZED_SECTOR_LIDAR":
        return (metadata.lidar_config.num_sectors * metadata.lidar_config.num_values_per_sector,)
    return ()


def input_placeholders(metadata: ModelMetadata) -> dict[str, tuple[int, ...]]:
    """Input placeholder name -> per-sample shape, for every sensor of the metadata."""
    base = f"{ROOT}/{wrapper(metadata)}/online/network_0"
    return {f"{base}/{s}/{s}": sensor_input_shape(s, metadata) for s in metadata.sensors}


def _conv_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


def _embedder(prefix: str, sensor: str, metadata: ModelMetadata) -> tuple[list[Expected], int]:
    scope = f"{prefix}/{sensor}/"
    out: list[Expected] = []
    network = metadata.neural_network
    if sensor in CAMERAS:
        channels = 2 if sensor == "STEREO_CAMERAS" else 1
        if sensor == "observation":
            network = SHALLOW  # simapp v1 models: the shallow camera embedder whatever the network
        convs = CAMERA_CONVS.get(network, CAMERA_CONVS[SHALLOW])
        denses = CAMERA_DENSES.get(network, [])
        if sensor == "STEREO_CAMERAS" and network != SHALLOW:
            convs, denses = STEREO_CONVS, []
        h, w, c = *IMAGE_HW, channels
        index = 0
        for n, (filters, kernel, stride) in enumerate(convs):
            what = (
                f"{sensor} embedder conv {n + 1} of {len(convs)} "
                f"({network}: {filters} filters, {kernel}x{kernel})"
            )
            out.append(Expected(f"{scope}Conv2d_{index}/kernel", (kernel, kernel, c, filters), what, scope))
            out.append(Expected(f"{scope}Conv2d_{index}/bias", (filters,), what, scope))
            h, w, c = _conv_out(h, kernel, stride), _conv_out(w, kernel, stride), filters
            index += 2
        width = h * w * c
    else:
        width = sensor_input_shape(sensor, metadata)[0]
        denses = LIDAR_DENSES
        index = 0
    for units in denses:
        what = f"{sensor} embedder dense layer ({width} -> {units} units)"
        out.append(Expected(f"{scope}Dense_{index}/kernel", (width, units), what, scope))
        out.append(Expected(f"{scope}Dense_{index}/bias", (units,), what, scope))
        width = units
        index += 2
    return out, width


def _dense(scope_name: str, fallback: str, inputs: int, units: int, what: str) -> list[Expected]:
    return [
        Expected(f"{scope_name}/kernel", (inputs, units), what, fallback),
        Expected(f"{scope_name}/bias", (units,), what, fallback),
    ]


def _network_body(prefix: str, metadata: ModelMetadata, middleware: bool) -> tuple[list[Expected], int, int]:
    """Embedders (+ middleware) of one network; returns tensors, head input width, flatten width."""
    out: list[Expected] = []
    widths = []
    for sensor in sorted(metadata.sensors):
        tensors, width = _embedder(prefix, sensor, metadata)
        out.extend(tensors)
        widths.append((sensor, width))
    total = sum(w for _, w in widths)
    out.append(
        Expected(
            f"{prefix}/gradients_from_head_0-0_rescalers", (), "gradient rescaler (scalar)", f"{prefix}/"
        )
    )
    if not middleware:
        return out, total, total
    concat = " + ".join(f"{s} {w}" for s, w in widths)
    width = total
    for n, units in enumerate(MIDDLEWARE.get(metadata.neural_network, [512])):
        what = (
            f"middleware layer {n + 1} ({metadata.neural_network}: {units} units; input = "
            f"{concat if n == 0 else width} = {width})"
        )
        out.extend(
            _dense(
                f"{prefix}/middleware_fc_embedder/Dense_{2 * n}",
                f"{prefix}/middleware_fc_embedder/",
                width,
                units,
                what,
            )
        )
        width = units
    return out, width, total


def expected_tensors(metadata: ModelMetadata) -> list[Expected]:
    """Every trainable tensor a DeepRacer checkpoint of this model holds, in no particular order."""
    if metadata.training_algorithm == "sac":
        return _sac(metadata)
    return _ppo(metadata)


def _ppo(metadata: ModelMetadata) -> list[Expected]:
    base = f"{ROOT}/main/online"
    out: list[Expected] = []
    value, vw, _ = _network_body(f"{base}/network_0", metadata, True)
    out.extend(value)
    out.extend(
        _dense(
            f"{base}/network_0/v_values_head_0/output",
            f"{base}/network_0/v_values_head_0/",
            vw,
            1,
            "value head (1 output)",
        )
    )
    policy, pw, _ = _network_body(f"{base}/network_1", metadata, True)
    out.extend(policy)
    head = f"{base}/network_1/ppo_head_0"
    if metadata.is_continuous:
        what = "continuous PPO policy head (2 outputs: steering, speed)"
        out.extend(_dense(f"{head}/policy_mean", f"{head}/", pw, 2, what))
        out.append(Expected(f"{head}/policy_log_std", (1, 2), what, f"{head}/"))
    else:
        n = metadata.action_count
        what = f"discrete policy head: one output per action, model_metadata.json lists {n} actions"
        out.extend(_dense(f"{head}/policy_fc", f"{head}/", pw, n, what))
    return out


def _sac(metadata: ModelMetadata) -> list[Expected]:
    out: list[Expected] = []
    p = f"{ROOT}/policy/online/network_0"
    body, pw, _ = _network_body(p, metadata, True)
    out.extend(body)
    head = f"{p}/sac_policy_head_0"
    out.extend(_dense(f"{head}/dense", f"{head}/", pw, 256, "SAC policy head hidden layer (256 units)"))
    out.extend(_dense(f"{head}/policy_mean", f"{head}/", 256, 2, "SAC policy mean (2 actions)"))
    out.extend(_dense(f"{head}/dense_1", f"{head}/", 256, 2, "SAC policy log std (2 actions)"))
    q = f"{ROOT}/q/online/network_0"
    body, _, flat = _network_body(q, metadata, False)
    out.extend(body)
    for k in (1, 2):
        qh = f"{q}/q_values_head_0/q{k}_head"
        what = f"SAC Q head {k} (input = embedder output {flat} + 2 actions)"
        out.extend(_dense(f"{qh}/dense", f"{q}/q_values_head_0/", flat + 2, 256, what))
        out.extend(_dense(f"{qh}/dense_1", f"{q}/q_values_head_0/", 256, 256, what))
        out.extend(_dense(f"{qh}/q{k}_output", f"{q}/q_values_head_0/", 256, 1, what))
    v = f"{ROOT}/v/online/network_0"
    body, vw, _ = _network_body(v, metadata, True)
    out.extend(body)
    out.extend(
        _dense(f"{v}/v_values_head_0/output", f"{v}/v_values_head_0/", vw, 1, "SAC value head (1 output)")
    )
    return out


# --- matching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    layer: str
    message: str


def _fmt(shape: Iterable[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def match(
    expected: list[Expected],
    actual: Mapping[str, tuple[int, ...]],
    *,
    report_extras: bool,
    optional: Iterable[str] = (),
) -> list[Mismatch]:
    """Compare expected tensors with actual ones (name -> shape); one Mismatch per layer at fault."""
    optional_set = set(optional)
    unmatched = dict(actual)
    found: dict[str, tuple[int, ...] | None] = {}
    renamed: dict[str, str] = {}
    for exp in expected:
        if exp.name in unmatched:
            found[exp.name] = unmatched.pop(exp.name)
            continue
        candidates = sorted(
            n
            for n, s in unmatched.items()
            if n.startswith(exp.scope) and n.rsplit("/", 1)[-1] == exp.leaf and s == exp.shape
        )
        if candidates:
            renamed[exp.name] = candidates[0]
            found[exp.name] = unmatched.pop(candidates[0])
        else:
            found[exp.name] = None
    by_layer: dict[str, list[Expected]] = {}
    for exp in expected:
        by_layer.setdefault(exp.layer, []).append(exp)
    out: list[Mismatch] = []
    for layer, exps in by_layer.items():
        bad = [
            e
            for e in exps
            if found[e.name] != e.shape and not (found[e.name] is None and e.name in optional_set)
        ]
        if not bad:
            continue
        missing = [e for e in bad if found[e.name] is None]
        if len(missing) == len(exps):
            shapes = ", ".join(f"{e.leaf} {_fmt(e.shape)}" for e in exps)
            out.append(Mismatch(layer, f"`{layer}` is missing: expected {shapes} ({exps[0].meaning})"))
            continue
        exp_text = ", ".join(f"{e.leaf} {_fmt(e.shape)}" for e in exps)
        got = []
        for e in exps:
            shape = found[e.name]
            name = renamed.get(e.name, e.name)
            label = e.leaf if name == e.name else f"`{name}`"
            got.append(f"{label} {'missing' if shape is None else _fmt(shape)}")
        out.append(
            Mismatch(layer, f"`{layer}`: expected {exp_text} ({exps[0].meaning}); found {', '.join(got)}")
        )
    if report_extras:
        for name, shape in sorted(unmatched.items()):
            if any(mark in name for mark in _IGNORED_EXTRAS) or "/target/" in name:
                continue
            out.append(
                Mismatch(
                    name, f"`{name}` {_fmt(shape)} is not part of the network model_metadata.json describes"
                )
            )
    return out


# --- what a checkpoint itself says ---------------------------------------------------------------


def algorithm_of(names: Iterable[str]) -> str | None:
    names = list(names)
    if any(n.startswith(f"{ROOT}/main/") for n in names):
        return "clipped_ppo"
    if any(n.startswith(f"{ROOT}/policy/") for n in names):
        return "sac"
    return None


def sensors_of(names: Iterable[str], algorithm: str) -> tuple[str, ...]:
    base = f"{ROOT}/{'policy' if algorithm == 'sac' else 'main'}/online/network_0/"
    found = set()
    for n in names:
        if n.startswith(base):
            part = n[len(base) :].split("/", 1)[0]
            if part in CAMERAS or part in LIDARS:
                found.add(part)
    return tuple(sorted(found))


def action_type_of(names: Iterable[str]) -> str | None:
    names = list(names)
    if any("/ppo_head_0/policy_fc/" in n for n in names):
        return "discrete"
    if any("/ppo_head_0/policy_mean/" in n or "/sac_policy_head_0/" in n for n in names):
        return "continuous"
    return None


def _describe_md(metadata: ModelMetadata) -> str:
    space = "continuous" if metadata.is_continuous else f"discrete, {metadata.action_count} actions"
    return (
        f"{metadata.training_algorithm}, {metadata.neural_network}, sensors {list(metadata.sensors)}, {space}"
    )


MAX_DETAILS = 12


def check_tensors(
    metadata: ModelMetadata, tensors: Mapping[str, tuple[int, ...]], path: str
) -> list[Problem]:
    """Every way a checkpoint's tensors (name -> shape) disagree with model_metadata.json."""
    fix = (
        "Use the model_metadata.json the model was trained with (the checkpoint's network must match "
        "its sensors, neural_network, training_algorithm and action space), or restore the checkpoint."
    )
    names = list(tensors)
    problems: list[Problem] = []

    def refuse(text: str) -> None:
        problems.append(error(Code.MODEL_VALIDATION_SERVICE_ERROR, path, f"{path}: {text}", fix))

    algorithm = algorithm_of(names)
    if algorithm is None:
        example = f" (first: `{names[0]}`)" if names else ""
        refuse(
            f"holds {len(names)} tensors{example} but none under `{ROOT}/main/` (clipped PPO) or "
            f"`{ROOT}/policy/` (SAC): not a DeepRacer checkpoint"
        )
        return problems
    if algorithm != metadata.training_algorithm:
        scope = "policy" if algorithm == "sac" else "main"
        refuse(
            f"the checkpoint's networks are {algorithm} (tensors under `{ROOT}/{scope}/`) "
            f"but model_metadata.json says training_algorithm {metadata.training_algorithm}"
        )
        return problems
    sensors = sensors_of(names, algorithm)
    if set(sensors) != set(metadata.sensors):
        refuse(
            f"the checkpoint has input embedders for sensors {list(sensors)} "
            f"(scopes `{ROOT}/{wrapper(metadata)}/online/network_0/<SENSOR>/`) but model_metadata.json "
            f"lists {list(metadata.sensors)}"
        )
    kind = action_type_of(names)
    if algorithm == "clipped_ppo" and kind is not None and kind != metadata.action_space_type:
        head = "policy_fc (discrete)" if kind == "discrete" else "policy_mean/policy_log_std (continuous)"
        refuse(
            f"the checkpoint's policy head is `ppo_head_0/{head}` but model_metadata.json says "
            f"action_space_type {metadata.action_space_type}"
        )
        # the head's shape cannot be judged against an action space of the other kind
        metadata = replace(
            metadata, action_space_type=kind, discrete_actions=metadata.discrete_actions or ((0, 0),)
        )
        head_known = False
    else:
        head_known = True
    mismatches = [
        m
        for m in match(expected_tensors(metadata), tensors, report_extras=True)
        if head_known or "/ppo_head_0" not in m.layer
    ]
    if not mismatches:
        return problems
    if not problems and metadata.sensors and set(sensors) == set(metadata.sensors):
        fits = [
            n
            for n in NETWORKS
            if n != metadata.neural_network
            and not match(expected_tensors(replace(metadata, neural_network=n)), tensors, report_extras=True)
        ]
        if fits:
            refuse(
                f"the checkpoint's layer shapes are those of neural_network {fits[0]} but "
                f"model_metadata.json says {metadata.neural_network}"
            )
    for m in mismatches[:MAX_DETAILS]:
        refuse(m.message)
    if len(mismatches) > MAX_DETAILS:
        refuse(f"and {len(mismatches) - MAX_DETAILS} more layer(s) that do not fit {_describe_md(metadata)}")
    return problems
