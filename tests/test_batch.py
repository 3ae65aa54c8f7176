"""The batch regrader: isolation, failures on our side, reruns, grades.csv, and (slow) the real
grader end to end on the export-shaped fixture, compared with grading each file on its own."""

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader import batch, checks, paths, secret
from grader.batch import JobResult, Progress, run_batch
from grader.batch.gradebook import write_grades_csv
from grader.batch.records import CheckResult, Record
from grader.sandbox import isolation

FIXTURE = Path(__file__).parent / "batch_export"

# A stand-in for `python -m grader FILE --results PATH`: the first word of the "submission"
# says what to do, so the batch's handling of every way a grading can end is tested in seconds.
FAKE_GRADER = r"""
import json, os, subprocess, sys, time
sub, results, note = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.environ["FAKE_GRADER_LOG"], "a") as log:
    log.write(os.path.basename(sub) + ("" if os.path.exists(sub) else " (missing)") + "\n")
words = open(sub).read().split() if os.path.exists(sub) else ["missing"]
mode = words[0] if words else "empty"
print("fake grader output for", sub)
if mode == "hang":  # and leave a grandchild holding our output open
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    open(os.environ["FAKE_GRADER_PIDS"], "a").write(f"{child.pid}\n")
    time.sleep(120)
if mode == "crash":
    sys.exit(3)
if mode == "nan":
    open(results, "w").write('{"score": NaN, "tests": []}')
    sys.exit(0)
complete = mode != "placeholder"
scores = [float(w) for w in words[1:]] if mode == "ok" else [0.0, 0.0]
tests = [{"name": f"Check {i}", "number": str(i + 1), "score": s, "max_score": 5.0,
          "status": "passed" if s == 5.0 else "failed", "output": note,
          "extra_data": {"check": f"check_{i}", "mistakes": []}} for i, s in enumerate(scores)]
data = {"score": sum(scores), "execution_time": 0.01, "output": note, "tests": tests,
        "extra_data": {"complete": complete}}
open(results, "w").write(json.dumps(data))
"""


@pytest.fixture
def fake(tmp_path, monkeypatch):
    script = tmp_path / "fake_grader.py"
    script.write_text(FAKE_GRADER)
    log, pids = tmp_path / "fake.log", tmp_path / "fake.pids"
    log.touch()
    pids.touch()
    monkeypatch.setenv("FAKE_GRADER_LOG", str(log))
    monkeypatch.setenv("FAKE_GRADER_PIDS", str(pids))

    class Fake:
        def command(self, submission, results, note=""):
            return [sys.executable, str(script), str(submission), str(results), note]

        def calls(self):
            return sorted(log.read_text().splitlines())

        def reset(self):
            log.write_text("")

        def pids(self):
            return [int(p) for p in pids.read_text().split()]

    return Fake()


def _plain(tmp_path, files):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


