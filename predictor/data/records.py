"""Reading the official NAS-Bench-101 tfrecord without TensorFlow.

A record is framed as `u64 length | u32 masked CRC32C(length) | data | u32 masked
CRC32C(data)` (little-endian); `data` is the JSON list
`[module_hash, epochs, raw_adjacency, raw_operations, base64(ModelMetrics)]`.
Every problem is reported as a `RecordError` naming the file, the record index and
the byte offset, so that a bad download is found and located at once.
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import google_crc32c
import numpy as np

from predictor.data.cell import INPUT, INTERIOR_OPS, OUTPUT
from predictor.data.model_metrics import ModelMetrics

HEADER_SIZE = 12  # u64 length + u32 masked crc
FOOTER_SIZE = 4
_MASK_DELTA = 0xA282EAD8
_KNOWN_OPS = frozenset((INPUT, OUTPUT, *INTERIOR_OPS))


class RecordError(ValueError):
    """A record that cannot be read; the message locates it in the file."""

    def __init__(self, path: str | Path, index: int, offset: int, problem: str):
        super().__init__(f"{path}: record {index} at byte {offset}: {problem}")
        self.path, self.index, self.offset, self.problem = str(path), index, offset, problem

    def __reduce__(self):  # travels back from worker processes intact
        return RecordError, (self.path, self.index, self.offset, self.problem)


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC32C: rotate right by 15 bits, then add a constant."""
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """`data` framed as one TFRecord record."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


@dataclass(frozen=True)
class Block:
    """Whole, length-checked records cut from the file; data CRCs are checked by `frames`."""

    path: str
    first_index: int
    first_offset: int
    data: bytes


def read_blocks(path: str | Path, block_size: int = 8 << 20) -> Iterator[Block]:
    """Cut the file into blocks of whole records, checking each length and its CRC on the way.

    A file that is not a tfrecord fails at record 0 (its length CRC does not match)
    instead of after a long read of a bogus length.
    """
    unpack_length, crc32c = struct.Struct("<QI").unpack_from, google_crc32c.value
    index = offset = 0
    pending = b""
    with open(path, "rb") as file:
        while True:
            chunk = file.read(block_size)
            buffer = pending + chunk if pending else chunk
            position, first_index = 0, index
            while position + HEADER_SIZE <= len(buffer):
                length, length_crc = unpack_length(buffer, position)
                crc = crc32c(buffer[position : position + 8])  # masked_crc32c, inlined: once per record
                if ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF != length_crc:
                    raise RecordError(
                        path, index, offset + position, "length CRC mismatch (not a tfrecord, or corrupted)"
                    )
                end = position + HEADER_SIZE + length + FOOTER_SIZE
                if end > len(buffer):
                    break
                position = end
                index += 1
            if position:
                yield Block(str(path), first_index, offset, buffer[:position])
            if not chunk:
                if position < len(buffer):
                    raise RecordError(
                        path,
                        index,
                        offset + position,
                        f"file truncated: {len(buffer) - position} trailing bytes do not make a whole record",
                    )
                return
            offset += position
            pending = buffer[position:]


def frames(block: Block) -> Iterator[tuple[int, int, bytes]]:
    """(record index, byte offset, data) of every record of a block, data CRC checked."""
    buffer = block.data
    index, position = block.first_index, 0
    unpack, crc32c = struct.unpack_from, google_crc32c.value
    while position < len(buffer):
        (length,) = unpack("<Q", buffer, position)
        start = position + HEADER_SIZE
        data = buffer[start : start + length]
        (data_crc,) = unpack("<I", buffer, start + length)
        crc = crc32c(data)  # masked_crc32c, inlined: this runs once per record
        if ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF != data_crc:
            raise RecordError(block.path, index, block.first_offset + position, "data CRC mismatch (corrupted record)")
        yield index, block.first_offset + position, data
        position = start + length + FOOTER_SIZE
        index += 1


def plain_fields(data: bytes) -> tuple[bytes, int, bytes, bytes, bytes] | None:
    """The fields of a record in the official layout `["h", e, "a", "o", "m"]`, or None.

    A split on quotes is far cheaper than a JSON parse; the fields are checked later
    (hash length, adjacency and op names, strict base64), anything else returns None.
    """
    parts = data.split(b'"')
    if len(parts) != 9 or parts[0] != b"[" or parts[8] != b"]" or parts[4] != b", " or parts[6] != b", ":
        return None
    epochs = parts[2]
    if epochs[:2] != b", " or epochs[-2:] != b", " or not epochs[2:-2].isdigit() or b"\\" in data:
        return None
    return parts[1], int(epochs[2:-2]), parts[3], parts[5], parts[7]


def decode_fields(data: bytes) -> tuple[str, int, str, str, str]:
    """(module_hash, epochs, raw_adjacency, raw_operations, raw_metrics) of a record's JSON."""
    plain = plain_fields(data)
    if plain:
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = plain
        return module_hash.decode(), epochs, raw_adjacency.decode(), raw_operations.decode(), raw_metrics.decode()
    try:
        fields = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"invalid JSON: {error}") from None
    if (
        not isinstance(fields, list)
        or len(fields) != 5
        or not isinstance(fields[1], int)
        or not all(isinstance(fields[i], str) for i in (0, 2, 3, 4))
    ):
        raise ValueError(f"expected [hash, epochs, adjacency, operations, metrics], got {str(fields)[:200]}")
    return fields[0], fields[1], fields[2], fields[3], fields[4]


