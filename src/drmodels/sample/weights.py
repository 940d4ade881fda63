"""Deterministic pseudo-random float32 weights, fast without numpy.

One block of uniform values in [-1, 1) is drawn from a seeded `random.Random` (Mersenne Twister:
the same sequence on every Python version and platform). A tensor's bytes are that block scaled
to the tensor's initialisation range (Glorot-uniform for kernels), rotated by an offset derived
from the tensor's name and the checkpoint, and repeated to its length: a 23 MB kernel costs one
bytes multiplication, not millions of Python floats. The block length is prime, so the
repetition never lines up with a row. Gradient rescalers are 1.0, as Coach initialises them.
"""

from __future__ import annotations

import math
import sys
import zlib
from array import array
from random import Random

BLOCK_FLOATS = 65_521  # prime
FLOAT_BYTES = 4
BIAS_RANGE = 0.01
OTHER_RANGE = 0.1


def num_elements(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def value_range(name: str, shape: tuple[int, ...]) -> float:
    """Half-width of the uniform range a tensor's values are drawn from."""
    leaf = name.rsplit("/", 1)[-1]
    if leaf == "kernel" and len(shape) >= 2:
        receptive = math.prod(shape[:-2])
        fan_in, fan_out = receptive * shape[-2], receptive * shape[-1]
        return math.sqrt(6.0 / (fan_in + fan_out))
    if leaf == "bias":
        return BIAS_RANGE
    return OTHER_RANGE


class WeightSource:
    """Little-endian float32 bytes for any (tensor name, shape, checkpoint), same bytes every time."""

    def __init__(self, seed: int) -> None:
        rng = Random(seed)
        self._unit = [2.0 * rng.random() - 1.0 for _ in range(BLOCK_FLOATS)]
        self._blocks: dict[float, bytes] = {}

    def _block(self, scale: float) -> bytes:
        block = self._blocks.get(scale)
        if block is None:
            values = array("f", [x * scale for x in self._unit])
            if sys.byteorder == "big":
                values.byteswap()
            block = self._blocks[scale] = values.tobytes()
        return block

    def tensor(self, name: str, shape: tuple[int, ...], salt: str = "") -> bytes:
        """The tensor's raw bytes (row-major float32, little-endian), as a checkpoint stores them."""
        count = num_elements(shape)
        if name.endswith("_rescalers"):
            return array_bytes([1.0] * count)
        block = self._block(value_range(name, shape))
        offset = (zlib.crc32(f"{salt}/{name}".encode()) % BLOCK_FLOATS) * FLOAT_BYTES
        rotated = block[offset:] + block[:offset]
        size = count * FLOAT_BYTES
        repeats = -(-size // len(rotated))
        return (rotated * repeats)[:size]


def array_bytes(values: list[float]) -> bytes:
    """float32 little-endian bytes of `values`."""
    out = array("f", values)
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def floats(data: bytes) -> list[float]:
    """Decode little-endian float32 bytes (for tests and small tensors)."""
    out = array("f")
    out.frombytes(data)
    if sys.byteorder == "big":
        out.byteswap()
    return out.tolist()
