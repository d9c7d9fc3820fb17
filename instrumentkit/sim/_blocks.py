"""IEEE 488.2 definite-length binary blocks (`#N<len><bytes>`) from NumPy arrays."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["binary_block"]

_MAX_LENGTH = 10**9 - 1


def binary_block(
    values: ArrayLike | bytes,
    *,
    dtype: DTypeLike | None = None,
    byte_order: Literal["<", ">", "little", "big"] = "<",
) -> bytes:
    """`values` as an IEEE 488.2 definite block, in `dtype` (default: the array's) and order.

    `binary_block(np.arange(3, dtype=">i2"))` -> `b"#16\\x00\\x00\\x00\\x01\\x00\\x02"`.
    Bytes are sent as they are.
    """
    if isinstance(values, (bytes, bytearray, memoryview)):
        payload = bytes(values)
    else:
        array = np.asarray(values, dtype=dtype)
        order = {"little": "<", "big": ">"}.get(byte_order, byte_order)
        if array.dtype.itemsize > 1:
            array = array.astype(array.dtype.newbyteorder(order), copy=False)
        payload = np.ascontiguousarray(array).tobytes()
    if len(payload) > _MAX_LENGTH:
        raise ValueError(f"{len(payload)} bytes do not fit a definite block (max {_MAX_LENGTH})")
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload
