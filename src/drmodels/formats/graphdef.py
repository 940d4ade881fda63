"""TensorFlow GraphDef (frozen graphs, `.meta` graphs) read into nodes by name; graph_writer.py writes.

Messages come from protobuf.READ, so hostile node names still parse and are decoded with
errors="replace". Nodes are looked up by name, never by op type (TF1 and TF2 writers differ there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drmodels.errors import FormatError
from drmodels.formats import protobuf as protos


@dataclass(frozen=True)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]
    proto: Any = field(repr=False, compare=False)

    def attr_shape(self, key: str) -> tuple[int, ...] | None:
        if key not in self.proto.attr:
            return None
        value = self.proto.attr[key]
        if value.HasField("shape"):
            return protos.shape_dims(value.shape)
        if value.HasField("tensor"):
            return protos.shape_dims(value.tensor.tensor_shape)
        return None

    def attr_type(self, key: str) -> int | None:
        return int(self.proto.attr[key].type) if key in self.proto.attr else None


class GraphError(FormatError):
    """A graph whose nodes cannot be told apart (a name used twice)."""


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def input_node(name: str) -> str:
    """The node an input names (`^ctrl` and `node:port` forms included)."""
    name = name.lstrip("^")
    base, sep, port = name.rpartition(":")
    return base if sep and port.isdigit() else name


def nodes_of(graph_def: Any) -> dict[str, Node]:
    """The nodes of a parsed GraphDef by name; raises GraphError on a duplicated name."""
    nodes: dict[str, Node] = {}
    for proto in graph_def.node:
        node = Node(_text(proto.name), _text(proto.op), tuple(_text(i) for i in proto.input), proto)
        if node.name in nodes:
            raise GraphError(f"node name {node.name!r} is used twice")
        nodes[node.name] = node
    return nodes
