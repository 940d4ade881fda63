"""The ops of DeepRacer's networks (Coach + DeepRacer's patch), written into a GraphBuilder.

Layout from the team note on checkpoints (sections 2-5), checked against real DeepRacer `.meta`
files: `main_level/agent/<wrapper>/<copy>/network_<i>/...`; camera input divided by 255 inside
the graph; `Conv2d_<even>` layers and `BatchnormActivationDropout_<odd>_activation` ReLUs;
`Flatten/flatten/Reshape`; embedders in sorted sensor order joined by `merger`; the middleware
`middleware_fc_embedder/Dense_<even>`; the gradient rescaler mixing the embedding with its
stop-gradient copy (stacked as a list of one head input, hence the heads' `strided_slice`); then
the heads. Where a weight comes from is up to the caller's `Weights`: variables in the training
graph (`.meta`), constants in a frozen graph (`model_N.pb`).
"""

from __future__ import annotations

from typing import Protocol

from drmodels.formats.graph_writer import GraphBuilder
from drmodels.rules.deep.network import (
    CAMERA_CONVS,
    CAMERA_DENSES,
    IMAGE_HW,
    LIDAR_DENSES,
    MIDDLEWARE,
    ROOT,
    SHALLOW,
    STEREO_CONVS,
    sensor_input_shape,
)
from drmodels.rules.metadata import CAMERAS, ModelMetadata

ACTIONS = 2  # steering, speed (continuous PPO and SAC)
SAC_HIDDEN = 256


class Weights(Protocol):
    def __call__(self, name: str, shape: tuple[int, ...]) -> str:
        """Define the weight `name` of `shape`; return the tensor to read it from."""
        ...


