"""Framing and array codec for the channel between the grader and its sandbox worker.

One frame::

    4 bytes   big-endian unsigned length H of the header, 1 <= H <= MAX_HEADER_BYTES
    H bytes   the header: a UTF-8 JSON object; its key "arrays" lists [[name, nbytes], ...]
    ...       for each listed array in order, exactly nbytes of .npy data
              (written by ``np.save(..., allow_pickle=False)``)

Requests (parent -> worker) and replies (worker -> parent) use the same format. The parent
reads replies with :class:`FrameReader` (incremental, for a non-blocking pipe); the worker
uses the blocking :func:`read_frame` / :func:`write_frame`.

This file is imported normally by the grader and the tests, and its *source text* is also
sent to the worker on the command line (grader/sandbox/process.py), where no grader file is
readable. So it may import only the standard library, numpy and grader/strictjson.py.

Security: the worker runs student code that can rewrite any of the worker's code or write
arbitrary bytes to the reply pipe, so everything the parent decodes here is hostile:

* nothing is ever unpickled: arrays are decoded with ``allow_pickle=False`` after their
  .npy header has been checked to describe a plain numeric dtype (kind b/i/u/f, no fields,
  no sub-arrays) whose data fills *exactly* the declared byte count. The header is checked
  *before* ``read_array`` runs, because ``read_array`` on a file-like object allocates the
  array the header announces before it finds out the data is short (a 60-byte forged header
  could otherwise ask for terabytes);
* headers are strict JSON: UTF-8 only, a JSON object at the top, no NaN/Infinity constants,
  no non-finite floats, at most MAX_HEADER_BYTES; the array listing is type-checked;
* the size of a whole frame is capped by the reader (``max_frame_bytes``) as soon as the
  header is known, before the array bytes are waited for.
"""

import io
import json
import os
import struct

import numpy as np

from grader import strictjson

MAX_HEADER_BYTES = 64 * 1024
MAX_ARRAYS = 16
MAX_ARRAY_NAME_CHARS = 64
MAX_NDIM = 32
NUMERIC_KINDS = "biuf"

_LENGTH = struct.Struct(">I")


class ProtocolError(Exception):
    """Bytes on the channel that do not follow this protocol."""


# --- headers -----------------------------------------------------------------------------


def encode_header(header):
    """dict -> compact UTF-8 JSON bytes; refuses NaN/Infinity (not JSON)."""
    return json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")


def decode_header(raw):
    """Header bytes -> dict, strictly (see the module docstring).

    Checks the "arrays" listing: a list of at most MAX_ARRAYS [name, nbytes] pairs with
    unique short string names and non-negative int sizes. Raises ProtocolError.
    """
    if len(raw) > MAX_HEADER_BYTES:
        raise ProtocolError("header too long")
    try:
        header = strictjson.loads(raw)
    except strictjson.JSONError as exc:
        raise ProtocolError(f"header is {exc}") from None
    if type(header) is not dict:
        raise ProtocolError("header is not a JSON object")
    listing = header.get("arrays", [])
    if type(listing) is not list or len(listing) > MAX_ARRAYS:
        raise ProtocolError("bad array listing")
    names = set()
    for item in listing:
        if type(item) is not list or len(item) != 2:
            raise ProtocolError("bad array listing entry")
        name, nbytes = item
        if (
            type(name) is not str
            or not 0 < len(name) <= MAX_ARRAY_NAME_CHARS
            or name in names
            or type(nbytes) is not int
            or nbytes < 0
        ):
            raise ProtocolError("bad array listing entry")
        names.add(name)
    header["arrays"] = [tuple(item) for item in listing]
    return header


# --- arrays ------------------------------------------------------------------------------


def encode_array(array):
    """ndarray -> .npy bytes (np.save with allow_pickle=False)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class TooLarge:
    """Stands in for an array whose declared size is over the reader's element budget: its
    data is never converted (float64 would be up to 8x the bytes that crossed the pipe)."""

    def __init__(self, shape):
        self.shape = shape

    def __repr__(self):
        return f"TooLarge({self.shape})"


def decode_array(data, max_elements=None):
    """.npy bytes -> a new, plain, C-ordered float64 ndarray.

    Accepts only dtype kinds b/i/u/f without fields or sub-arrays (so object, string,
    structured, complex and datetime arrays are refused) whose data is exactly the rest of
    ``data``. Raises ProtocolError for anything else.
    """
    data = bytes(data)
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ProtocolError(f"unsupported .npy version {version}")
    except ProtocolError:
        raise
    except Exception as exc:
        raise ProtocolError(f"bad .npy header ({type(exc).__name__})") from None
    if (
        not isinstance(dtype, np.dtype)
        or dtype.kind not in NUMERIC_KINDS
        or dtype.fields is not None
        or dtype.subdtype is not None
        or dtype.hasobject
        or dtype.itemsize == 0
    ):
        raise ProtocolError("array dtype is not plain numeric")
    if type(shape) is not tuple or len(shape) > MAX_NDIM:
        raise ProtocolError("bad array shape")
    count = 1
    for dim in shape:
        if type(dim) is not int or dim < 0:
            raise ProtocolError("bad array shape")
        count *= dim
    if count * dtype.itemsize != len(data) - fp.tell():
        raise ProtocolError("array data does not match its declared size")
    if max_elements is not None and count > max_elements:
        return TooLarge(shape)
    fp.seek(0)
    try:
        array = np.lib.format.read_array(fp, allow_pickle=False)
    except Exception as exc:
        raise ProtocolError(f"unreadable array data ({type(exc).__name__})") from None
    if fp.tell() != len(data) or type(array) is not np.ndarray or array.shape != shape:
        raise ProtocolError("array data does not match its declared size")
    return np.array(array, dtype=np.float64, order="C")


# --- frames ------------------------------------------------------------------------------


def encode_frame(header, arrays=None):
    """Header dict + {name: ndarray} -> one frame's bytes (header gains the "arrays" key)."""
    blobs = [(name, encode_array(array)) for name, array in (arrays or {}).items()]
    header = dict(header)
    header["arrays"] = [[name, len(blob)] for name, blob in blobs]
    raw = encode_header(header)
    if not 0 < len(raw) <= MAX_HEADER_BYTES:
        raise ValueError(f"frame header of {len(raw)} bytes is too long")
    return b"".join([_LENGTH.pack(len(raw)), raw] + [blob for _, blob in blobs])