def test_every_ending_of_a_grading_is_recorded_and_the_batch_carries_on(tmp_path, fake):
    folder = _plain(
        tmp_path,
        {
            "good.py": "ok 5 5",
            "half.py": "ok 5 2.5",
            "crash.py": "crash",
            "hang.py": "hang",
            "nan.py": "nan",
            "cut.py": "placeholder",
        },
    )
    out = tmp_path / "out"
    records, outcomes = run_batch(
        folder, out, jobs=3, timeout=3, command=fake.command, progress_stream=io.StringIO()
    )

    status = {o.id: o.status for o in outcomes}
    assert status == {
        "good": "graded",
        "half": "graded",
        "crash": "failed",
        "hang": "failed",
        "nan": "failed",
        "cut": "failed",
    }
    rows = {r["submission_id"]: r for r in _csv(out / "grades.csv")}
    assert list(rows) == ["crash", "cut", "good", "half", "hang", "nan"]  # sorted by id
    assert (rows["good"]["total"], rows["good"]["check_0"], rows["good"]["check_1"]) == (
        "10",
        "5",
        "5",
    )
    assert (rows["half"]["total"], rows["half"]["check_1"]) == ("7.5", "2.5")
    for bad in ["crash", "hang", "nan", "cut"]:  # no grade, not a zero
        assert rows[bad]["total"] == "" and rows[bad]["check_0"] == ""

    def error(sub_id):
        return json.loads((out / "results" / f"{sub_id}.json").read_text())["extra_data"]

    assert "timed out after 3 s" in error("hang")["batch_error"]
    assert "exited with code 3" in error("crash")["batch_error"]
    assert "no valid results" in error("nan")["batch_error"]
    assert error("cut")["complete"] is False  # the grader's own placeholder is kept as written
    assert "fake grader output" in (out / "logs" / "crash.txt").read_text()
    assert not list((out / "results").glob(".*"))  # no temporary files left behind
    # the hanging grader's whole process group was killed, grandchild included
    (grandchild,) = fake.pids()
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_rerun_skips_graded_retries_failed_and_redo_regrades_all(tmp_path, fake):
    folder = _plain(tmp_path, {"a.py": "ok 5 5", "b.py": "ok 0 5", "c.py": "crash"})
    out = tmp_path / "out"
    run_batch(folder, out, jobs=2, command=fake.command, progress_stream=io.StringIO())
    assert fake.calls() == ["a.py", "b.py", "c.py"]

    fake.reset()
    (folder / "c.py").write_text("ok 1 1")  # whatever broke on our side is fixed
    stream = io.StringIO()
    _, outcomes = run_batch(folder, out, jobs=2, command=fake.command, progress_stream=stream)
    assert fake.calls() == ["c.py"]
    assert sorted(o.id for o in outcomes if o.status == "skipped") == ["a", "b"]
    assert "2 already graded, skipped" in stream.getvalue()
    assert [r["total"] for r in _csv(out / "grades.csv")] == [
        "10",
        "5",
        "2",
    ]  # rebuilt from all files

    fake.reset()
    (folder / "a.py").write_text("ok 0 0")
    run_batch(folder, out, jobs=2, redo=True, command=fake.command, progress_stream=io.StringIO())
    assert fake.calls() == ["a.py", "b.py", "c.py"]
    assert [r["total"] for r in _csv(out / "grades.csv")] == ["0", "5", "2"]


def test_a_corrupted_results_file_is_regraded_not_trusted(tmp_path, fake):
    folder = _plain(tmp_path, {"a.py": "ok 5 5"})
    out = tmp_path / "out"
    run_batch(folder, out, command=fake.command, progress_stream=io.StringIO())
    (out / "results" / "a.json").write_text('{"score": 10, "tests": [')
    fake.reset()
    run_batch(folder, out, command=fake.command, progress_stream=io.StringIO())
    assert fake.calls() == ["a.py"]


def test_export_folder_metadata_missing_file_and_note(tmp_path, fake):
    out = tmp_path / "out"
    records, _ = run_batch(
        FIXTURE, out, jobs=2, command=fake.command, progress_stream=io.StringIO()
    )
    # nothing gradable in 1003: the grader gets a path that does not exist
    assert "gmm1d.py (missing)" in fake.calls()
    # the note saying which file was graded reaches the grader
    output = json.loads((out / "results" / "1004.json").read_text())["output"]
    assert "gmm1d (2).py" in output
    rows = {r["submission_id"]: r for r in _csv(out / "grades.csv")}
    assert rows["1001"]["names"] == 'Ada Lovelace; =HYPERLINK("http://evil.example/","click me")'
    assert rows["1001"]["sids"] == "1815; 0042"
    assert rows["1001"]["emails"] == "ada@example.edu; mallory@example.edu"
    assert rows["1004"]["names"] == "Grace O'Hopper"


def test_csv_cells_cannot_start_a_formula_and_numbers_are_clean(tmp_path):
    records = [
        Record(
            "s1",
            names=("=cmd|'/c calc'!A1",),
            sids=("+1",),
            emails=("@x",),
            total=0.1 + 0.2,
            checks={"c": CheckResult(0.1 + 0.2, 1.0, False)},
        ),
        Record(
            "s2",
            names=("-2+3", "Plain Name"),
            total=10.0,
            checks={"c": CheckResult(-1.0, 1.0, False)},
        ),
        Record("s0", names=("\tTab",), total=None, error="crashed"),
    ]
    write_grades_csv(tmp_path / "g.csv", records)
    lines = (tmp_path / "g.csv").read_text().splitlines()
    assert lines[0] == "submission_id,names,sids,emails,total,c"
    assert lines[1] == "s0,'\tTab,,,,"
    assert lines[2] == "s1,'=cmd|'/c calc'!A1,'+1,'@x,0.3,0.3"
    assert lines[3] == "s2,'-2+3; Plain Name,,,10,-1"  # a number stays a number


