"""Paired submission fixtures, graded end to end through the real CLI.

Every fixture in ``tests/submissions/<kind>/`` is an upload (``<name>.py``, or
``<name>.patch.py`` spliced into today's stub); ``<name>.json`` next to it names the checks it
must fail, and why (tests/submission_fixtures.py; docs/contributing.md).

Each upload is written to a folder of its own and graded by ``python -m grader FILE --results
DIR/results.json --config CFG --secret S`` in a subprocess (its own session, so a hostile
upload that reaches the grader's process group cannot reach pytest), with short sandbox
limits so the hanging fixtures stay cheap. S is one of three course secrets drawn for this
session, in turn: every fixture is graded under one of them, and each correct one under a
second as well (test_many_secrets*.py grades the correct and buggy ones in-process under
twenty more). Gradings run two or three at a time; ``root_only`` fixtures run afterwards,
one at a time, because the attacks they stand for (searching the disk, signalling
everything) would otherwise see the other gradings' files and processes.
"""

import configparser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from grader import checks, config
from grader import secret as secret_module
from grader.feedback import plain
from grader.sandbox import isolation
from tests import results_schema, submission_fixtures
from tests.sandbox_helpers import NEEDS_CAPABILITY, paths_owned, reachable_python

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
# Short sandbox limits for the test config (grader/config.ini with [limits] overridden).
TEST_LIMITS = {
    "call_timeout_seconds": "3",
    "startup_timeout_seconds": "8",
    "total_budget_seconds": "40",
}
CLI_TIMEOUT = 120  # seconds: the bound on one grading, hostile or not
POOL_SIZE = 3
LEFTOVER_GRACE = 3.0  # seconds a killed process may take to disappear after the CLI exits


ALL = submission_fixtures.discover()
CFG = config.load()
SECRETS = 3


def _secrets_for(index, name):
    """Each fixture under one of the secrets in turn; the correct ones, whose full marks are
    the fairness promise, under a second one too."""
    first = index % SECRETS
    return [first, (first + 1) % SECRETS] if name.startswith("correct/") else [first]


GRADINGS = [(n, i) for index, n in enumerate(sorted(ALL)) for i in _secrets_for(index, n)]


def test_fixture_expectations_are_well_formed():
    assert sum(k.startswith("correct/") for k in ALL) >= 7
    assert sum(k.startswith("buggy/") for k in ALL) >= 18
    assert sum(k.startswith("hostile/") for k in ALL) >= 14
    for name, fixture in ALL.items():
        assert submission_fixtures.problems_with(name, fixture.expectation) == [], name


def _valid_results():
    tests = [
        {
            "name": c,
            "number": str(i + 1),
            "score": CFG.checks[c].points,
            "max_score": CFG.checks[c].points,
            "status": "passed",
            "output": "ok",
            "visibility": "visible",
            "extra_data": {"check": c, "mistakes": []},
        }
        for i, c in enumerate(checks.ids())
    ]
    return {"score": CFG.max_score, "execution_time": 1.5, "output": "", "tests": tests}


def _encoded(data):
    return json.dumps(data).encode("utf-8")


@pytest.mark.parametrize(
    "spoil, expected",
    [
        (lambda d: d.update(score=float("nan")), "not strict JSON"),
        (lambda d: d["tests"][3].update(score=float("inf")), "not strict JSON"),
        (lambda d: d.update(score=99.0), "sum of test scores"),
        (lambda d: d.update(execution_time="1.5"), "execution_time"),
        (lambda d: d["tests"][1].update(score=11.0), "outside"),
        (lambda d: d["tests"][1].update(score=-1.0), "outside"),
        (lambda d: d["tests"][1].update(score=True), "finite number"),
        (lambda d: d["tests"][2].update(status="error"), "status"),
        (lambda d: d["tests"][2].update(visibility="secret"), "visibility"),
        (lambda d: d["tests"][2].update(number=3), "number"),
        (lambda d: d["tests"][2].pop("name"), "name"),
        (lambda d: d["tests"][2].update(output="x" * 20_001), "characters"),
        (lambda d: d.update(tests={}), "tests"),
    ],
)
def test_results_schema_rejects(spoil, expected):
    data = _valid_results()
    assert results_schema.problems(_encoded(data)) == []
    spoil(data)
    found = results_schema.problems(_encoded(data))
    assert any(expected in problem for problem in found), found


def test_results_schema_rejects_bytes_level_problems():
    good = _encoded(_valid_results())
    assert results_schema.problems(good) == []
    assert results_schema.problems(good[:-1] + b"\xff")  # invalid UTF-8
    assert results_schema.problems(b"[1, 2]")  # not an object
    assert results_schema.problems(good[:-1] + b", " + b" " * 1_000_000 + b"}")  # too big
    assert results_schema.problems(
        json.dumps(_valid_results(), allow_nan=True)
        .replace('"score": 100.0', '"score": Infinity', 1)
        .encode()
    )