class FrameReader:
    """Incremental frame parser for bytes arriving in arbitrary chunks.

    ``feed(chunk)`` returns the frames completed by that chunk, each as
    ``(header, {name: float64 ndarray})``. A frame longer than ``max_frame_bytes`` is refused
    as soon as its header has been read, so at most about ``max_frame_bytes`` is ever
    buffered per frame. Raises ProtocolError; after that the reader must be discarded.
    """

    def __init__(self, max_frame_bytes, max_elements=0):
        self.max_frame_bytes = max_frame_bytes
        # Elements one frame's arrays may decode to, in all (None: no limit). 0 by default: the
        # worker's start-up frames carry no arrays, yet come after the submission's import
        # (a forged "loaded" frame of int8 would decode to 8x its size in float64). The parent
        # sets it per call from the request's sizes; arrays past it arrive as TooLarge.
        self.max_elements = max_elements
        self._buffer = bytearray()
        self._header = None  # parsed header of the frame being received
        self._header_end = 0
        self._frame_end = 0

    @property
    def pending(self):
        """Bytes received that are not yet part of a complete frame."""
        return len(self._buffer)

    def feed(self, chunk):
        self._buffer += chunk
        frames = []
        while True:
            if self._header is None:
                if len(self._buffer) < _LENGTH.size:
                    return frames
                (length,) = _LENGTH.unpack_from(self._buffer)
                if not 0 < length <= MAX_HEADER_BYTES:
                    raise ProtocolError(f"frame header length {length} out of range")
                header_end = _LENGTH.size + length
                if header_end > self.max_frame_bytes:
                    raise ProtocolError("frame too large")
                if len(self._buffer) < header_end:
                    return frames
                header = decode_header(self._buffer[_LENGTH.size : header_end])
                frame_end = header_end + sum(nbytes for _, nbytes in header["arrays"])
                if frame_end > self.max_frame_bytes:
                    raise ProtocolError("frame too large")
                self._header, self._header_end, self._frame_end = header, header_end, frame_end
            if len(self._buffer) < self._frame_end:
                return frames
            arrays = {}
            offset = self._header_end
            left = self.max_elements
            for name, nbytes in self._header["arrays"]:
                arrays[name] = decode_array(self._buffer[offset : offset + nbytes], left)
                if left is not None and not isinstance(arrays[name], TooLarge):
                    left -= arrays[name].size
                offset += nbytes
            frames.append((self._header, arrays))
            del self._buffer[: self._frame_end]
            self._header = None


# --- blocking I/O (worker side) ----------------------------------------------------------


def write_all(fd, data):
    """Write all of ``data`` to a blocking fd."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd, count):
    """``count`` bytes from a blocking fd, or None at end of file before the first byte."""
    parts = []
    got = 0
    while got < count:
        chunk = os.read(fd, min(count - got, 1 << 20))
        if not chunk:
            if got == 0:
                return None
            raise ProtocolError("channel closed in the middle of a frame")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_frame(fd, max_frame_bytes):
    """One frame from a blocking fd as ``(header, arrays)``; None at a clean end of file."""
    prefix = _read_exactly(fd, _LENGTH.size)
    if prefix is None:
        return None
    reader = FrameReader(max_frame_bytes, max_elements=None)  # requests: the trusted parent's
    reader.feed(prefix)
    (length,) = _LENGTH.unpack(prefix)
    if not 0 < length <= MAX_HEADER_BYTES:
        raise ProtocolError(f"frame header length {length} out of range")
    raw = _read_exactly(fd, length) or b""
    frames = reader.feed(raw)
    if not frames:
        header = decode_header(raw)
        body = sum(nbytes for _, nbytes in header["arrays"])
        frames = reader.feed(_read_exactly(fd, body) or b"")
    if len(frames) != 1 or reader.pending:
        raise ProtocolError("incomplete frame")
    return frames[0]


def write_frame(fd, header, arrays=None):
    write_all(fd, encode_frame(header, arrays))
