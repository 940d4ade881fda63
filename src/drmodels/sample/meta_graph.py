"""The `.meta` of a checkpoint: the training graph as tf.compat.v1 `Saver.save` writes it.

Holds every network the agent builds (online and target copies), each weight as a `VariableV2`
with its initializer, `/Assign` and `/read`; `global_step`; Adam's slot variables (`.../Adam`,
`.../Adam_1`, under the doubled scope real DeepRacer graphs show) and `beta1_power`/`beta2_power`;
and a V2 Saver over the online networks' trainable variables only (DeepRacer's patched saver),
with the `variables`, `trainable_variables` and `global_step` collections. Compared with a real
DeepRacer `.meta` (TF 1.15, continuous PPO), every variable and every node name written here is
also there; losses, gradients, Adam's update ops and Coach's feed placeholders are left out, and
head kernels start from zeros where Coach precomputes normalized columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drmodels.formats import protobuf
from drmodels.formats.graph_writer import (
    DT_FLOAT,
    DT_INT32,
    DT_INT64,
    DT_STRING,
    GraphBuilder,
    a_bool,
    a_int,
    a_shape,
    a_str,
    a_type,
    a_types,
    tensor_proto,
)
from drmodels.rules.deep.network import ROOT, wrapper
from drmodels.rules.metadata import ModelMetadata
from drmodels.sample.networks import NetworkWriter
from drmodels.sample.weights import value_range

TENSORFLOW_VERSION = "1.15.4"
SAVER_V2 = 2
ADAM_BETAS = (0.9, 0.999)
_HEAD_KERNELS = ("/v_values_head_0/output/kernel", "/ppo_head_0/policy_mean/kernel")


@dataclass(frozen=True)
class Variable:
    name: str
    shape: tuple[int, ...]
    dtype: int
    trainable: bool
    initial_value: str

    @property
    def saved(self) -> bool:
        """In the checkpoint: DeepRacer saves trainable variables of the agent, never the target."""
        return self.trainable and "agent" in self.name and "/target/" not in self.name


class _Variables:
    """A `Weights` that defines variables in the training graph and records them."""

    def __init__(self, graph: GraphBuilder) -> None:
        self.g = graph
        self.records: list[Variable] = []

    def _initializer(self, name: str, shape: tuple[int, ...]) -> str:
        g = self.g
        leaf = name.rsplit("/", 1)[-1]
        if name.endswith(_HEAD_KERNELS):
            # Coach's normalized-columns initializer: a precomputed Const (zeros here)
            return g.const_float(f"{name}/Initializer/Const", 0.0, shape)
        if leaf == "kernel":
            scope = f"{name}/Initializer/random_uniform"
            limit = value_range(name, shape)
            dims = g.const_int32(f"{scope}/shape", shape)
            low = g.const_float(f"{scope}/min", -limit)
            high = g.const_float(f"{scope}/max", limit)
            draw = g.add(
                f"{scope}/RandomUniform",
                "RandomUniform",
                [dims],
                T=a_type(DT_INT32),
                dtype=a_type(DT_FLOAT),
                seed=a_int(0),
                seed2=a_int(0),
            )
            spread = g.binary("Mul", f"{scope}/mul", draw, g.binary("Sub", f"{scope}/sub", high, low))
            return g.binary("Add", scope, spread, low)
        if leaf.endswith("_rescalers"):
            return g.const_float(f"{name}/initial_value", 1.0, shape)
        if leaf == "policy_log_std":
            return g.const_float(f"{name}/initial_value", 0.0, shape)
        return g.const_float(f"{name}/Initializer/zeros", 0.0, shape)

    def define(
        self,
        name: str,
        shape: tuple[int, ...],
        initial: str,
        *,
        dtype: int = DT_FLOAT,
        trainable: bool = True,
    ) -> str:
        g = self.g
        g.add(
            name,
            "VariableV2",
            container=a_str(""),
            dtype=a_type(dtype),
            shape=a_shape(shape),
            shared_name=a_str(""),
        )
        g.add(
            f"{name}/Assign",
            "Assign",
            [name, initial],
            T=a_type(dtype),
            use_locking=a_bool(True),
            validate_shape=a_bool(True),
        )
        g.unary("Identity", f"{name}/read", name, dtype)
        self.records.append(Variable(name, shape, dtype, trainable, initial))
        return f"{name}/read"

    def __call__(self, name: str, shape: tuple[int, ...]) -> str:
        return self.define(name, shape, self._initializer(name, shape))


def _networks(graph: GraphBuilder, metadata: ModelMetadata, variables: _Variables) -> None:
    net = NetworkWriter(graph, metadata, variables)
    if metadata.training_algorithm == "sac":
        net.sac_policy(training=True)
        net.sac_q()
        net.sac_v("online")
        net.sac_v("target")
    else:
        net.ppo("online", value_network=True, training=True)
        net.ppo("target", value_network=True, training=True)


def _zeros(graph: GraphBuilder, name: str, shape: tuple[int, ...]) -> str:
    """`tf.zeros(shape)`: a Const below 1000 elements, else a Fill (TF's `_constant_if_small`)."""
    if math.prod(shape) < 1000:
        return graph.const_float(name, 0.0, shape)
    dims = graph.const_int32(f"{name}/shape_as_tensor", shape)
    value = graph.const_float(f"{name}/Const", 0.0)
    return graph.add(name, "Fill", [dims, value], T=a_type(DT_FLOAT), index_type=a_type(DT_INT32))


def _optimizer(graph: GraphBuilder, metadata: ModelMetadata, variables: _Variables) -> None:
    trained = [v for v in variables.records if v.saved]
    step = f"{ROOT}/{wrapper(metadata)}/online/global_step"
    zero = graph.const(f"{step}/Initializer/zeros", tensor_proto(DT_INT64, (), int64_val=[0]))
    variables.define(step, (), zero, dtype=DT_INT64, trainable=False)
    scopes = sorted({v.name.split("/online/", 1)[0] + "/online" for v in trained})
    for scope in scopes:
        for k, beta in enumerate(ADAM_BETAS, start=1):
            name = f"{scope}/beta{k}_power"
            variables.define(name, (), graph.const_float(f"{name}/initial_value", beta), trainable=False)
        for v in trained:
            if v.name.startswith(scope + "/"):
                for slot in ("Adam", "Adam_1"):
                    name = f"{scope}/{v.name}/{slot}"
                    init = _zeros(graph, f"{name}/Initializer/zeros", v.shape)
                    variables.define(name, v.shape, init, trainable=False)


def _saver(graph: GraphBuilder, saved: list[Variable]) -> None:
    g = graph
    names = [v.name for v in saved]
    filename = g.add(
        "save/filename",
        "PlaceholderWithDefault",
        [g.const_strings("save/filename/input", ["model"], dims=())],
        dtype=a_type(DT_STRING),
        shape=a_shape(()),
    )
    path = g.add(
        "save/Const", "PlaceholderWithDefault", [filename], dtype=a_type(DT_STRING), shape=a_shape(())
    )
    dtypes = a_types(v.dtype for v in saved)
    save = g.add(
        "save/SaveV2",
        "SaveV2",
        [
            path,
            g.const_strings("save/SaveV2/tensor_names", names),
            g.const_strings("save/SaveV2/shape_and_slices", [""] * len(names)),
            *names,
        ],
        dtypes=dtypes,
    )
    g.add("save/control_dependency", "Identity", [path, f"^{save}"], T=a_type(DT_STRING))
    restore = g.add(
        "save/RestoreV2",
        "RestoreV2",
        [
            path,
            g.const_strings("save/RestoreV2/tensor_names", names),
            g.const_strings("save/RestoreV2/shape_and_slices", [""] * len(names)),
        ],
        dtypes=dtypes,
    )
    assigns = []
    for k, v in enumerate(saved):
        assigns.append(
            g.add(
                "save/Assign" if k == 0 else f"save/Assign_{k}",
                "Assign",
                [v.name, restore if k == 0 else f"{restore}:{k}"],
                T=a_type(v.dtype),
                use_locking=a_bool(True),
                validate_shape=a_bool(True),
            )
        )
    g.no_op("save/restore_all", assigns)


def _variable_def(v: Variable) -> bytes:
    proto = protobuf.WRITE.VariableDef(
        variable_name=f"{v.name}:0",
        initializer_name=f"{v.name}/Assign",
        snapshot_name=f"{v.name}/read:0",
        initial_value_name=f"{v.initial_value}:0",
        trainable=v.trainable,
    )
    return protobuf.serialize(proto)


def meta_graph(metadata: ModelMetadata) -> tuple[bytes, list[Variable]]:
    """The serialized MetaGraphDef and the variables the checkpoint holds (sorted by name)."""
    graph = GraphBuilder()
    variables = _Variables(graph)
    _networks(graph, metadata, variables)
    _optimizer(graph, metadata, variables)
    saved = sorted((v for v in variables.records if v.saved), key=lambda v: v.name.encode())
    _saver(graph, saved)
    meta = protobuf.WRITE.MetaGraphDef()
    meta.meta_info_def.tensorflow_version = TENSORFLOW_VERSION
    meta.graph_def.CopyFrom(graph.graph_def())
    meta.saver_def.CopyFrom(
        protobuf.WRITE.SaverDef(
            filename_tensor_name="save/Const:0",
            save_tensor_name="save/control_dependency:0",
            restore_op_name="save/restore_all",
            max_to_keep=5,
            keep_checkpoint_every_n_hours=10000.0,
            version=SAVER_V2,
        )
    )
    collections = {
        "variables": variables.records,
        "trainable_variables": [v for v in variables.records if v.trainable],
        "global_step": [v for v in variables.records if v.name.endswith("/global_step")],
    }
    for key, members in collections.items():
        meta.collection_def[key].bytes_list.value.extend(_variable_def(v) for v in members)
    return protobuf.serialize(meta), saved