def _proc_matches(markers):
    """(pid, description) of live processes whose cmdline or comm contains a marker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue  # already dead, waiting to be reaped
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{entry}/comm", "rb") as f:
                comm = f.read().decode("utf-8", "replace").strip()
        except (OSError, IndexError):
            continue
        if any(m in cmdline or m in comm for m in markers):
            found.append((int(entry), f"{entry}: comm={comm!r} cmdline={cmdline.strip()[:120]!r}"))
    return found


def _leftovers(markers):
    """Marker processes still alive LEFTOVER_GRACE seconds after grading; they are then killed
    (by pid: they were started by this fixture) so one failure does not leak into the next run."""
    deadline = time.monotonic() + LEFTOVER_GRACE
    while True:
        found = _proc_matches(markers)
        if not found or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pid, _ in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return [description for _, description in found]


def _grade(name, fixture, workdir, config_path, secret_path):
    """Run the CLI on one fixture; everything the assertions need, as a dict."""
    base = workdir / f"{name.replace('/', '__')}__{secret_path.name}"
    base.mkdir()
    (base / "upload").mkdir()
    source = fixture.upload(base / "upload")  # a patch spliced into today's stub
    expectation = fixture.expectation
    results_dir = base / "results"
    results_dir.mkdir(mode=0o700)
    os.chmod(results_dir, 0o700)  # mkdir's mode is filtered by the umask
    cwd = base / "cwd"
    cwd.mkdir()
    results_path = results_dir / "results.json"
    without = expectation.get("sandbox_without", [])
    env = dict(os.environ, PYTHONPATH=str(REPO), GMM1D_SANDBOX_WITHOUT=",".join(without))
    command = [sys.executable, "-m", "grader"]
    if "landlock" in without and os.geteuid() == 0 and NEEDS_CAPABILITY:
        # The real CLI, whose worker runs on an interpreter any uid can reach: without
        # Landlock, pyenv under a mode-700 /root cannot run confined.
        python, why = reachable_python()
        if python is None:
            return {"skip": f"as root without Landlock this interpreter cannot run ({why})"}
        command = [sys.executable, "-c", f"import runpy, sys; sys.executable = {python!r}; "
                   "runpy.run_module('grader', run_name='__main__')"]  # fmt: skip
    started = time.monotonic()
    with open(base / "stdout", "wb") as out, open(base / "stderr", "wb") as err:
        proc = subprocess.Popen(
            [
                *command,
                str(source),
                "--results",
                str(results_path),
                "--config",
                str(config_path),
                "--secret",
                str(secret_path),
            ],  # fmt: skip
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        GRADER_PIDS.append(proc.pid)
        try:
            returncode = proc.wait(timeout=CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = "timeout"
    seconds = time.monotonic() - started
    markers = expectation.get("leftover_markers", [])
    value = secret_path.read_bytes().strip()
    raw = results_path.read_bytes() if results_path.is_file() else b""
    log = (base / "stdout").read_bytes() + (base / "stderr").read_bytes()
    return {
        "upload": str(source),
        "shows_secret": any(v in text for v in (value, value[:16]) for text in (raw, log)),
        "returncode": returncode,
        "seconds": seconds,
        "raw": results_path.read_bytes() if results_path.is_file() else None,
        "stderr_tail": (base / "stderr").read_bytes()[-3000:].decode("utf-8", "replace"),
        "leftovers": _leftovers(markers) if markers else [],
    }


def _selected_gradings(request):
    """(name, secret index) of the test_submission items this session selected."""
    found = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is sys.modules[__name__] and callspec and "name" in callspec.params:
            found.append((callspec.params["name"], callspec.params["secret"]))
    return found


@pytest.fixture(scope="module")
def secret_paths(tmp_path_factory):
    """SECRETS fresh course secrets (random: every session grades under others)."""
    folder = tmp_path_factory.mktemp("secrets")
    return [secret_module.create(folder / f"secret{i}") for i in range(SECRETS)]


@pytest.fixture(scope="module")
def gradings(request, tmp_path_factory, secret_paths):
    """(name, secret index) -> Future of _grade(...), for the gradings this session selected."""
    workdir = tmp_path_factory.mktemp("submissions")
    parser = configparser.ConfigParser()
    with open(REPO / "grader" / "config.ini") as f:
        parser.read_file(f)
    for key, value in TEST_LIMITS.items():
        parser.set("limits", key, value)
    config_path = workdir / "config.ini"
    with open(config_path, "w") as f:
        parser.write(f)

    is_root = os.geteuid() == 0
    # A world-writable folder another tool left in /tmp, for hostile/world_writable_subdir.
    shared_dir = Path(tempfile.mkdtemp(prefix="gmm1d-shared-", dir="/tmp"))
    shared_dir.chmod(0o1777)
    selected = _selected_gradings(request)
    shared = [g for g in selected if not ALL[g[0]].expectation.get("root_only")]
    alone = [g for g in selected if ALL[g[0]].expectation.get("root_only") and is_root]

    def grade(graded):
        name, index = graded
        return _grade(name, ALL[name], workdir, config_path, secret_paths[index])

    pool = ThreadPoolExecutor(max_workers=POOL_SIZE)
    serial = ThreadPoolExecutor(max_workers=1)
    futures = {g: pool.submit(grade, g) for g in shared}
    shared_done = threading.Event()
    wait_all = serial.submit(lambda: (wait(list(futures.values())), shared_done.set()))

    def after_shared(graded):
        wait_all.result()
        return grade(graded)

    futures.update({g: serial.submit(after_shared, g) for g in alone})
    yield futures
    pool.shutdown(wait=True)
    serial.shutdown(wait=True)
    shutil.rmtree(shared_dir, ignore_errors=True)


@pytest.mark.parametrize("name, secret", GRADINGS, ids=[f"{n}-secret{i}" for n, i in GRADINGS])
def test_submission(name, secret, gradings, secret_paths):
    fixture, exp = ALL[name], ALL[name].expectation
    if exp.get("root_only") and os.geteuid() != 0:
        pytest.skip(f"needs root: {exp.get('root_only_reason', 'user separation')}")
    got = gradings[name, secret].result()
    if "skip" in got:
        pytest.skip(got["skip"])
    used = secret_paths[secret].read_text().strip()  # a throwaway secret: safe to show
    context = (f"{name} under the secret {used}: {exp['why']}\n"
               f"--- grader stderr (tail) ---\n{got['stderr_tail']}")  # fmt: skip

    assert got["returncode"] == 0, f"CLI exit status {got['returncode']}\n{context}"
    assert got["raw"] is not None, f"no results file was written\n{context}"
    assert results_schema.problems(got["raw"]) == [], context
    results = json.loads(got["raw"])
    tests = results["tests"]

    summary = "\n".join(
        f"  {t['extra_data']['check']:16} {t['status']:6} {t['score']:>4}/{t['max_score']:<4} "
        f"{t['extra_data'].get('mistakes')} {t['output'][:160]!r}"
        for t in tests
    )
    mismatches = submission_fixtures.verdict_mismatches(tests, exp, CFG)
    assert not mismatches, f"{mismatches}\n{summary}\n{context}"

    outputs = [results.get("output", "")] + [t["output"] for t in tests]
    for path in (str(REPO), str(Path(got["upload"]).parent)):  # the grader's, the upload's
        leaks = [text for text in outputs if path in text]
        assert not leaks, f"feedback shows the path {path}: {leaks[0][:300]!r}"
    assert not got["shows_secret"], f"results or the grader's log show the course secret\n{context}"
    assert results["extra_data"]["inputs"].startswith("course secret "), context
    assert not got["leftovers"], f"processes left behind: {got['leftovers']}\n{context}"
    # Gradescope renders the feedback as Markdown, but for a check with a picture: HTML (which
    # results_schema above holds to what Markdown renders to, and PNG data URLs).
    assert results["output_format"] == "md"
    for t in tests:
        pictured = t["output_format"] == "html" and "data:image/png;base64," in t["output"]
        assert t["output_format"] == "md" or pictured, t["output"][:300]
    for text in outputs:
        ours = plain(text.split("Your code printed:")[0])  # not what the student printed
        named = set(FILE_NAME.findall(ours)) - STUDENT_FILES - {fixture.file_name}
        assert not named, f"feedback names files students do not have: {named}\n{context}"
    if name.startswith("correct/"):  # a diagnosis is right or silent
        named = {t["extra_data"]["check"]: t["extra_data"]["mistakes"] for t in tests}
        assert not any(named.values()), f"a correct file was told of mistakes: {named}"
        assert not any("Likely cause" in t["output"] for t in tests), context


# Every file a student has: the handout zip's, and what they upload.
STUDENT_FILES = {"gmm1d.py", "two_gaussian_1dgm.py", "HANDOUT.md", "gmm1d.ipynb"}
FILE_NAME = re.compile(r"[\w.-]+\.(?:py|md|json|ini|txt|csv|html|yml)\b")


SHARED_PLACES = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


GRADER_PIDS = []  # every grader this module started: their sandbox uids are ours to check


def _ours(uid):
    return any(uid in isolation.uid_range(pid) for pid in GRADER_PIDS)


def _sandbox_uid_traces():
    """Files (at any depth of the shared places) and SysV IPC objects of the sandbox uids of
    this module's gradings (other tests may be grading at the same time, under others)."""
    found = paths_owned(_ours, SHARED_PLACES)
    for kind in ("shm", "sem", "msg"):
        with open(f"/proc/sysvipc/{kind}") as handle:
            header, *rows = [line.split() for line in handle]
        for row in rows:
            entry = dict(zip(header, row))
            if _ours(int(entry["uid"])) or _ours(int(entry["cuid"])):
                found.append(f"SysV {kind} {row[1]}")
    return found


@pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: only then do workers run as sandbox uids"
)
def test_nothing_of_any_sandbox_uid_outlives_the_gradings(gradings):
    """After every fixture above was graded (deep trees, SysV memory, litter in world-writable
    subdirectories among them), no file and no IPC object of a sandbox uid is left."""
    for future in gradings.values():
        future.result()
    assert _sandbox_uid_traces() == []
