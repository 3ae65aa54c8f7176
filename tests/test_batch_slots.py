"""The batch's grading slots (grader/batch/slots.py, slot.py): one long-lived process per job
fed one upload at a time; a crashed slot replaced and its upload retried once; a hung one
killed on the per-upload wall limit; each upload's output in its own log. A stand-in slot
(the first word of each "upload" says what to do) tests the driver in seconds; the real slot
is tested on the stub and the reference against grading each alone."""

import io
import json
import sys
import time
from pathlib import Path

import pytest

from grader import paths
from grader.batch import run_batch
from grader.batch.slot import serve

# Speaks the slot protocol (grader/batch/slot.py) without grading anything.
FAKE_SLOT = r"""
import json, os, sys, time
reply_fd = int(sys.argv[2])
for line in sys.stdin:
    req = json.loads(line)
    sub, results = req["argv"][0], req["argv"][2]
    words = open(sub).read().split() if os.path.exists(sub) else ["missing"]
    with open(os.environ["FAKE_SLOT_LOG"], "a") as log:
        log.write(f"{os.getpid()} {os.path.basename(sub)}\n")
    with open(req["log"], "w") as out:
        out.write(f"graded {os.path.basename(sub)} in slot {os.getpid()}\n")
    mode = words[0]
    if mode == "crash" or (mode == "crashonce" and not os.path.exists(sub + ".seen")):
        open(sub + ".seen", "w").close()
        os._exit(7)
    if mode == "hang":
        time.sleep(120)
    score = 5.0
    test = {"name": "c", "score": score, "max_score": 5.0, "status": "passed",
            "extra_data": {"check": "c", "mistakes": []}}
    data = {"score": score, "execution_time": 0.01, "tests": [test],
            "extra_data": {"complete": True, "submission": "gmm1d.py"}}
    open(results, "w").write(json.dumps(data))
    os.write(reply_fd, b'{"exit": 0}\n')
"""


@pytest.fixture
def fake_slot(tmp_path, monkeypatch):
    script = tmp_path / "fake_slot.py"
    script.write_text(FAKE_SLOT)
    log = tmp_path / "slot.log"
    log.touch()
    monkeypatch.setenv("FAKE_SLOT_LOG", str(log))

    def calls():
        return [line.split() for line in log.read_text().splitlines()]

    return [sys.executable, str(script)], calls


def _folder(tmp_path, files):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _status(outcomes):
    return {o.id: (o.status, o.detail) for o in outcomes}


def test_one_slot_process_per_job_grades_every_upload(tmp_path, fake_slot):
    cmd, calls = fake_slot
    folder = _folder(tmp_path, {f"s{i}.py": "ok" for i in range(8)})
    out = tmp_path / "out"
    _, outcomes = run_batch(folder, out, jobs=2, slot_cmd=cmd, progress_stream=io.StringIO())
    assert {o.status for o in outcomes} == {"graded"} and len(outcomes) == 8
    pids = {pid for pid, _ in calls()}
    assert len(calls()) == 8 and 1 <= len(pids) <= 2  # start-up paid per slot, not per file
    for i in range(8):  # each upload's log holds its own output only
        assert (out / "logs" / f"s{i}.txt").read_text().startswith(f"graded s{i}.py in slot ")


def test_a_crashed_slot_is_replaced_and_its_upload_retried_once(tmp_path, fake_slot):
    cmd, calls = fake_slot
    folder = _folder(tmp_path, {"a.py": "crashonce", "b.py": "crash", "c.py": "ok"})
    out = tmp_path / "out"
    _, outcomes = run_batch(folder, out, jobs=1, slot_cmd=cmd, progress_stream=io.StringIO())
    status = _status(outcomes)
    assert status["a"][0] == "graded"  # retried in a new slot, graded there
    assert status["b"][0] == "failed" and "died (exit status 7), twice" in status["b"][1]
    assert status["c"][0] == "graded"  # the batch carries on in a replacement slot
    made = [name for _, name in calls()]
    assert made.count("a.py") == 2 and made.count("b.py") == 2 and made.count("c.py") == 1
    failure = json.loads((out / "results" / "b.json").read_text())
    assert failure["tests"] == [] and "died" in failure["extra_data"]["batch_error"]


