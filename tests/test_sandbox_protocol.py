"""grader.protocol: frames and the .npy codec, fed hostile bytes directly (no processes)."""

import io
import json
import os
import pickle
import struct

import numpy as np
import pytest

from grader.sandbox import protocol
from grader.sandbox.protocol import (
    MAX_HEADER_BYTES,
    FrameReader,
    ProtocolError,
    decode_array,
    decode_header,
    encode_array,
    encode_frame,
    read_frame,
    write_frame,
)


def raw_frame(header_bytes, body=b""):
    return struct.pack(">I", len(header_bytes)) + header_bytes + body


def npy(array, **kwargs):
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


class Boom:
    """Unpickling this would create ``path``: the test checks it never happens."""

    path = None

    def __reduce__(self):
        return (open, (self.path, "w"))


# --- arrays ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.int32).reshape(2, 3),
        np.array([True, False]),
        np.arange(4, dtype=np.uint8),
        np.array([1.5, np.nan, np.inf, -np.inf], dtype=np.float32),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.array([1.0, 2.0], dtype=">f8"),
        np.float64(3.25).reshape(()),
        np.zeros((0, 3)),
    ],
)
def test_numeric_arrays_round_trip_as_plain_float64(array):
    decoded = decode_array(encode_array(array))
    assert (
        type(decoded) is np.ndarray and decoded.dtype == np.float64 and decoded.flags.c_contiguous
    )
    assert decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array.astype(np.float64))


@pytest.mark.parametrize(
    "array",
    [
        np.array(["a", "b"]),
        np.array([1 + 2j]),
        np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.zeros(2, dtype="V8"),
    ],
)
def test_non_numeric_arrays_are_refused(array):
    with pytest.raises(ProtocolError):
        decode_array(npy(array))


def npy_with_header(header, data):
    """.npy 1.0 bytes with a hand-written header dict (as a hostile writer would make)."""
    header = header.ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def test_sub_array_dtypes_are_refused():
    data = npy_with_header(
        "{'descr': ('<f8', (3,)), 'fortran_order': False, 'shape': (2,), }", b"\0" * 48
    )
    with pytest.raises(ProtocolError, match="not plain numeric"):
        decode_array(data)


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    Boom.path = str(marker)
    payload = np.empty(1, dtype=object)
    payload[0] = Boom()
    data = npy(payload, allow_pickle=True)
    assert b"open" in data  # the payload really is a pickle that would call open()
    with pytest.raises(ProtocolError):
        decode_array(data)
    assert not marker.exists()


def test_short_and_long_array_data_is_refused():
    data = npy(np.arange(10.0))
    with pytest.raises(ProtocolError):
        decode_array(data[:-8])
    with pytest.raises(ProtocolError):
        decode_array(data + b"\x00" * 8)


def test_a_header_announcing_terabytes_is_refused_before_any_allocation():
    data = npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", b"\0" * 8
    )
    with pytest.raises(ProtocolError, match="does not match its declared size"):
        decode_array(data)  # refused by the size check, before read_array could allocate 8 TB


@pytest.mark.parametrize(
    "data", [b"", b"not an npy", b"\x93NUMPY\x09\x00junk", b"\x93NUMPY\x01\x00\xff\xff{'descr'"]
)
def test_malformed_npy_is_refused(data):
    with pytest.raises(ProtocolError):
        decode_array(data)


def test_npy_header_with_code_is_not_evaluated(tmp_path):
    marker = tmp_path / "evaluated"
    code = f"__import__('os').system('touch {marker}')"
    data = npy_with_header(
        "{'descr': " + code + ", 'fortran_order': False, 'shape': (1,), }", b"\0" * 8
    )
    with pytest.raises(ProtocolError):
        decode_array(data)
    assert not marker.exists()


# --- headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"x": NaN}',
        b'{"x": Infinity}',
        b'{"x": -Infinity}',
        b'{"x": 1e999}',
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe{}",
        b'{"x": ' + b"[" * 100000 + b"]" * 100000 + b"}",
        b'{"arrays": "a"}',
        b'{"arrays": [["a"]]}',
        b'{"arrays": [["a", -1]]}',
        b'{"arrays": [["a", true]]}',
        b'{"arrays": [["a", 1.0]]}',
        b'{"arrays": [[3, 1]]}',
        b'{"arrays": [["", 1]]}',
        b'{"arrays": [["a", 1], ["a", 1]]}',
        b'{"arrays": [' + b",".join(b'["a%d", 1]' % i for i in range(17)) + b"]}",
    ],
)
def test_bad_headers_are_refused(raw):
    with pytest.raises(ProtocolError):
        decode_header(raw)


def test_header_round_trip_and_listing():
    header = decode_header(b'{"type": "reply", "n": 1.5, "arrays": [["a", 3], ["b", 0]]}')
    assert header == {"type": "reply", "n": 1.5, "arrays": [("a", 3), ("b", 0)]}