def test_progress_bar_on_a_terminal_and_lines_in_a_log():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    bar = Progress(total=4, skipped=1, stream=tty)
    bar.update(JobResult("a", "graded", 1.0))
    bar.close()
    assert "\r[" + "#" * 15 + "." * 15 + "] 2/4 graded (1 skipped)\n" in tty.getvalue()
    assert tty.getvalue().startswith("\r[#######.......................] 1/4 graded (1 skipped)")

    log = io.StringIO()
    lines = Progress(total=3, skipped=0, stream=log)
    lines.update(JobResult("a", "graded", 1.25))
    lines.update(JobResult("b", "failed", 2.0, "timed out after 2 s"))
    assert log.getvalue().splitlines() == [
        "[1/3] a: graded (1.2 s)",
        "[2/3] b: GRADER FAILED: timed out after 2 s (2.0 s)",
    ]


def test_cli_rejects_bad_input(tmp_path, capsys):
    assert batch.main([str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "not a folder or a zip file" in capsys.readouterr().err
    folder = _plain(tmp_path, {"a.py": "print(1)"})
    bad_config = tmp_path / "config.ini"
    bad_config.write_text("[limits]\nmemory_mb = lots\n")
    out = tmp_path / "out-2"
    # A config every grading would refuse stops the batch before it grades anyone.
    assert batch.main([str(folder), "--out", str(out), "--config", str(bad_config)]) == 2
    assert "memory_mb" in capsys.readouterr().err and not out.exists()
    taken = tmp_path / "a-file"
    taken.write_text("")
    assert batch.main([str(folder), "--out", str(taken)]) == 2  # a message, not a traceback
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        batch.main([str(tmp_path), "--jobs", "0"])


# --- the real grader, end to end -----------------------------------------------------------------


@pytest.fixture(scope="module")
def short_config(tmp_path_factory):
    """grader/config.ini with shorter limits, so the hanging upload costs seconds, not 20 s."""
    text = (paths.CONFIG_PATH).read_text()
    for key, value in [
        ("call_timeout_seconds", "5"),
        ("startup_timeout_seconds", "5"),
        ("total_budget_seconds", "40"),
    ]:
        text, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
        assert n == 1, key
    path = tmp_path_factory.mktemp("config") / "config.ini"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def course_secret(tmp_path_factory):
    """A course secret of this module's own (not the checkout's, not the development one)."""
    return secret.create(tmp_path_factory.mktemp("secret") / "course_secret")


@pytest.fixture(scope="module")
def graded_fixture(tmp_path_factory, short_config, course_secret):
    """The fixture export regraded once by `python -m grader batch` (the CLI that make runs)."""
    out = tmp_path_factory.mktemp("batch") / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(FIXTURE),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--config",
            str(short_config),
            "--timeout",
            "120",
            "--secret",
            str(course_secret),
        ],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out, proc


@pytest.mark.slow
def test_batch_totals_equal_grading_each_file_alone(graded_fixture, short_config, course_secret):
    from grader import config as config_module
    from grader.grade import grade_submission
    from grader.writers.gradescope import to_gradescope_dict

    out, proc = graded_fixture
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["submission_id"]: r for r in _csv(out / "grades.csv")}
    assert sorted(rows) == ["1001", "1002", "1003", "1004", "1005"]
    cfg = config_module.load(short_config)
    alone = {
        "1001": FIXTURE / "submission_1001" / "gmm1d.py",
        "1002": FIXTURE / "submission_1002" / "gmm1d.py",
        "1003": None,
        "1004": FIXTURE / "submission_1004" / "gmm1d (2).py",
        "1005": FIXTURE / "submission_1005" / "gmm1d.py",
    }
    for sub_id, path in alone.items():
        single = to_gradescope_dict(
            grade_submission(path, config=cfg, course_secret=secret.load(course_secret))
        )
        assert float(rows[sub_id]["total"]) == single["score"], sub_id
        for test in single["tests"]:
            assert float(rows[sub_id][test["extra_data"]["check"]]) == test["score"], (
                sub_id,
                test["name"],
            )
        written = json.loads((out / "results" / f"{sub_id}.json").read_text())
        # The same secret, the same inputs: every check's verdict and feedback, to the byte.
        assert written["tests"] == single["tests"], sub_id
        assert written["extra_data"]["inputs"] == single["extra_data"]["inputs"]
        assert written["extra_data"]["inputs"] == secret.load(course_secret).label
    max_total = sum(t["max_score"] for t in single["tests"])
    assert float(rows["1001"]["total"]) == max_total  # a correct upload gets full marks
    assert (
        float(rows["1005"]["total"]) == 0
    )  # the hanging one is graded (zero), not a batch failure
    assert float(rows["1003"]["total"]) == 0
    assert 0 < float(rows["1004"]["total"]) < max_total