class NetworkWriter:
    """Writes DeepRacer networks for one model_metadata.json into `graph`."""

    def __init__(self, graph: GraphBuilder, metadata: ModelMetadata, weights: Weights) -> None:
        self.g = graph
        self.md = metadata
        self.weights = weights

    # --- building blocks -------------------------------------------------------------------------

    def placeholders(self, network_0: str) -> dict[str, str]:
        return {
            s: self.g.placeholder(f"{network_0}/{s}/{s}", (-1, *sensor_input_shape(s, self.md)))
            for s in sorted(self.md.sensors)
        }

    def dense(self, scope: str, x: str, inputs: int, units: int, activation: str | None) -> str:
        kernel = self.weights(f"{scope}/kernel", (inputs, units))
        bias = self.weights(f"{scope}/bias", (units,))
        y = self.g.bias_add(f"{scope}/BiasAdd", self.g.matmul(f"{scope}/MatMul", x, kernel), bias)
        return self.g.unary("Relu", activation, y) if activation else y

    def embedder(self, prefix: str, sensor: str, x: str) -> tuple[str, int]:
        scope = f"{prefix}/{sensor}"
        g = self.g
        camera = sensor in CAMERAS
        x = g.binary(
            "RealDiv", f"{scope}/truediv", x, g.const_float(f"{scope}/truediv/y", 255.0 if camera else 1.0)
        )
        x = g.binary("Sub", f"{scope}/sub", x, g.const_float(f"{scope}/sub/y", 0.0))
        index = 0
        if camera:
            network = SHALLOW if sensor == "observation" else self.md.neural_network
            convs, denses = CAMERA_CONVS[network], CAMERA_DENSES[network]
            if sensor == "STEREO_CAMERAS" and network != SHALLOW:
                convs, denses = STEREO_CONVS, []
            h, w, c = *IMAGE_HW, sensor_input_shape(sensor, self.md)[-1]
            for filters, size, stride in convs:
                layer = f"{scope}/Conv2d_{index}"
                kernel = self.weights(f"{layer}/kernel", (size, size, c, filters))
                bias = self.weights(f"{layer}/bias", (filters,))
                y = g.bias_add(f"{layer}/BiasAdd", g.conv2d(f"{layer}/Conv2D", x, kernel, stride), bias)
                x = g.unary("Relu", f"{scope}/BatchnormActivationDropout_{index + 1}_activation", y)
                h, w, c = (h - size) // stride + 1, (w - size) // stride + 1, filters
                index += 2
            width = h * w * c
            x = g.reshape(f"{scope}/Flatten/flatten/Reshape", x, (-1, width))
        else:
            width, denses = sensor_input_shape(sensor, self.md)[0], LIDAR_DENSES
        for units in denses:
            activation = f"{scope}/BatchnormActivationDropout_{index + 1}_activation"
            x = self.dense(f"{scope}/Dense_{index}", x, width, units, activation)
            width, index = units, index + 2
        return x, width

    def body(self, prefix: str, inputs: dict[str, str], middleware: bool) -> tuple[str, int]:
        """Embedders (+ middleware) and the gradient rescaler; returns a [1, batch, width] tensor."""
        g = self.g
        parts = [self.embedder(prefix, s, inputs[s]) for s in sorted(inputs)]
        if len(parts) == 1:
            x, width = parts[0]
        else:
            x = g.concat(f"{prefix}/merger", [p for p, _ in parts], axis=-1)
            width = sum(w for _, w in parts)
        if middleware:
            scope = f"{prefix}/middleware_fc_embedder"
            for n, units in enumerate(MIDDLEWARE[self.md.neural_network]):
                activation = f"{scope}/BatchnormActivationDropout_{2 * n + 1}_activation"
                x = self.dense(f"{scope}/Dense_{2 * n}", x, width, units, activation)
                width = units
        rescaler = self.weights(f"{prefix}/gradients_from_head_0-0_rescalers", ())
        one_minus = g.binary("Sub", f"{prefix}/sub", g.const_float(f"{prefix}/sub/x", 1.0), rescaler)
        frozen = g.unary(
            "StopGradient", f"{prefix}/StopGradient", g.pack(f"{prefix}/StopGradient/input", [x])
        )
        kept = g.binary("Mul", f"{prefix}/mul", one_minus, frozen)
        live = g.binary("Mul", f"{prefix}/mul_1", rescaler, g.pack(f"{prefix}/mul_1/y", [x]))
        return g.binary("AddV2", f"{prefix}/add", kept, live), width

    def value_head(self, prefix: str, x: str, width: int) -> str:
        head = f"{prefix}/v_values_head_0"
        return self.dense(f"{head}/output", self.g.first(f"{head}/strided_slice", x), width, 1, None)

    # --- clipped PPO -----------------------------------------------------------------------------

    def ppo(self, copy: str, *, value_network: bool, training: bool) -> str:
        """`main/<copy>`: value network_0 (optional) and policy network_1; returns the policy output."""
        g = self.g
        base = f"{ROOT}/main/{copy}"
        inputs = self.placeholders(f"{base}/network_0")
        if value_network:
            x, width = self.body(f"{base}/network_0", inputs, True)
            self.value_head(f"{base}/network_0", x, width)
        x, width = self.body(f"{base}/network_1", inputs, True)
        head = f"{base}/network_1/ppo_head_0"
        x = g.first(f"{head}/strided_slice", x)
        if not self.md.is_continuous:
            logits = self.dense(f"{head}/policy_fc", x, width, self.md.action_count, None)
            return g.unary("Softmax", f"{head}/policy", logits)
        mean = self.dense(f"{head}/policy_mean", x, width, ACTIONS, None)
        output = g.unary("Identity", f"{head}/policy", mean)
        if training:
            log_std = self.weights(f"{head}/policy_log_std", (1, ACTIONS))
            low = g.binary(
                "Minimum",
                f"{head}/clip_by_value/Minimum",
                log_std,
                g.const_float(f"{head}/clip_by_value/Minimum/y", 2.0),
            )
            clipped = g.binary(
                "Maximum", f"{head}/clip_by_value", low, g.const_float(f"{head}/clip_by_value/y", -20.0)
            )
            g.unary("Exp", f"{head}/Exp", clipped)
        return output

    # --- SAC -------------------------------------------------------------------------------------

    def sac_policy(self, *, training: bool) -> str:
        g = self.g
        prefix = f"{ROOT}/policy/online/network_0"
        x, width = self.body(prefix, self.placeholders(prefix), True)
        head = f"{prefix}/sac_policy_head_0"
        x = g.first(f"{head}/strided_slice", x)
        hidden = self.dense(f"{head}/dense", x, width, SAC_HIDDEN, f"{head}/dense/Relu")
        mean = self.dense(f"{head}/policy_mean", hidden, SAC_HIDDEN, ACTIONS, None)
        output = g.unary("Identity", f"{head}/policy", mean)
        if training:
            log_std = self.dense(f"{head}/dense_1", hidden, SAC_HIDDEN, ACTIONS, None)
            low = g.binary(
                "Minimum",
                f"{head}/clip_by_value/Minimum",
                log_std,
                g.const_float(f"{head}/clip_by_value/Minimum/y", 2.0),
            )
            g.binary("Maximum", f"{head}/clip_by_value", low, g.const_float(f"{head}/clip_by_value/y", -20.0))
        return output

    def sac_q(self) -> None:
        g = self.g
        prefix = f"{ROOT}/q/online/network_0"
        x, width = self.body(prefix, self.placeholders(prefix), False)
        head = f"{prefix}/q_values_head_0"
        actions = g.placeholder(f"{head}/actions", (-1, ACTIONS))
        x = g.concat(f"{head}/concat", [g.first(f"{head}/strided_slice", x), actions], axis=-1)
        for k in (1, 2):
            scope = f"{head}/q{k}_head"
            h = self.dense(f"{scope}/dense", x, width + ACTIONS, SAC_HIDDEN, f"{scope}/dense/Relu")
            h = self.dense(f"{scope}/dense_1", h, SAC_HIDDEN, SAC_HIDDEN, f"{scope}/dense_1/Relu")
            self.dense(f"{scope}/q{k}_output", h, SAC_HIDDEN, 1, None)

    def sac_v(self, copy: str) -> None:
        prefix = f"{ROOT}/v/{copy}/network_0"
        x, width = self.body(prefix, self.placeholders(prefix), True)
        self.value_head(prefix, x, width)