def test_a_hung_slot_is_killed_on_the_wall_limit_and_replaced(tmp_path, fake_slot):
    cmd, calls = fake_slot
    folder = _folder(tmp_path, {"a.py": "hang", "b.py": "ok"})
    out = tmp_path / "out"
    start = time.monotonic()
    _, outcomes = run_batch(
        folder, out, jobs=1, timeout=2, slot_cmd=cmd, progress_stream=io.StringIO()
    )
    assert time.monotonic() - start < 60  # not the stand-in's 120 s sleep
    status = _status(outcomes)
    assert status["a"] == ("failed", "timed out after 2 s") and status["b"][0] == "graded"
    (hung_pid, _), (next_pid, _) = calls()
    assert hung_pid != next_pid and not Path(f"/proc/{hung_pid}").exists()


def test_the_slot_loop_answers_each_request_and_restores_its_output(tmp_path, capfd):
    """serve() runs the single-grade command's main for each request, output to its log."""
    log = tmp_path / "one.txt"
    results = tmp_path / "r.json"
    argv = [str(tmp_path / "absent.py"), "--results", str(results), "--nothing-uploaded"]
    request = {"argv": argv, "log": str(log)}
    import os

    read_fd, write_fd = os.pipe()
    serve([json.dumps(request) + "\n"], write_fd)
    os.close(write_fd)
    assert json.loads(os.read(read_fd, 100)) == {"exit": 0}
    assert "results written to" in log.read_text()
    assert json.loads(results.read_text())["extra_data"]["submission"] is None
    print("after")
    assert "after" in capfd.readouterr().out  # stdout is the process's own again


@pytest.mark.slow
def test_a_real_slot_grades_each_upload_as_if_alone(tmp_path):
    """Stub, reference, stub in one slot: each result equals grading that file on its own
    (nothing of one grading reaches the next)."""
    from grader.grade import grade_submission

    folder = tmp_path / "subs"
    folder.mkdir()
    for name, source in [("1_stub", "gmm1d.py"), ("2_ref", "solution/gmm1d.py"),
                         ("3_stub", "gmm1d.py")]:  # fmt: skip
        (folder / f"{name}.py").write_text((paths.PROJECT_ROOT / source).read_text())
    out = tmp_path / "out"
    _, outcomes = run_batch(folder, out, jobs=1, progress_stream=io.StringIO())
    assert {o.status for o in outcomes} == {"graded"}
    for name in ("1_stub", "2_ref", "3_stub"):
        alone = tmp_path / f"{name}.alone.json"
        grade_submission(folder / f"{name}.py", alone)
        written = json.loads((out / "results" / f"{name}.json").read_text())
        assert written["tests"] == json.loads(alone.read_text())["tests"], name


def test_after_ctrl_c_no_new_slot_starts_and_the_upload_is_recorded(tmp_path, fake_slot):
    """A slot killed by Ctrl-C looks crashed; its retry must not start a new slot."""
    import threading

    from grader.batch.export import Submission
    from grader.batch.jobs import grade_one
    from grader.batch.slots import SlotRunner

    cmd, calls = fake_slot
    (tmp_path / "a.py").write_text("ok")
    for folder in ("results", "logs"):
        (tmp_path / folder).mkdir()
    stop = threading.Event()
    stop.set()
    runner = SlotRunner(lambda s, r, n: [str(s), "--results", str(r)], cmd, None, stop)
    outcome = grade_one(Submission("a", tmp_path / "a.py"), tmp_path, 5, tmp_path, runner)
    assert outcome.status == "failed" and "interrupted" in outcome.detail
    assert calls() == [] and runner.started == 0
    assert "interrupted" in json.loads((tmp_path / "results" / "a.json").read_text())[
        "extra_data"]["batch_error"]  # fmt: skip
