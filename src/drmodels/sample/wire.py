"""Protobuf messages the sample writer needs to *write* TensorFlow graphs and MetaGraphDefs.

`drmodels.formats.protobuf` declares only what the validator reads; writing a graph that TensorFlow
itself can import also needs scalar tensor values (`float_val`, `int_val`, `string_val`), the
saver's options and the variable collections. Declared here the same way (a private descriptor
pool, package `drmodels.samplewire`, field numbers from TensorFlow's public .proto files:
tensor.proto, attr_value.proto, node_def.proto, graph.proto, meta_graph.proto, saver.proto,
variable.proto, versions.proto, tensor_shape.proto). Enums are int32 (same varint encoding).
Serialize with `deterministic=True` so map fields (node attributes) are written in key order.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2

from drmodels.formats.protobuf import Field, build_messages

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "drmodels.samplewire"
OPT, REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
I32, I64, BOOL, STR, BYTES, MSG, FLOAT = (
    _F.TYPE_INT32,
    _F.TYPE_INT64,
    _F.TYPE_BOOL,
    _F.TYPE_STRING,
    _F.TYPE_BYTES,
    _F.TYPE_MESSAGE,
    _F.TYPE_FLOAT,
)

_MESSAGES: dict[str, list[Field]] = {
    "Dim": [("size", 1, I64, OPT, ""), ("name", 2, STR, OPT, "")],
    "TensorShapeProto": [("dim", 2, MSG, REP, "Dim"), ("unknown_rank", 3, BOOL, OPT, "")],
    "VersionDef": [("producer", 1, I32, OPT, ""), ("min_consumer", 2, I32, OPT, "")],
    "TensorProto": [
        ("dtype", 1, I32, OPT, ""),
        ("tensor_shape", 2, MSG, OPT, "TensorShapeProto"),
        ("tensor_content", 4, BYTES, OPT, ""),
        ("float_val", 5, FLOAT, REP, ""),
        ("int_val", 7, I32, REP, ""),
        ("string_val", 8, BYTES, REP, ""),
        ("int64_val", 10, I64, REP, ""),
    ],
    "ListValue": [
        ("s", 2, BYTES, REP, ""),
        ("i", 3, I64, REP, ""),
        ("type", 6, I32, REP, ""),
        ("shape", 7, MSG, REP, "TensorShapeProto"),
    ],
    "AttrValue": [
        ("list", 1, MSG, OPT, "ListValue"),
        ("s", 2, BYTES, OPT, ""),
        ("i", 3, I64, OPT, ""),
        ("f", 4, FLOAT, OPT, ""),
        ("b", 5, BOOL, OPT, ""),
        ("type", 6, I32, OPT, ""),
        ("shape", 7, MSG, OPT, "TensorShapeProto"),
        ("tensor", 8, MSG, OPT, "TensorProto"),
    ],
    "NodeDef": [
        ("name", 1, STR, OPT, ""),
        ("op", 2, STR, OPT, ""),
        ("input", 3, STR, REP, ""),
        ("device", 4, STR, OPT, ""),
        ("attr", 5, MSG, REP, "NodeDef.AttrEntry"),
    ],
    "GraphDef": [("node", 1, MSG, REP, "NodeDef"), ("versions", 4, MSG, OPT, "VersionDef")],
    "MetaInfoDef": [
        ("meta_graph_version", 1, STR, OPT, ""),
        ("tags", 4, STR, REP, ""),
        ("tensorflow_version", 5, STR, OPT, ""),
        ("tensorflow_git_version", 6, STR, OPT, ""),
    ],
    "SaverDef": [
        ("filename_tensor_name", 1, STR, OPT, ""),
        ("save_tensor_name", 2, STR, OPT, ""),
        ("restore_op_name", 3, STR, OPT, ""),
        ("max_to_keep", 4, I32, OPT, ""),
        ("sharded", 5, BOOL, OPT, ""),
        ("keep_checkpoint_every_n_hours", 6, FLOAT, OPT, ""),
        ("version", 7, I32, OPT, ""),
    ],
    "BytesList": [("value", 1, BYTES, REP, "")],
    "NodeList": [("value", 1, STR, REP, "")],
    "CollectionDef": [("node_list", 1, MSG, OPT, "NodeList"), ("bytes_list", 2, MSG, OPT, "BytesList")],
    "VariableDef": [
        ("variable_name", 1, STR, OPT, ""),
        ("initializer_name", 2, STR, OPT, ""),
        ("snapshot_name", 3, STR, OPT, ""),
        ("initial_value_name", 6, STR, OPT, ""),
        ("trainable", 7, BOOL, OPT, ""),
        ("aggregation", 9, I32, OPT, ""),
    ],
    "MetaGraphDef": [
        ("meta_info_def", 1, MSG, OPT, "MetaInfoDef"),
        ("graph_def", 2, MSG, OPT, "GraphDef"),
        ("saver_def", 3, MSG, OPT, "SaverDef"),
        ("collection_def", 4, MSG, REP, "MetaGraphDef.CollectionDefEntry"),
    ],
}

_MAPS = [("NodeDef", "AttrEntry", "AttrValue"), ("MetaGraphDef", "CollectionDefEntry", "CollectionDef")]


_CLASSES = build_messages(_PACKAGE, _MESSAGES, _MAPS)

TensorShapeProto: Any = _CLASSES["TensorShapeProto"]
VersionDef: Any = _CLASSES["VersionDef"]
TensorProto: Any = _CLASSES["TensorProto"]
AttrValue: Any = _CLASSES["AttrValue"]
NodeDef: Any = _CLASSES["NodeDef"]
GraphDef: Any = _CLASSES["GraphDef"]
MetaInfoDef: Any = _CLASSES["MetaInfoDef"]
SaverDef: Any = _CLASSES["SaverDef"]
CollectionDef: Any = _CLASSES["CollectionDef"]
VariableDef: Any = _CLASSES["VariableDef"]
MetaGraphDef: Any = _CLASSES["MetaGraphDef"]


def serialize(message: Any) -> bytes:
    """Deterministic bytes (map entries in key order), so a sample is the same bytes every time."""
    return bytes(message.SerializeToString(deterministic=True))