def test_encode_frame_refuses_nan_in_headers():
    with pytest.raises(ValueError):
        encode_frame({"x": float("nan")})


# --- frames -------------------------------------------------------------------------------


def test_frames_survive_arbitrary_chunking():
    arrays = {"X": np.arange(12.0).reshape(6, 2), "k": np.array([3])}
    data = encode_frame({"type": "call", "id": 7}, arrays) + encode_frame({"type": "ping"})
    reader = FrameReader(1 << 20, max_elements=None)
    frames = []
    for i in range(len(data)):
        frames += reader.feed(data[i : i + 1])
    assert reader.pending == 0 and len(frames) == 2
    (header, got), (second, none) = frames
    assert (
        header["type"] == "call" and header["id"] == 7 and none == {} and second["type"] == "ping"
    )
    assert set(got) == {"X", "k"}
    np.testing.assert_array_equal(got["X"], arrays["X"])
    assert got["k"].dtype == np.float64


def test_oversized_frame_is_refused_as_soon_as_its_header_arrives():
    header = json.dumps({"arrays": [["result", 10 * 2**30]]}).encode()
    reader = FrameReader(32 << 20)
    with pytest.raises(ProtocolError, match="too large"):
        reader.feed(raw_frame(header))  # no array bytes sent at all


@pytest.mark.parametrize("length", [0, MAX_HEADER_BYTES + 1, 0xFFFFFFFF])
def test_header_length_out_of_range_is_refused_at_once(length):
    with pytest.raises(ProtocolError):
        FrameReader(32 << 20).feed(struct.pack(">I", length))


def test_frame_whose_header_exceeds_the_reader_cap_is_refused():
    header = json.dumps({"pad": "x" * 1000}).encode()
    with pytest.raises(ProtocolError):
        FrameReader(100).feed(struct.pack(">I", len(header)))
    assert FrameReader(2000).feed(raw_frame(header))[0][0]["pad"] == "x" * 1000


def test_array_bytes_are_checked_against_their_npy_header_inside_a_frame():
    blob = npy(np.zeros(100))
    header = json.dumps({"arrays": [["a", len(blob) - 8]]}).encode()
    with pytest.raises(ProtocolError):
        FrameReader(1 << 20).feed(raw_frame(header, blob[:-8]))


def test_incomplete_frame_stays_pending():
    data = encode_frame({"type": "x"}, {"a": np.zeros(3)})
    reader = FrameReader(1 << 20)
    assert reader.feed(data[:-1]) == []
    assert reader.pending == len(data) - 1


def test_blocking_pipe_round_trip_and_clean_eof():
    read_fd, write_fd = os.pipe()
    try:
        write_frame(write_fd, {"type": "reply", "id": 1}, {"g": np.eye(3)})
        os.close(write_fd)
        write_fd = None
        header, arrays = read_frame(read_fd, 1 << 20)
        assert header["id"] == 1
        np.testing.assert_array_equal(arrays["g"], np.eye(3))
        assert read_frame(read_fd, 1 << 20) is None
    finally:
        os.close(read_fd)
        if write_fd is not None:
            os.close(write_fd)


def test_blocking_read_of_a_truncated_frame_fails():
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, encode_frame({"type": "x"}, {"a": np.zeros(3)})[:-5])
        os.close(write_fd)
        with pytest.raises(ProtocolError):
            read_frame(read_fd, 1 << 20)
    finally:
        os.close(read_fd)


def test_pickle_module_is_not_needed_to_decode_anything(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    reader = FrameReader(1 << 20, max_elements=None)
    [(header, arrays)] = reader.feed(encode_frame({"type": "x"}, {"a": np.arange(3)}))
    np.testing.assert_array_equal(arrays["a"], [0.0, 1.0, 2.0])


def test_an_array_over_the_element_budget_is_not_decoded():
    """A 1-byte dtype would grow 8x as float64: past the reader's budget, only its shape is kept."""
    big = np.zeros(5000, dtype=np.uint8)
    small = np.arange(3.0)
    frame = protocol.encode_frame({"type": "reply"}, {"a": small, "b": big, "c": small})
    reader = protocol.FrameReader(1 << 20)
    reader.max_elements = 1000
    ((_, arrays),) = reader.feed(frame)
    assert isinstance(arrays["b"], protocol.TooLarge) and arrays["b"].shape == (5000,)
    assert np.array_equal(arrays["a"], small) and np.array_equal(arrays["c"], small)
    reader.max_elements = None
    ((_, arrays),) = reader.feed(frame)
    assert arrays["b"].dtype == np.float64 and arrays["b"].size == 5000
    # A reader decodes nothing until it is given a budget (the worker's start-up frames).
    ((_, arrays),) = protocol.FrameReader(1 << 20).feed(frame)
    assert all(isinstance(a, protocol.TooLarge) for a in arrays.values())
