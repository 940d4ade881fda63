"""The frozen policy graph `model_<N>.pb`, as `convert_variables_to_constants` leaves it.

Only the policy network survives (what the single output depends on): the sensor placeholders
`.../online/network_0/<SENSOR>/<SENSOR>`, each weight a `Const` named like its variable holding
that checkpoint's values (plus the `/read` Identity), and the output
`.../ppo_head_0/policy` (clipped PPO) or `.../sac_policy_head_0/policy` (SAC).
"""

from __future__ import annotations

from collections.abc import Callable

from drmodels.formats import protobuf
from drmodels.formats.graph_writer import DT_FLOAT, GraphBuilder, tensor_proto
from drmodels.rules.metadata import ModelMetadata
from drmodels.sample.networks import NetworkWriter


class _Constants:
    """A `Weights` that stores each weight's values in a Const node."""

    def __init__(self, graph: GraphBuilder, values: Callable[[str, tuple[int, ...]], bytes]) -> None:
        self.g = graph
        self.values = values

    def __call__(self, name: str, shape: tuple[int, ...]) -> str:
        self.g.const(name, tensor_proto(DT_FLOAT, shape, tensor_content=self.values(name, shape)))
        return self.g.unary("Identity", f"{name}/read", name)


def frozen_graph(metadata: ModelMetadata, values: Callable[[str, tuple[int, ...]], bytes]) -> bytes:
    """The serialized GraphDef of the policy network with `values(name, shape)` as its weights."""
    graph = GraphBuilder()
    net = NetworkWriter(graph, metadata, _Constants(graph, values))
    if metadata.training_algorithm == "sac":
        net.sac_policy(training=False)
    else:
        net.ppo("online", value_network=False, training=False)
    return protobuf.serialize(graph.graph_def())
