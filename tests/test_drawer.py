"""grader/drawer.py: the figures drawn in a fork of the grader, and every way that can fail.

What it must do: answer with exactly the figures grader/figures.py draws in this process; be
a separate process that holds nothing of ours but its pipes; never hand the grader a pickle;
fall back to drawing here (never losing a figure) when it dies or goes quiet; die with its
parent; and not be left running by a grading without figures.
"""

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from grader import drawer, figures, grade
from grader.cases import Params
from grader.figure_data import EmFit, EstepValues, MstepValues
from grader.paths import PROJECT_ROOT, SOLUTION_PATH

X = np.array([-1.0, 0.0, 4.0, 5.0, 6.0])
REF = Params.of([0.4, 0.6], [0.0, 5.0], [1.0, 1.0])
MINE = Params.of([0.5, 0.5], [1.0, 4.0], [2.0, 1.5])
LLS, REF_LLS = np.array([-20.0, -12.0, -11.0, -11.5]), np.array([-20.0, -12.0, -10.5, -10.2])
MINE_AFTER_MSTEP = {"priors": np.array([0.2, 0.8]), "mus": None, "variances": np.array([1, np.inf])}
ITEMS = [
    EmFit("crafted fit", X, MINE, REF, 3, LLS, REF_LLS, marked=3, why="fell"),
    EstepValues("crafted E-step", X, np.full((5, 2), 0.5), np.tile([0.3, 0.7], (5, 1)), 2),
    MstepValues("crafted M-step", MINE_AFTER_MSTEP, REF, "priors"),
]


@pytest.fixture
def process():
    one = drawer.Drawer()
    assert one.start()
    yield one
    one.close()


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_it_draws_exactly_what_figures_draws_here(process):
    there = process.draw_all(ITEMS)
    here = figures.draw_all(ITEMS)
    assert [f.png for f in there] == [f.png for f in here]
    assert [(f.alt, f.caption) for f in there] == [(f.alt, f.caption) for f in here]
    assert process.draw_all([]) == []  # and it still answers after that


def test_it_is_another_process_holding_nothing_of_ours_but_its_pipes(tmp_path):
    """Of what the grader has open (a file opened here stands for the rest) the fork keeps
    only its two pipes; beyond stdio it may hold only matplotlib's own font files."""
    import matplotlib

    ours = open(tmp_path / "ours", "w")  # noqa: SIM115 - open across the fork, on purpose
    one = drawer.Drawer()
    try:
        assert one.start()
        assert one.draw_all([]) == []  # answered: it has closed what it inherited
        assert one.pid != os.getpid() and _alive(one.pid)
        with open(f"/proc/{one.pid}/stat") as handle:
            assert int(handle.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
        held = {int(fd): os.readlink(f"/proc/{one.pid}/fd/{fd}")
                for fd in os.listdir(f"/proc/{one.pid}/fd")}  # fmt: skip
        assert held[0] == os.devnull and held[1] == held[2]
        pipes = {os.readlink(f"/proc/self/fd/{fd}") for fd in (one._requests, one._replies)}
        rest = {target for fd, target in held.items() if fd > 2} - pipes
        assert len(pipes) == 2 and pipes <= set(held.values())
        assert str(tmp_path / "ours") not in held.values()
        assert all(target.startswith(matplotlib.get_data_path()) for target in rest), rest
    finally:
        one.close()
        ours.close()


def test_a_pickle_from_it_is_refused_not_loaded(tmp_path):
    """Whatever comes back is parsed as JSON: a pickle that would run code is an error."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    one = drawer.Drawer()
    requests_r, one._requests = os.pipe()
    one._replies, replies_w = os.pipe()
    one.pid = os.getpid()  # never signalled: _requests/_replies are closed by hand below
    drawer._write_frame(replies_w, pickle.dumps([Payload()]))
    with pytest.raises(ValueError):
        one.draw_all(ITEMS[:1])
    assert not marker.exists()
    for fd in (requests_r, one._requests, one._replies, replies_w):
        os.close(fd)
    one.pid = None


def test_when_it_dies_the_figures_are_drawn_here_and_the_log_says_so(capfd):
    drawer.start()
    os.kill(drawer._shared.pid, signal.SIGKILL)
    time.sleep(0.1)
    drawn = drawer.draw_all(ITEMS)
    assert [f.png for f in drawn] == [f.png for f in figures.draw_all(ITEMS)]
    assert "the drawing process failed" in capfd.readouterr().err
    assert drawer._shared.pid is None


def test_when_it_goes_quiet_the_grader_waits_at_most_reply_seconds(monkeypatch, capfd):
    monkeypatch.setattr(drawer, "REPLY_SECONDS", 0.5)
    drawer.start()
    stopped = drawer._shared.pid
    os.kill(stopped, signal.SIGSTOP)
    start = time.monotonic()
    drawn = drawer.draw_all(ITEMS[:1])
    assert time.monotonic() - start < 5
    assert drawn[0].png == figures.draw(ITEMS[0]).png
    assert "did not answer" in capfd.readouterr().err
    assert not _alive(stopped)  # killed and reaped


def test_it_dies_with_its_parent():
    """A parent that starts one and is then killed: the drawing process does not stay, even
    while another process keeps its request pipe open (so no EOF tells it: PDEATHSIG does)."""
    script = textwrap.dedent(
        """
        import subprocess, sys, time
        from grader import drawer
        drawer.start()
        keeper = subprocess.Popen(["sleep", "60"], pass_fds=(drawer._shared._requests,))
        print(drawer._shared.pid, keeper.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    child, keeper = map(int, parent.stdout.readline().split())
    try:
        time.sleep(1.0)  # it has imported matplotlib and waits on its pipe
        assert _alive(child)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        for pid in (keeper, child):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_a_grading_without_figures_stops_one_started_early(tmp_path):
    """python -m grader starts it before it has read the config (grader/__main__.py)."""
    drawer.start()
    started = drawer._shared.pid
    result = grade.grade_submission(SOLUTION_PATH, tmp_path / "results.json", figures=False)
    assert result.figure_count == 0
    assert drawer._shared.pid is None and not _alive(started)


def test_a_grading_with_figures_draws_them_in_it(tmp_path, monkeypatch):
    """The reference's fit comes from the drawing process, not this one."""
    monkeypatch.setattr(figures, "draw_all", lambda items: pytest.fail("drawn here"))
    result = grade.grade_submission(SOLUTION_PATH, tmp_path / "results.json", figures=True)
    assert result.figure_count == 1 and drawer._shared.pid is not None


def test_a_batch_slot_replaces_a_dead_drawing_process_between_gradings(monkeypatch):
    """Replaced before the next grading, not during it: the new fork's stderr is then the
    slot's own, never one upload's log."""
    from grader.batch import slot

    seen = []

    def serve_one(request, home_fds):
        pid = drawer._shared.pid
        seen.append((pid, drawer._shared.alive))
        os.kill(pid, signal.SIGKILL)  # it dies during this grading
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:  # dead: a zombie, not yet reaped
            time.sleep(0.01)
        return 0

    monkeypatch.setattr(slot, "_serve_one", serve_one)
    drawer.start()
    replies, reply_fd = os.pipe()
    try:
        slot.serve(['{"argv": [], "log": ""}\n'] * 2, reply_fd)
    finally:
        os.close(replies)
        os.close(reply_fd)
    assert [alive for _, alive in seen] == [True, True] and seen[0][0] != seen[1][0]