@pytest.mark.slow
def test_batch_csv_report_and_summary(graded_fixture):
    out, proc = graded_fixture
    lines = _csv(out / "grades.csv")
    with open(out / "grades.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[:5] == ["submission_id", "names", "sids", "emails", "total"]
    assert header[5:] == checks.ids()
    assert lines[0]["sids"] == "1815; 0042"
    html = (out / "report.html").read_text()
    assert (
        "<script>alert" not in html
        and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Bobby Tables" in html
    )
    totals = sorted(float(r["total"]) for r in lines)
    assert 'id="stat-count" data-value="5"' in html
    assert "count 5, mean" in proc.stdout and "Most-failed checks: " in proc.stdout
    assert re.search(
        r"^Inputs: course secret [0-9a-f]{8} \(5 submission\(s\)\)$", proc.stdout, re.M
    )
    assert "different secrets" not in proc.stdout
    assert f"median {totals[2]:g}" in proc.stdout
    assert set((out / "results").iterdir()) == {
        out / "results" / f"100{i}.json" for i in range(1, 6)
    }
    # Every grading's sandbox layers, from its results, in the summary and the report.
    layers = {
        json.loads(path.read_text())["extra_data"].get("sandbox", {}).get("layers")
        for path in (out / "results").iterdir()
        if json.loads(path.read_text())["extra_data"].get("sandbox")
    }
    assert layers and all(f"Sandbox: {layer} (" in proc.stdout for layer in layers)
    assert 'id="sandbox"' in html and all(layer in html for layer in layers)


@pytest.mark.slow
def test_zip_input_gives_the_same_grades_as_the_folder(tmp_path, graded_fixture, short_config):
    out_folder, _ = graded_fixture
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(FIXTURE.rglob("*")):
            if path.is_file() and path.parent.name != "submission_1005":  # skip the slow one
                z.write(path, "assignment_1_export/" + path.relative_to(FIXTURE).as_posix())
    out = tmp_path / "out"
    records, outcomes = run_batch(
        archive, out, jobs=2, config=short_config, progress_stream=io.StringIO()
    )
    by_folder = {r["submission_id"]: r for r in _csv(out_folder / "grades.csv")}
    by_zip = _csv(out / "grades.csv")
    # 1005 has metadata but no files in this zip: listed, graded as nothing uploaded
    assert [r["submission_id"] for r in by_zip] == ["1001", "1002", "1003", "1004", "1005"]
    for row in by_zip[:4]:
        assert row == by_folder[row["submission_id"]]
    assert by_zip[4]["total"] == "0" and by_zip[4]["names"] == "Loopy McLoopface"


def test_redo_starts_the_submissions_that_were_slowest_last_time(tmp_path, fake):
    folder = _plain(tmp_path, {"a.py": "ok 5 5", "b.py": "ok 5 5", "c.py": "ok 5 5"})
    out = tmp_path / "out"
    run_batch(folder, out, jobs=1, command=fake.command, progress_stream=io.StringIO())
    for name, seconds in (("a", 0.2), ("b", 20.0), ("c", 3.0)):  # b hung for its time limit
        path = out / "results" / f"{name}.json"
        data = json.loads(path.read_text())
        data["execution_time"] = seconds
        path.write_text(json.dumps(data))
    log = Path(os.environ["FAKE_GRADER_LOG"])
    log.write_text("")
    run_batch(folder, out, jobs=1, redo=True, command=fake.command, progress_stream=io.StringIO())
    assert log.read_text().split() == ["b.py", "c.py", "a.py"]  # in start order, one job


def _support(**changes):
    fields = dict(root=False, landlock_abi=0, landlock_why="no Landlock here", seccomp=True,
                  seccomp_why="", forced_off=frozenset())  # fmt: skip
    fields.update(changes)
    return isolation.Support(**fields)


def test_a_batch_on_a_normal_account_without_landlock_is_refused_unless_allowed(capsys):
    refusal = batch.unconfined_refusal(_support(), allowed=False)
    assert refusal.startswith("no Landlock here. On a normal account nothing else keeps")
    assert "--allow-unconfined" in refusal and "Linux container" in refusal
    assert "WARNING: no Landlock here: student code can read" in capsys.readouterr().err
    assert batch.unconfined_refusal(_support(), allowed=True) == ""
    assert batch.unconfined_refusal(_support(root=True), allowed=False) == ""
    assert batch.unconfined_refusal(_support(landlock_abi=7), allowed=False) == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="the refusal is for normal accounts: "
                    "make test-unprivileged runs this as one")  # fmt: skip
