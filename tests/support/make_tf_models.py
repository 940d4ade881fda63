"""Build DeepRacer-shaped models with real TensorFlow (run as a subprocess; never imported by tests).

usage: python make_tf_models.py OUT_DIR [--only NAME ...]

For each model writes OUT_DIR/<name>/ with the layout of a trained model's S3 prefix:
  model/<ckpt>.index, .meta, .data-00000-of-00001   (tf.compat.v1 Saver, V2, trainable vars of 'agent')
  model/model_0.pb                                  (convert_variables_to_constants, one output node)
  model/model_metadata.json, model/.coach_checkpoint, model/deepracer_checkpoints.json
  model.tar.gz                                      (agent/model.pb + model_metadata.json, like SageMaker)
and OUT_DIR/manifest.json: what TensorFlow itself reports for every checkpoint tensor (name, dtype,
shape, sha256 of its bytes) and the frozen graph's nodes, for the tests to compare against.
Names and shapes follow the team note on DeepRacer checkpoints (sections 2-6).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
tf1.disable_eager_execution()

CHECKPOINT = "0_Step-100.ckpt"
ROOT = "main_level/agent"

SHALLOW = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
CONVS = {SHALLOW: [(32, 8, 4), (64, 4, 2), (64, 3, 1)]}

MODELS: dict[str, dict[str, Any]] = {
    "ppo_discrete": {
        "metadata": {
            "action_space": [
                {"steering_angle": a, "speed": s, "index": i}
                for i, (a, s) in enumerate([(-30, 1.0), (-15, 2.0), (0, 3.0), (15, 2.0), (30, 1.0)])
            ],
            "sensor": ["FRONT_FACING_CAMERA"],
            "neural_network": SHALLOW,
            "training_algorithm": "clipped_ppo",
            "action_space_type": "discrete",
            "version": "5",
        },
    },
    "ppo_continuous_stereo_lidar": {
        "metadata": {
            "action_space": {
                "steering_angle": {"low": -30.0, "high": 30.0},
                "speed": {"low": 0.5, "high": 4.0},
            },
            "sensor": ["STEREO_CAMERAS", "LIDAR"],
            "neural_network": SHALLOW,
            "training_algorithm": "clipped_ppo",
            "action_space_type": "continuous",
            "version": "5",
        },
    },
    "sac": {
        "metadata": {
            "action_space": {
                "steering_angle": {"low": -30.0, "high": 30.0},
                "speed": {"low": 0.5, "high": 4.0},
            },
            "sensor": ["FRONT_FACING_CAMERA"],
            "neural_network": SHALLOW,
            "training_algorithm": "sac",
            "action_space_type": "continuous",
            "version": "5",
        },
    },
}

_INIT = tf1.random_normal_initializer(stddev=0.05, seed=7)


def _var(name: str, shape: list[int], init: Any = _INIT) -> Any:
    return tf1.get_variable(name, shape, dtype=tf.float32, initializer=init, use_resource=False)


def _dense(x: Any, name: str, units: int, relu: bool = True) -> Any:
    with tf1.variable_scope(name):
        kernel = _var("kernel", [int(x.shape[-1]), units])
        bias = _var("bias", [units], tf1.zeros_initializer() if units > 64 else _INIT)
        y = tf.nn.bias_add(tf.matmul(x, kernel), bias)
    return tf.nn.relu(y) if relu else y


def _inputs(sensors: list[str]) -> dict[str, Any]:
    shapes = {"STEREO_CAMERAS": [None, 120, 160, 2], "LIDAR": [None, 64], "SECTOR_LIDAR": [None, 8]}
    out = {}
    for s in sensors:
        with tf1.variable_scope(s):
            out[s] = tf1.placeholder(tf.float32, shapes.get(s, [None, 120, 160, 1]), name=s)
    return out


def _embedders(inputs: dict[str, Any]) -> Any:
    outs = []
    for sensor in sorted(inputs):
        x = inputs[sensor]
        with tf1.variable_scope(sensor):
            if len(x.shape) == 4:
                x = x / 255.0
                for n, (filters, k, stride) in enumerate(CONVS[SHALLOW]):
                    with tf1.variable_scope(f"Conv2d_{2 * n}"):
                        kernel = _var("kernel", [k, k, int(x.shape[-1]), filters])
                        bias = _var("bias", [filters])
                        x = tf.nn.relu(
                            tf.nn.bias_add(
                                tf.nn.conv2d(x, kernel, [1, stride, stride, 1], "VALID", name="Conv2D"), bias
                            )
                        )
                x = tf.reshape(x, [-1, int(np.prod(x.shape[1:]))], name="flatten")
            else:
                x = _dense(x, "Dense_0", 256)
                x = _dense(x, "Dense_2", 256)
        outs.append(x)
    return outs[0] if len(outs) == 1 else tf.concat(outs, axis=-1, name="merger")


def _body(inputs: dict[str, Any], middleware: bool) -> Any:
    x = _embedders(inputs)
    if middleware:
        with tf1.variable_scope("middleware_fc_embedder"):
            x = _dense(x, "Dense_0", 512)
    r = _var("gradients_from_head_0-0_rescalers", [], tf1.ones_initializer())
    return r * x + (1.0 - r) * tf.stop_gradient(x)


def build(name: str, spec: dict[str, Any], out_dir: str) -> dict[str, Any]:
    md = spec["metadata"]
    sensors = md["sensor"]
    sac = md["training_algorithm"] == "sac"
    graph = tf.Graph()
    with graph.as_default():
        if sac:
            with tf1.variable_scope(f"{ROOT}/policy/online/network_0"):
                inputs = _inputs(sensors)
                h = _body(inputs, True)
                with tf1.variable_scope("sac_policy_head_0"):
                    h = _dense(h, "dense", 256)
                    mean = _dense(h, "policy_mean", 2, relu=False)
                    log_std = tf.clip_by_value(_dense(h, "dense_1", 2, relu=False), -20.0, 2.0)
                    tf.identity(mean, name="policy")
                    del log_std
            output = f"{ROOT}/policy/online/network_0/sac_policy_head_0/policy"
            with tf1.variable_scope(f"{ROOT}/q/online/network_0"):
                q_inputs = _inputs(sensors)
                actions = tf1.placeholder(tf.float32, [None, 2], name="output_0_actions")
                h = tf.concat([_body(q_inputs, False), actions], axis=-1)
                with tf1.variable_scope("q_values_head_0"):
                    for k in (1, 2):
                        with tf1.variable_scope(f"q{k}_head"):
                            x = _dense(_dense(h, "dense", 256), "dense_1", 256)
                            _dense(x, f"q{k}_output", 1, relu=False)
            with tf1.variable_scope(f"{ROOT}/v/online/network_0"):
                h = _body(_inputs(sensors), True)
                with tf1.variable_scope("v_values_head_0"):
                    _dense(h, "output", 1, relu=False)
            with tf1.variable_scope(f"{ROOT}/policy/online"):
                tf1.train.get_or_create_global_step()
        else:
            base = f"{ROOT}/main/online"
            with tf1.variable_scope(f"{base}/network_0"):
                inputs = _inputs(sensors)
                h = _body(inputs, True)
                with tf1.variable_scope("v_values_head_0"):
                    _dense(h, "output", 1, relu=False)
            with tf1.variable_scope(f"{base}/network_1"):
                h = _body(inputs, True)
                with tf1.variable_scope("ppo_head_0"):
                    if md["action_space_type"] == "discrete":
                        logits = _dense(h, "policy_fc", len(md["action_space"]), relu=False)
                        tf.nn.softmax(logits, name="policy")
                    else:
                        mean = _dense(h, "policy_mean", 2, relu=False)
                        _var("policy_log_std", [1, 2], tf1.zeros_initializer())
                        tf.identity(mean, name="policy")
            output = f"{base}/network_1/ppo_head_0/policy"
            with tf1.variable_scope(base):
                tf1.train.get_or_create_global_step()
        saved = [v for v in tf1.trainable_variables() if "agent" in v.name and "/target" not in v.name]
        saver = tf1.train.Saver(var_list=saved, max_to_keep=None)
        model_dir = os.path.join(out_dir, name, "model")
        os.makedirs(model_dir, exist_ok=True)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            prefix = saver.save(sess, os.path.join(model_dir, CHECKPOINT))
            frozen = tf1.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), [output])
    graph_bytes = frozen.SerializeToString()
    with open(os.path.join(model_dir, "model_0.pb"), "wb") as f:
        f.write(graph_bytes)
    os.remove(os.path.join(model_dir, "checkpoint"))
    metadata_bytes = json.dumps(md, indent=2).encode()
    with open(os.path.join(model_dir, "model_metadata.json"), "wb") as f:
        f.write(metadata_bytes)
    with open(os.path.join(model_dir, ".coach_checkpoint"), "w") as f:
        f.write(CHECKPOINT)
    with open(os.path.join(model_dir, "deepracer_checkpoints.json"), "w") as f:
        entry = {"name": CHECKPOINT, "avg_eval_metric": 50.0, "time_stamp": 1.0}
        json.dump({"best_checkpoint": entry, "last_checkpoint": entry}, f)
    with tarfile.open(os.path.join(out_dir, name, "model.tar.gz"), "w:gz") as tar:
        for member, data in (("agent/model.pb", graph_bytes), ("model_metadata.json", metadata_bytes)):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    tensors = [
        {
            "name": n,
            "dtype": dtypes[n].name,
            "shape": list(shapes[n]),
            "sha256": hashlib.sha256(np.ascontiguousarray(reader.get_tensor(n)).tobytes()).hexdigest(),
        }
        for n in sorted(shapes)
    ]
    nodes = {n.name: n.op for n in frozen.node}
    return {
        "checkpoint": CHECKPOINT,
        "metadata": md,
        "tensors": tensors,
        "output": output,
        "graph_nodes": nodes,
    }


def main(argv: list[str]) -> int:
    out_dir = argv[0]
    only = argv[argv.index("--only") + 1 :] if "--only" in argv else list(MODELS)
    manifest = {name: build(name, MODELS[name], out_dir) for name in only}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
