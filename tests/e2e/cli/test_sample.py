"""`drmodels sample`: the model it writes passes `drmodels check` with deep checks, and TensorFlow reads it.

Three models are written once per module through the real CLI (discrete PPO on the shallow camera
network, the README's default; continuous PPO with STEREO_CAMERAS + LIDAR; SAC) and shared by the
tests. TensorFlow is only ever run in a subprocess (it is a test dependency, never imported here).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drmodels.cli.app import app
from drmodels.formats import bundle, sstable
from drmodels.formats import protobuf as protos
from drmodels.formats.sstable import build_table, short_successor, shortest_separator
from drmodels.rules.deep import network
from drmodels.rules.metadata import parse_model_metadata
from drmodels.sample import SampleOptions
from drmodels.sample.meta_graph import TENSORFLOW_VERSION, meta_graph
from drmodels.sample.model import metadata_for
from drmodels.sample.weights import WeightSource, floats

runner = CliRunner()

MODELS: dict[str, list[str]] = {
    "ppo_discrete": [],
    "ppo_continuous_stereo_lidar": ["--sensor", "STEREO_CAMERAS+LIDAR", "--continuous"],
    "sac": ["--algorithm", "sac"],
}
OUTPUTS = {
    "clipped_ppo": "main_level/agent/main/online/network_1/ppo_head_0/policy",
    "sac": "main_level/agent/policy/online/network_0/sac_policy_head_0/policy",
}
SEED = 2018  # SampleOptions' default
CORPUS = Path("/work/shared/corpus/files")
CORPUS_INDEXES = sorted(CORPUS.rglob("*.ckpt.index")) if CORPUS.exists() else []


def sample(folder: Path, *args: str) -> Any:
    return runner.invoke(app, ["sample", str(folder), *args])


def check_json(folder: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["check", str(folder), "--json"])
    return result.exit_code, json.loads(result.stdout)


def metadata_of(folder: Path) -> Any:
    md, problems = parse_model_metadata(
        "model_metadata.json", (folder / "model/model_metadata.json").read_bytes()
    )
    assert md is not None, problems
    return md


def checkpoint_names(folder: Path) -> list[str]:
    pointers = json.loads((folder / "model/deepracer_checkpoints.json").read_text())
    return [pointers["best_checkpoint"]["name"], pointers["last_checkpoint"]["name"]]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("samples")
    out = {}
    for name, args in MODELS.items():
        result = sample(root / name, *args)
        assert result.exit_code == 0, result.output
        out[name] = root / name
    return out


# --- deep validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_sample_passes_deep_check(models: dict[str, Path], name: str) -> None:
    folder = models[name]
    code, report = check_json(folder)
    assert code == 0, report["problems"]
    assert report["importable"] is True
    assert report["problems"] == []
    md = metadata_of(folder)
    expected = {e.name: list(e.shape) for e in network.expected_tensors(md)}
    listed = report["checkpoints"]
    assert [c["name"] for c in listed] == checkpoint_names(folder)
    for checkpoint in listed:
        # exactly the tensors DeepRacer saves, under their exact names (no fallback matching)
        assert {t["name"]: t["shape"] for t in checkpoint["tensors"]} == expected
        assert {t["dtype"] for t in checkpoint["tensors"]} == {"float32"}


def test_sample_layout_and_archive(models: dict[str, Path]) -> None:
    folder = models["ppo_discrete"]
    best, last = checkpoint_names(folder)
    assert best != last
    assert (folder / "model/.coach_checkpoint").read_bytes() == last.encode()
    for key in (
        "reward_function.py",
        "ip/hyperparameters.json",
        "training_params.yaml",
        "metrics/TrainingMetrics.json",
    ):
        assert (folder / key).is_file(), key
    for name in (best, last):
        iteration = name.split("_", 1)[0]
        for suffix in (".index", ".meta", ".data-00000-of-00001"):
            assert (folder / "model" / f"{name}{suffix}").is_file()
        assert (folder / "model" / f"model_{iteration}.pb").is_file()
    with tarfile.open(folder / "model/model.tar.gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {"agent", "agent/model.pb", "model_metadata.json"}
        graph = tar.extractfile("agent/model.pb")
        metadata = tar.extractfile("model_metadata.json")
        assert graph is not None and metadata is not None
        best_graph = folder / "model" / f"model_{best.split('_', 1)[0]}.pb"
        assert graph.read() == best_graph.read_bytes()
        assert metadata.read() == (folder / "model/model_metadata.json").read_bytes()


def test_discrete_head_has_one_output_per_action(tmp_path: Path) -> None:
    result = sample(tmp_path / "m", "--network", "deep", "--actions", "9", "--no-car-archive")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "m"
    assert not (folder / "model/model.tar.gz").exists()
    md = metadata_of(folder)
    assert md.action_count == 9 and md.neural_network == "DEEP_CONVOLUTIONAL_NETWORK_DEEP"
    code, report = check_json(folder)
    assert code == 0, report["problems"]
    head = "main_level/agent/main/online/network_1/ppo_head_0/policy_fc/kernel"
    shapes = {t["name"]: t["shape"] for t in report["checkpoints"][0]["tensors"]}
    assert shapes[head] == [128, 9]


def test_sample_data_matches_the_seeded_weights(models: dict[str, Path]) -> None:
    folder = models["ppo_discrete"]
    name = checkpoint_names(folder)[0]
    index = bundle.parse_index((folder / "model" / f"{name}.index").read_bytes())
    source = WeightSource(SEED)
    data = (folder / "model" / f"{name}.data-00000-of-00001").read_bytes()
    offset = 0
    for entry in sorted(index.entries, key=lambda e: e.offset):
        assert entry.offset == offset  # key order, no padding, as TensorFlow's writer
        offset += entry.size
    assert offset == len(data)
    for entry in index.entries[:3]:
        assert data[entry.offset : entry.offset + entry.size] == source.tensor(entry.name, entry.shape, name)
    rescaler = next(e for e in index.entries if e.name.endswith("_rescalers"))
    assert floats(data[rescaler.offset : rescaler.offset + 4]) == [1.0]


# --- determinism and refusals --------------------------------------------------------------------


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sample_is_deterministic(models: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert sample(again).exit_code == 0
    assert _digests(again) == _digests(models["ppo_discrete"])


def test_non_empty_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = sample(folder, "--network", "deep")
    assert result.exit_code == 2
    assert "not empty" in result.output and "--force" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    forced = sample(folder, "--network", "deep", "--force")
    assert forced.exit_code == 0, forced.output
    assert (folder / "notes.txt").read_text() == "mine"
    assert check_json(folder)[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algorithm", "sac", "--actions", "3"], "--actions"),
        (["--continuous", "--actions", "3"], "--actions"),
        (["--sensor", "FRONT_FACING_CAMERA+STEREO_CAMERAS"], "exactly one camera"),
        (["--sensor", "RADAR"], "--sensor 'RADAR'"),
        (["--network", "huge"], "--network 'huge'"),
        (["--algorithm", "dqn"], "--algorithm 'dqn'"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = sample(tmp_path / "m", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "m").exists()


# --- the SSTable writer against real DeepRacer indexes -------------------------------------------


@pytest.mark.skipif(not CORPUS_INDEXES, reason="shared corpus not present")
@pytest.mark.parametrize("path", CORPUS_INDEXES[:4], ids=lambda p: "/".join(p.parts[-3:]))
def test_table_writer_reproduces_real_indexes(path: Path) -> None:
    data = path.read_bytes()
    assert build_table(sstable.read_table(data)) == data


def test_table_writer_splits_blocks_and_shortens_separators() -> None:
    items = [(f"main_level/agent/{i:05d}".encode(), bytes(40)) for i in range(400)]
    table = build_table(items, block_size=1024)
    assert list(sstable.read_table(table)) == items
    assert shortest_separator(b"abcd", b"abzz") == b"abd"
    assert shortest_separator(b"abc", b"abcd") == b"abc"
    assert short_successor(b"main_level/x") == b"n"
    assert short_successor(b"\xff\xff") == b"\xff\xff"


CORPUS_METAS = sorted(CORPUS.rglob("*.ckpt.meta")) if CORPUS.exists() else []


def _options_like(real: Any) -> SampleOptions:
    """Sample options for the model a real PPO `.meta` (shallow camera network) was trained with."""
    nodes = {n.name.decode(): n for n in real.graph_def.node}
    head = "main_level/agent/main/online/network_1/ppo_head_0"
    if f"{head}/policy_mean/kernel" in nodes:
        return SampleOptions(continuous=True)
    kernel = nodes[f"{head}/policy_fc/kernel"]
    dims = protos.shape_dims(kernel.attr["shape"].shape)
    assert dims is not None
    return SampleOptions(actions=dims[1])


@pytest.mark.skipif(not CORPUS_METAS, reason="shared corpus not present")
@pytest.mark.parametrize("path", CORPUS_METAS, ids=lambda p: "/".join(p.parts[-3:]))
def test_meta_graph_nodes_are_those_of_real_deepracer_graphs(path: Path) -> None:
    """Every node the sample's .meta holds is in the real DeepRacer .meta under the same name; for
    TensorFlow 1.15 graphs with the same op, data inputs and attributes (older TF versions differ
    in a few ops: Add/AddV2, how Flatten computes its shape, the saver's filename)."""
    real = protos.parse(protos.READ.MetaGraphDef, path.read_bytes())
    _, md = metadata_for(_options_like(real))
    mine = protos.parse(protos.READ.MetaGraphDef, meta_graph(md)[0])
    theirs = {n.name.decode(): n for n in real.graph_def.node}
    same_version = real.meta_info_def.tensorflow_version == TENSORFLOW_VERSION.encode()
    for node in mine.graph_def.node:
        name = node.name.decode()
        if not same_version and name.startswith("save/"):
            continue
        assert name in theirs, name
        if same_version:
            other = theirs[name]
            assert node.op == other.op, name
            assert [i for i in node.input if not i.startswith(b"^")] == [
                i for i in other.input if not i.startswith(b"^")
            ], name
            assert set(node.attr) == set(other.attr) - {"_output_shapes", "_class"}, name


# --- TensorFlow reads it (subprocess) ------------------------------------------------------------

TF_SCRIPT = r"""
import hashlib, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
tf1 = tf.compat.v1
tf1.disable_eager_execution()
out = {}
for job in json.loads(sys.argv[1]):
    prefix = job["prefix"]
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    tensors = {
        n: {"dtype": dtypes[n].name, "shape": list(s),
            "sha256": hashlib.sha256(np.ascontiguousarray(reader.get_tensor(n), "<f4").tobytes()).hexdigest()}
        for n, s in reader.get_variable_to_shape_map().items()
    }
    probe = reader.get_tensor(job["probe"]).ravel()[:16].tolist()
    feeds = {}
    rng = np.random.default_rng(0)
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(prefix + ".meta")
        for name in job["inputs"]:
            shape = [1] + graph.get_tensor_by_name(name + ":0").shape.as_list()[1:]
            feeds[name + ":0"] = (rng.random(shape) * 255).astype(np.float32)
        with tf1.Session(graph=graph) as sess:
            saver.restore(sess, prefix)
            from_meta = sess.run(job["output"] + ":0", feeds)
    graph_def = tf1.GraphDef()
    with open(job["graph"], "rb") as f:
        graph_def.ParseFromString(f.read())
    with tf.Graph().as_default() as graph:
        tf1.import_graph_def(graph_def, name="")
        with tf1.Session(graph=graph) as sess:
            from_frozen = sess.run(job["output"] + ":0", feeds)
    out[prefix] = {"tensors": tensors, "probe": probe, "meta_output": from_meta.tolist(),
                   "frozen_output": from_frozen.tolist()}
print(json.dumps(out))
"""


def _tensorflow_available() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.tf
def test_tensorflow_reads_the_sample(models: dict[str, Path]) -> None:
    assert _tensorflow_available(), (
        "tensorflow-cpu (a test dependency) must be installed: pip install -e '.[test]'"
    )
    jobs, expected = [], {}
    source = WeightSource(SEED)
    for name, folder in models.items():
        md = metadata_of(folder)
        checkpoint = checkpoint_names(folder)[0]
        prefix = str(folder / "model" / checkpoint)
        index = bundle.parse_index(Path(prefix + ".index").read_bytes())
        data = Path(prefix + ".data-00000-of-00001").read_bytes()
        probe = next(e for e in index.entries if e.name.endswith("/Conv2d_0/kernel"))
        jobs.append(
            {
                "prefix": prefix,
                "probe": probe.name,
                "graph": str(folder / "model" / f"model_{checkpoint.split('_', 1)[0]}.pb"),
                "output": OUTPUTS[md.training_algorithm],
                "inputs": sorted(network.input_placeholders(md)),
            }
        )
        expected[prefix] = {
            "name": name,
            "metadata": md,
            "tensors": {
                e.name: {
                    "dtype": "float32",
                    "shape": list(e.shape),
                    "sha256": hashlib.sha256(data[e.offset : e.offset + e.size]).hexdigest(),
                }
                for e in index.entries
            },
            "probe": floats(source.tensor(probe.name, probe.shape, checkpoint))[:16],
        }
    run = subprocess.run(
        [sys.executable, "-c", TF_SCRIPT, json.dumps(jobs)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-4000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    for prefix, want in expected.items():
        got = seen[prefix]
        assert got["tensors"] == want["tensors"], want["name"]
        assert got["probe"] == want["probe"], want["name"]
        md = want["metadata"]
        width = 2 if md.is_continuous else md.action_count
        meta_out, frozen_out = got["meta_output"], got["frozen_output"]
        assert len(meta_out) == 1 and len(meta_out[0]) == width, want["name"]
        assert meta_out[0] == pytest.approx(frozen_out[0], rel=1e-4, abs=1e-6), want["name"]
        if not md.is_continuous:
            assert sum(meta_out[0]) == pytest.approx(1.0, abs=1e-4)  # softmax over the actions


# --- the README's first command ------------------------------------------------------------------


def test_readme_chain_sample_check_import_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`drmodels sample demo-model && drmodels check demo-model && drmodels import demo-model
    --name demo --wait && drmodels models list` on a fresh checkout: no server, no TensorFlow."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DRMODELS_DATA_DIR", str(tmp_path / "drmodels-data"))
    steps = [
        ["sample", "demo-model"],
        ["check", "demo-model"],
        ["import", "demo-model", "--name", "demo", "--wait"],
        ["models", "list"],
    ]
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert "READY" in result.output and "demo" in result.output