def decode_metrics(raw_metrics: str) -> ModelMetrics:
    """The ModelMetrics message of a record (base64 of the serialized protobuf)."""
    try:
        payload = binascii.a2b_base64(raw_metrics, strict_mode=True)
    except binascii.Error as error:
        raise ValueError(f"invalid base64 metrics: {error}") from None
    try:
        return ModelMetrics.FromString(payload)
    except Exception as error:  # the protobuf runtime raises its own DecodeError types
        raise ValueError(f"invalid ModelMetrics protobuf: {error}") from None


def parse_graph(raw_adjacency: str, raw_operations: str) -> tuple[np.ndarray, list[str]]:
    """(adjacency (V, V) int8, op names) of a record; checks the shape and the op names."""
    ops = raw_operations.split(",")
    unknown = [op for op in ops if op not in _KNOWN_OPS]
    if unknown:
        raise ValueError(f"unknown op name(s) {unknown}; known: {sorted(_KNOWN_OPS)}")
    n = len(ops)
    if len(raw_adjacency) != n * n or raw_adjacency.strip("01"):
        raise ValueError(f"adjacency {raw_adjacency!r} is not a {n} x {n} 0/1 matrix for {n} ops")
    matrix = (np.frombuffer(raw_adjacency.encode(), dtype=np.uint8) - ord("0")).astype(np.int8).reshape(n, n)
    return matrix, ops


@dataclass(frozen=True)
class Record:
    """One decoded record: a module trained once for a number of epochs."""

    index: int
    offset: int
    module_hash: str
    epochs: int
    raw_adjacency: str
    raw_operations: str
    metrics: ModelMetrics

    def graph(self) -> tuple[np.ndarray, list[str]]:
        return parse_graph(self.raw_adjacency, self.raw_operations)


def read_records(path: str | Path) -> Iterator[Record]:
    """Every record of a tfrecord file, checked and decoded, in file order."""
    for block in read_blocks(path):
        for index, offset, data in frames(block):
            try:
                module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = decode_fields(data)
                parse_graph(raw_adjacency, raw_operations)
                metrics = decode_metrics(raw_metrics)
            except ValueError as error:
                raise RecordError(path, index, offset, str(error)) from None
            yield Record(index, offset, module_hash, epochs, raw_adjacency, raw_operations, metrics)
