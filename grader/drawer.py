"""The drawing process: the feedback's figures are drawn beside the grading, not after it.

matplotlib costs about 0.3 s of CPU to import, most of what grading the reference costs.
Imported in the grader (even in a thread, which holds the GIL), that CPU comes after or
between the checks. So ``python -m grader`` forks this process first thing, once numpy is
imported: the fork imports matplotlib and renders a word (figures.warm_up) on the machine's
other core while the grader and its worker take turns on one, then draws the checks'
figures when they are done (grader/figures.py does the drawing; this module only runs it
elsewhere). In a batch slot the one drawing process serves every grading the slot does.

Trust: a fork of the grader, never of the worker. It runs none of the student's code and
receives only what the grader sends it: the checks' figure data (grader/figure_data.py),
float arrays the sandbox schema had already validated, pickled by the grader itself.
It answers with PNG bytes and our own text, framed as JSON, never a pickle, so the
grader unpickles nothing from any other process. It holds no descriptor but its two pipes and
stdio (stdout is pointed at stderr: a batch slot's stdout is the driver's), dies with the
grader (PR_SET_PDEATHSIG; the reaper too, grader/reaper.py), and leaves the grader's signal
handlers behind. Against the worker it stands where the grader stands: the same uid and the
same process posture, which the worker's layers already keep it away from (docs/grading.md).

If it cannot start, dies or goes quiet for ``REPLY_SECONDS``, the figures are drawn in the
grader's own process, as before: slower, never lost, and said in the log.
"""

import base64
import contextlib
import ctypes
import json
import os
import pickle
import select
import signal
import struct
import sys
import time

REPLY_SECONDS = 30.0  # a figure takes ~0.05 s; only a broken drawer is this slow
PR_SET_PDEATHSIG = 1
_HEADER = struct.Struct("!I")


def _read_exact(fd, size, deadline=None):
    """``size`` bytes from ``fd``; b"" at EOF; TimeoutError once ``deadline`` (monotonic) is
    past."""
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError("the drawing process did not answer")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return b""
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_frame(fd, payload: bytes) -> None:
    data = _HEADER.pack(len(payload)) + payload
    while data:
        data = data[os.write(fd, data) :]


def _read_frame(fd, deadline=None) -> bytes | None:
    header = _read_exact(fd, _HEADER.size, deadline)
    if not header:
        return None
    return _read_exact(fd, _HEADER.unpack(header)[0], deadline)


def _encode(figure) -> dict | None:
    if figure is None:
        return None
    return {"png": base64.b64encode(figure.png).decode(), "alt": figure.alt,
            "caption": figure.caption}  # fmt: skip


def _decode(item):
    from grader.result import Figure

    if item is None:
        return None
    return Figure(base64.b64decode(item["png"], validate=True), str(item["alt"]),
                  str(item["caption"]))  # fmt: skip


def _serve(requests: int, replies: int) -> None:
    """The drawer's whole life: warm up, then answer each request (a pickled list of figure
    data, from the grader) with the list of figures, until EOF."""
    from grader import figures

    figures.warm_up()
    while (frame := _read_frame(requests)) is not None:
        drawn = []
        for data in pickle.loads(frame):  # the grader's own objects (module docstring)
            try:
                drawn.append(_encode(figures.draw(data)))
            except Exception:  # noqa: BLE001 - this figure is left out, the rest still drawn
                import traceback

                print("grader: drawing process: a figure failed:", file=sys.stderr)
                traceback.print_exc()
                drawn.append(None)
        _write_frame(replies, json.dumps(drawn).encode())


def _child(requests: int, replies: int, parent: int) -> None:
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
            signal.signal(signum, signal.SIG_DFL)  # the grader's handlers are not ours
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the grader died before PDEATHSIG was set
            os._exit(1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(2, 1)  # a batch slot's stdout is the driver's: never write there
        keep = {0, 1, 2, requests, replies}
        for fd in map(int, os.listdir("/proc/self/fd")):
            if fd not in keep:
                with contextlib.suppress(OSError):
                    os.close(fd)
        _serve(requests, replies)
        code = 0
    except BaseException:  # noqa: BLE001 - whatever happens, never return into the grader
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)


class Drawer:
    """One drawing process and its two pipes (see the module docstring)."""

    def __init__(self):
        self.pid = None
        self._requests = self._replies = None

    def start(self) -> bool:
        """Fork the drawing process; False (and figures drawn in this process) where that
        fails."""
        try:
            req_r, req_w = os.pipe()
            rep_r, rep_w = os.pipe()
        except OSError:
            return False
        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in (req_r, req_w, rep_r, rep_w):
                os.close(fd)
            print(f"grader: no drawing process ({exc}); figures are drawn here",
                  file=sys.__stderr__)  # fmt: skip
            return False
        if pid == 0:
            _child(req_r, rep_w, parent)  # never returns
        os.close(req_r)
        os.close(rep_w)
        self.pid, self._requests, self._replies = pid, req_w, rep_r
        return True

    @property
    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def draw_all(self, items: list) -> list:
        """The figures of ``items`` (figure data), in order; None where a figure is not drawn.
        Raises OSError / TimeoutError / ValueError when the process fails (the caller draws
        in its own process instead)."""
        if self.pid is None:
            raise OSError("the drawing process is not running")
        _write_frame(self._requests, pickle.dumps(list(items)))
        frame = _read_frame(self._replies, time.monotonic() + REPLY_SECONDS)
        if frame is None:
            raise OSError("the drawing process ended")
        drawn = json.loads(frame)
        if not isinstance(drawn, list) or len(drawn) != len(items):
            raise ValueError("the drawing process answered something else")
        return [_decode(item) for item in drawn]

    def close(self) -> None:
        """Kill the process (it holds nothing to save) and reap it. Never raises."""
        for fd in (self._requests, self._replies):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._requests = self._replies = None
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
        self.pid = None


_shared = Drawer()


_wanted = False  # start() was called and stop() has not been since


def started() -> bool:
    """Whether this process wants a drawing process: started, and not stopped since (it may
    have died meanwhile)."""
    return _wanted


def start() -> None:
    """Start this process's drawing process, unless it is running (a batch slot keeps one
    for all its gradings)."""
    global _wanted
    _wanted = True
    if not _shared.alive:
        _shared.close()
        _shared.start()


def draw_all(items) -> list:
    """The figures of ``items`` (grader/figure_data.py), drawn by the drawing process, or in
    this one where it is not running or fails (said in the log)."""
    items = list(items)
    if not items:
        return []
    if _shared.pid is not None:
        try:
            return _shared.draw_all(items)
        except (OSError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            print(f"grader: the drawing process failed ({exc}); figures are drawn here",
                  file=sys.__stderr__)  # fmt: skip
            _shared.close()
    from grader import figures

    return figures.draw_all(items)


def stop() -> None:
    """End this process's drawing process (if any)."""
    global _wanted
    _wanted = False
    _shared.close()
