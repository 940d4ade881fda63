"""A small GraphDef builder: nodes with TensorFlow's op names and attributes, no TensorFlow.

Only what a DeepRacer network needs. Nodes carry the attributes TensorFlow itself writes for these
ops (T, dtype, shape, strides, padding, data_format...), so TensorFlow can import the graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from drmodels.formats import protobuf

DT_FLOAT, DT_INT32, DT_STRING, DT_INT64 = 1, 3, 7, 9
TF1_PRODUCER = 134
"""GraphDef producer version of TensorFlow 1.15, the version DeepRacer's trainer saved graphs with."""


def shape_proto(dims: Sequence[int] | None) -> Any:
    shape = protobuf.WRITE.TensorShapeProto()
    if dims is None:
        shape.unknown_rank = True
    for d in dims or ():
        shape.dim.add(size=d)
    return shape


def tensor_proto(dtype: int, dims: Sequence[int], **values: Any) -> Any:
    tensor = protobuf.WRITE.TensorProto(dtype=dtype, **values)
    tensor.tensor_shape.CopyFrom(shape_proto(dims))
    return tensor


# --- attribute values ----------------------------------------------------------------------------


def a_type(dtype: int) -> Any:
    return protobuf.WRITE.AttrValue(type=dtype)


def a_shape(dims: Sequence[int] | None) -> Any:
    attr = protobuf.WRITE.AttrValue()
    attr.shape.CopyFrom(shape_proto(dims))
    return attr


def a_tensor(tensor: Any) -> Any:
    attr = protobuf.WRITE.AttrValue()
    attr.tensor.CopyFrom(tensor)
    return attr


def a_int(value: int) -> Any:
    return protobuf.WRITE.AttrValue(i=value)


def a_bool(value: bool) -> Any:
    return protobuf.WRITE.AttrValue(b=value)


def a_str(value: str) -> Any:
    return protobuf.WRITE.AttrValue(s=value.encode())


def a_ints(values: Iterable[int]) -> Any:
    attr = protobuf.WRITE.AttrValue()
    attr.list.SetInParent()
    attr.list.i.extend(values)
    return attr


def a_types(values: Iterable[int]) -> Any:
    attr = protobuf.WRITE.AttrValue()
    attr.list.SetInParent()
    attr.list.type.extend(values)
    return attr


def a_strs(values: Iterable[str]) -> Any:
    attr = protobuf.WRITE.AttrValue()
    attr.list.SetInParent()
    attr.list.s.extend(v.encode() for v in values)
    return attr


# --- the builder ---------------------------------------------------------------------------------


class GraphBuilder:
    """Appends nodes in creation order; names must be unique, inputs must exist."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self._names: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def add(self, name: str, op: str, inputs: Sequence[str] = (), **attrs: Any) -> str:
        if name in self._names:
            raise ValueError(f"node {name!r} defined twice")
        for raw in inputs:
            base = raw.lstrip("^").split(":", 1)[0]
            if base not in self._names:
                raise ValueError(f"node {name!r}: input {raw!r} is not defined yet")
        node = protobuf.WRITE.NodeDef(name=name, op=op)
        node.input.extend(inputs)
        for key, value in attrs.items():
            node.attr[key].CopyFrom(value)
        self.nodes.append(node)
        self._names.add(name)
        return name

    def graph_def(self, producer: int = TF1_PRODUCER) -> Any:
        graph = protobuf.WRITE.GraphDef()
        graph.node.extend(self.nodes)
        graph.versions.producer = producer
        return graph

    # constants and placeholders

    def const(self, name: str, tensor: Any, **extra: Any) -> str:
        return self.add(name, "Const", dtype=a_type(tensor.dtype), value=a_tensor(tensor), **extra)

    def const_float(self, name: str, value: float, dims: Sequence[int] = ()) -> str:
        return self.const(name, tensor_proto(DT_FLOAT, dims, float_val=[value]))

    def const_int32(self, name: str, values: Sequence[int], dims: Sequence[int] | None = None) -> str:
        shape = [len(values)] if dims is None else dims
        return self.const(name, tensor_proto(DT_INT32, shape, int_val=list(values)))

    def const_strings(self, name: str, values: Sequence[str], dims: Sequence[int] | None = None) -> str:
        shape = [len(values)] if dims is None else dims
        return self.const(name, tensor_proto(DT_STRING, shape, string_val=[v.encode() for v in values]))

    def placeholder(self, name: str, dims: Sequence[int] | None, dtype: int = DT_FLOAT) -> str:
        return self.add(name, "Placeholder", dtype=a_type(dtype), shape=a_shape(dims))

    # float ops

    def unary(self, op: str, name: str, x: str, dtype: int = DT_FLOAT) -> str:
        return self.add(name, op, [x], T=a_type(dtype))

    def binary(self, op: str, name: str, x: str, y: str) -> str:
        return self.add(name, op, [x, y], T=a_type(DT_FLOAT))

    def matmul(self, name: str, x: str, kernel: str) -> str:
        return self.add(
            name,
            "MatMul",
            [x, kernel],
            T=a_type(DT_FLOAT),
            transpose_a=a_bool(False),
            transpose_b=a_bool(False),
        )

    def bias_add(self, name: str, x: str, bias: str) -> str:
        return self.add(name, "BiasAdd", [x, bias], T=a_type(DT_FLOAT), data_format=a_str("NHWC"))

    def conv2d(self, name: str, x: str, kernel: str, stride: int) -> str:
        return self.add(
            name,
            "Conv2D",
            [x, kernel],
            T=a_type(DT_FLOAT),
            data_format=a_str("NHWC"),
            dilations=a_ints([1, 1, 1, 1]),
            explicit_paddings=a_ints([]),
            padding=a_str("VALID"),
            strides=a_ints([1, stride, stride, 1]),
            use_cudnn_on_gpu=a_bool(True),
        )

    def reshape(self, name: str, x: str, dims: Sequence[int]) -> str:
        shape = self.const_int32(f"{name}/shape", dims)
        return self.add(name, "Reshape", [x, shape], T=a_type(DT_FLOAT), Tshape=a_type(DT_INT32))

    def concat(self, name: str, values: Sequence[str], axis: int) -> str:
        ax = self.const_int32(f"{name}/axis", [axis], dims=())
        return self.add(
            name,
            "ConcatV2",
            [*values, ax],
            N=a_int(len(values)),
            T=a_type(DT_FLOAT),
            Tidx=a_type(DT_INT32),
        )

    def pack(self, name: str, values: Sequence[str]) -> str:
        return self.add(name, "Pack", list(values), N=a_int(len(values)), T=a_type(DT_FLOAT), axis=a_int(0))

    def first(self, name: str, x: str) -> str:
        """x[0] (a StridedSlice that drops the first axis), as Coach's heads take their input."""
        begin = self.const_int32(f"{name}/stack", [0])
        end = self.const_int32(f"{name}/stack_1", [1])
        step = self.const_int32(f"{name}/stack_2", [1])
        return self.add(
            name,
            "StridedSlice",
            [x, begin, end, step],
            Index=a_type(DT_INT32),
            T=a_type(DT_FLOAT),
            begin_mask=a_int(0),
            ellipsis_mask=a_int(0),
            end_mask=a_int(0),
            new_axis_mask=a_int(0),
            shrink_axis_mask=a_int(1),
        )

    def no_op(self, name: str, controls: Sequence[str]) -> str:
        return self.add(name, "NoOp", [f"^{c}" for c in controls])
