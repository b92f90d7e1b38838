# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Vectorised extraction of the stamp and float arrays of many CDR messages.

The high-rate topics of a bag (joint states, torque commands) repeat the same byte
layout message after message: same frame id, same joint names, same array lengths; only
the stamp and the floats change. :func:`extract` parses the layout of one message with
:mod:`struct`, finds every message of the same length whose structural bytes (string
lengths and contents, sequence counts; never padding, which DDS may leave dirty) equal
it, and reads their stamps and floats as strided numpy views of one stacked byte array.
Messages of another layout get their own pass. Only little-endian plain CDR (the
encapsulation ROS 2 uses) is parsed here; anything else is left to the caller.
"""

import struct
from typing import Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

CDR_LE = b'\x00\x01'
_U32 = struct.Struct('<I')


class Layout(NamedTuple):
    """Where the fields of one message layout lie (offsets from the start of the bytes)."""

    size: int
    """Bytes up to the end of the last field (trailing bytes are ignored)."""
    structure: Tuple[Tuple[int, int], ...]
    """(start, stop) byte ranges that define the layout: counts, string lengths and text."""
    stamp: int
    """Offset of the header stamp (int32 sec, uint32 nanosec), or -1 without a header."""
    arrays: Dict[str, Tuple[int, int]]
    """Float64 sequence name -> (offset, count)."""
    strings: Dict[str, Tuple[str, ...]]
    """String fields of the layout (frame_id, joint names)."""


class _Cursor:
    """Read CDR fields from bytes, recording the structural byte ranges."""

    def __init__(self, buf):
        if len(buf) < 4:
            raise ValueError(f'{len(buf)} bytes, shorter than the CDR header')
        if bytes(buf[:2]) != CDR_LE:
            raise ValueError(f'encapsulation {bytes(buf[:2]).hex()} is not little-endian CDR')
        self.buf = buf
        self.pos = 4
        self.structure = [(0, 2)]

    def _need(self, size):
        if self.pos + size > len(self.buf):
            raise ValueError(f'message ends at byte {len(self.buf)}, field needs '
                             f'{self.pos + size}')

    def align(self, size):
        self.pos = 4 + ((self.pos - 4 + size - 1) & -size)

    def skip(self, size, align):
        self.align(align)
        self._need(size)
        start = self.pos
        self.pos += size
        return start

    def u32(self):
        self.align(4)
        self._need(4)
        value = _U32.unpack_from(self.buf, self.pos)[0]
        self.structure.append((self.pos, self.pos + 4))
        self.pos += 4
        return value

    def string(self):
        size = self.u32()
        if size < 1:
            raise ValueError('string without its terminating NUL')
        self._need(size)
        text = bytes(self.buf[self.pos:self.pos + size - 1]).decode('utf-8', 'replace')
        self.structure.append((self.pos, self.pos + size))
        self.pos += size
        return text

    def float64s(self):
        count = self.u32()
        if count == 0:
            return self.pos, 0
        return self.skip(8 * count, 8), count

    def layout(self, stamp, arrays, strings):
        return Layout(self.pos, _merge(self.structure), stamp, arrays, strings)


def _merge(ranges):
    merged = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return tuple(merged)


def joint_state_layout(buf) -> Layout:
    """
    Parse the layout of a sensor_msgs/msg/JointState.

    :param buf: the CDR bytes.
    :return: Layout with arrays position, velocity, effort and strings frame_id, name.
    :raises ValueError: when the bytes are not a little-endian JointState.
    """
    cur = _Cursor(buf)
    stamp = cur.skip(8, 4)
    frame = cur.string()
    names = tuple(cur.string() for _ in range(cur.u32()))
    arrays = {key: cur.float64s() for key in ('position', 'velocity', 'effort')}
    return cur.layout(stamp, arrays, {'frame_id': (frame,), 'name': names})


def float64_multi_array_layout(buf) -> Layout:
    """
    Parse the layout of a std_msgs/msg/Float64MultiArray.

    :param buf: the CDR bytes.
    :return: Layout with the array data.
    :raises ValueError: when the bytes are not a little-endian Float64MultiArray.
    """
    cur = _Cursor(buf)
    labels = []
    for _ in range(cur.u32()):
        labels.append(cur.string())
        cur.u32()  # size
        cur.u32()  # stride
    cur.u32()  # data_offset
    return cur.layout(-1, {'data': cur.float64s()}, {'label': tuple(labels)})


class Group(NamedTuple):
    """Messages of one layout: their indices and their fields."""

    index: np.ndarray
    """Indices into the message list [n]."""
    layout: Layout
    """The shared layout."""
    stamp_ns: np.ndarray
    """Header stamps in ns [n] (int64), or None without a header."""
    arrays: Dict[str, np.ndarray]
    """Float64 sequence name -> values [n, count]."""


def extract(raws: Sequence, parse_layout, want: Sequence[str]) -> Tuple[List[Group], list]:
    """
    Read the stamps and float arrays of many messages of one type.

    :param raws: the messages' CDR bytes (bytes or memoryview).
    :param parse_layout: :func:`joint_state_layout` or :func:`float64_multi_array_layout`.
    :param want: names of the float arrays to read.
    :return: (groups, rejected): one Group per layout found; rejected lists
        (index, reason) of messages whose layout could not be parsed.
    """
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
    groups, rejected = [], []
    for size in np.unique(lengths):
        index = np.flatnonzero(lengths == size)
        rows = np.frombuffer(b''.join([raws[i] for i in index]), np.uint8)
        rows = rows.reshape(len(index), int(size))
        remaining = np.arange(len(index))
        while len(remaining):
            ref = remaining[0]
            try:
                layout = parse_layout(raws[index[ref]])
            except ValueError as exc:
                rejected.append((int(index[ref]), str(exc)))
                remaining = remaining[1:]
                continue
            cols = np.concatenate([np.arange(a, b) for a, b in layout.structure])
            block = rows[remaining]
            same = (block[:, cols] == rows[ref, cols]).all(axis=1)
            members = remaining[same]
            remaining = remaining[~same]
            mine = rows[members]
            stamp = None
            if layout.stamp >= 0:
                head = np.ascontiguousarray(mine[:, layout.stamp:layout.stamp + 8])
                head = head.view('<u4')
                stamp = head[:, 0].view('<i4').astype(np.int64) * 1_000_000_000 + head[:, 1]
            arrays = {}
            for name in want:
                offset, count = layout.arrays[name]
                arrays[name] = np.ascontiguousarray(
                    mine[:, offset:offset + 8 * count]).view('<f8').reshape(len(members), count)
            groups.append(Group(index[members], layout, stamp, arrays))
    return groups, rejected