def test_the_batch_command_refuses_without_landlock_on_a_normal_account(tmp_path):
    folder = _plain(tmp_path, {"a.py": "whatever"})
    env = dict(os.environ, GMM1D_SANDBOX_WITHOUT="landlock")
    command = [sys.executable, "-m", "grader", "batch", str(folder), "--out", str(tmp_path / "o")]
    proc = subprocess.run(command, cwd=paths.PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "--allow-unconfined" in proc.stderr
    assert not (tmp_path / "o").exists()


HOSTILE = Path(__file__).parent / "submissions" / "hostile"


def _hostile_class(root):
    """An export: the reference, the stub, and issue 9's attacks, each with a named student."""
    uploads = {
        "2001": paths.SOLUTION_PATH,
        "2002": paths.PROJECT_ROOT / "gmm1d.py",
        "2003": HOSTILE / "deep_tree.py",
        "2004": HOSTILE / "sysv_leftover.py",
        "2005": HOSTILE / "world_writable_subdir.py",
        "2006": HOSTILE / "read_gradebook.py",
    }
    lines = ["---"]
    for sid, source in uploads.items():
        (root / f"submission_{sid}").mkdir(parents=True)
        (root / f"submission_{sid}" / "gmm1d.py").write_bytes(source.read_bytes())
        lines += [f"submission_{sid}:", "  :submitters:", f"  - :name: Student Number{sid}",
                  f"    :sid: 'SID{sid}'", f"    :email: student{sid}@example.edu"]  # fmt: skip
    (root / "submission_metadata.yml").write_text("\n".join(lines) + "\n")
    return uploads


@pytest.mark.slow
def test_a_hostile_class_is_graded_in_full_and_a_rerun_leaks_nothing_of_the_gradebook(
    tmp_path, short_config
):
    """Every other grade is written whatever one submission does (a 3,000-level tree, SysV
    memory, litter, reading the gradebook); the outputs are the instructor's alone; a rerun's
    feedback holds nothing of the previous run's grades.csv."""
    export = tmp_path / "export"
    _hostile_class(export)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "batch", str(export), "--out", str(out),
               "--jobs", "2", "--config", str(short_config)]  # fmt: skip
    runs = [subprocess.run(command + extra, cwd=paths.PROJECT_ROOT, capture_output=True,
                           text=True, timeout=600) for extra in ([], ["--redo"])]  # fmt: skip
    for proc in runs:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    totals = {row["submission_id"]: row["total"] for row in _csv(out / "grades.csv")}
    assert totals == {"2001": "100", "2002": "0", "2003": "0", "2004": "0", "2005": "0",
                      "2006": "0"}  # fmt: skip
    for path, mode in ((out, 0o700), (out / "results", 0o700), (out / "logs", 0o700),
                       (out / "grades.csv", 0o600), (out / "report.html", 0o600)):  # fmt: skip
        assert path.stat().st_mode & 0o777 == mode, path
    for path in [*(out / "results").iterdir(), *(out / "logs").iterdir()]:  # graded or not
        assert path.stat().st_mode & 0o777 == 0o600, path
    rerun = json.loads((out / "results" / "2006.json").read_text())
    feedback = json.dumps(rerun)
    for private in ("Student Number", "SID200", "@example.edu", "submission_id"):
        assert private not in feedback, private
    assert "no /proc: PermissionError" in feedback or "no grades.csv: PermissionError" in feedback
