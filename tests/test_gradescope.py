"""Fast tests of the Gradescope packaging: finding the submission, the autograde flow's wiring,
and the two zips (exact contents, modes, byte-for-byte reproducibility, the handout's stub)."""

import ast
import json
import os
import shutil
import stat
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from grader import gradescope, package, secret
from grader.gradescope import find_submission

ROOT = Path(__file__).resolve().parent.parent
GMM_CLASS = "import numpy as np\n\nclass GMM1D:\n    pass\n"


def write(path: Path, text="", data=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is not None:
        path.write_bytes(data)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- find_submission ---------------------------------------------------------------------


def test_top_level_gmm1d_wins_over_other_candidates(tmp_path):
    write(tmp_path / "gmm1d.py", "# unfinished, no class yet\n")
    write(tmp_path / "gmm1d (2).py", GMM_CLASS)
    found, note = find_submission(tmp_path)
    assert found == tmp_path / "gmm1d.py"
    assert "`gmm1d.py`" in note


def test_renamed_file_defining_the_class_is_graded_and_named(tmp_path):
    write(tmp_path / "notes.txt", "class GMM1D: in a text file does not count\n")
    write(tmp_path / "helper.py", "def f():\n    return 1\n")
    write(tmp_path / "gmm1d (2).py", GMM_CLASS)
    found, note = find_submission(tmp_path)
    assert found == tmp_path / "gmm1d (2).py"
    assert "`gmm1d (2).py`" in note
    assert "no file was named `gmm1d.py`" in note


def test_file_inside_a_folder_is_found(tmp_path):
    write(tmp_path / "lab3" / "solution_em.py", GMM_CLASS)
    found, note = find_submission(tmp_path)
    assert found == tmp_path / "lab3" / "solution_em.py"
    assert "lab3/solution_em.py" in note


def test_several_candidates_prefer_gmm1d_name_then_shallowest_and_list_the_others(tmp_path):
    write(tmp_path / "aaa.py", GMM_CLASS)
    write(tmp_path / "deep" / "er" / "gmm1d_final.py", GMM_CLASS)
    write(tmp_path / "x" / "gmm1d_v2.py", GMM_CLASS)
    found, note = find_submission(tmp_path)
    assert found == tmp_path / "x" / "gmm1d_v2.py"
    assert "`aaa.py`" in note and "deep/er/gmm1d_final.py" in note
    assert "not graded" in note

    write(tmp_path / "gmm1d.py", GMM_CLASS)  # now the top-level name wins outright
    assert find_submission(tmp_path)[0] == tmp_path / "gmm1d.py"


def test_indented_or_subclassing_definitions_count_but_mentions_do_not(tmp_path):
    write(tmp_path / "mention.py", "# we need a class GMM1D here\nx = 'class GMM1D'\n")
    assert find_submission(tmp_path)[0] is None
    write(tmp_path / "real.py", "if True:\n    class GMM1D(object):\n        pass\n")
    assert find_submission(tmp_path)[0] == tmp_path / "real.py"


def test_macos_resource_forks_dotfiles_and_caches_are_ignored(tmp_path):
    write(tmp_path / "__MACOSX" / "gmm1d_copy.py", GMM_CLASS)
    write(tmp_path / "._gmm1d.py", GMM_CLASS)
    write(tmp_path / ".ipynb_checkpoints" / "gmm1d-checkpoint.py", GMM_CLASS)
    write(tmp_path / "__pycache__" / "gmm1d.py", GMM_CLASS)
    found, note = find_submission(tmp_path)
    assert found is None
    assert "`gmm1d.py`" in note


def test_empty_upload_says_so_and_names_the_expected_file(tmp_path):
    found, note = find_submission(tmp_path)
    assert found is None
    assert "empty" in note and "`gmm1d.py`" in note


def test_missing_directory_is_not_an_error(tmp_path):
    found, note = find_submission(tmp_path / "nope")
    assert found is None and "`gmm1d.py`" in note


def test_upload_without_candidates_lists_what_was_uploaded(tmp_path):
    write(tmp_path / "report.pdf", data=b"%PDF-1.4")
    write(tmp_path / "em.txt", "{}")  # (the only .ipynb would be graded: tests/test_notebook.py)
    found, note = find_submission(tmp_path)
    assert found is None
    assert "`em.txt`" in note and "`report.pdf`" in note


def test_nested_gmm1d_without_the_class_is_still_graded(tmp_path):
    # Better to grade it (and report the missing class) than to claim nothing was uploaded.
    write(tmp_path / "lab" / "gmm1d.py", "# started, nothing yet\n")
    found, _ = find_submission(tmp_path)
    assert found == tmp_path / "lab" / "gmm1d.py"


def test_symlinks_are_never_followed(tmp_path):
    # A link named gmm1d.py to the reference solution must not make root grade the solution.
    upload = tmp_path / "submission"
    upload.mkdir()
    secret = write(tmp_path / "source" / "solution" / "gmm1d.py", GMM_CLASS)
    (upload / "gmm1d.py").symlink_to(secret)
    (upload / "other.py").symlink_to(secret)
    (upload / "linked_dir").symlink_to(secret.parent, target_is_directory=True)
    found, note = find_submission(upload)
    assert found is None
    assert "solution" not in note


def test_candidates_are_read_never_imported(tmp_path):
    marker = tmp_path / "imported"
    write(
        tmp_path / "up" / "evil.py",
        f"open({str(marker)!r}, 'w').close()\nclass GMM1D:\n    pass\n",
    )
    found, _ = find_submission(tmp_path / "up")
    assert found == tmp_path / "up" / "evil.py"
    assert not marker.exists()


def test_undecodable_bytes_and_a_huge_file_are_handled(tmp_path):
    write(tmp_path / "latin.py", data=b"# caf\xe9 \xff\xfe\nclass GMM1D:\n    pass\n")
    assert find_submission(tmp_path)[0] == tmp_path / "latin.py"
    big = tmp_path / "big"
    write(
        big / "huge.py",
        data=b"#" * (gradescope.MAX_READ_BYTES + 10) + b"\nclass GMM1D:\n    pass\n",
    )
    assert find_submission(big)[0] is None  # the class sits past the part we read


# --- the autograde flow (grade_submission replaced by a recorder) -------------------------


@pytest.fixture
def fake_grade(monkeypatch):
    calls = []

    def grade_submission(submission, results_path=None, *, note="", limits=None, config=None):
        calls.append((submission, results_path, note))
        results = {
            "score": 3.0,
            "output": note,
            "tests": [{"name": "t", "score": 3.0, "max_score": 5.0}],
        }
        Path(results_path).write_text(json.dumps(results))
        return types.SimpleNamespace(score=3.0, max_score=5.0)

    module = types.ModuleType("grader.grade")
    module.grade_submission = grade_submission
    monkeypatch.setitem(sys.modules, "grader.grade", module)
    return calls


def test_main_grades_the_found_file_into_results_json(tmp_path, monkeypatch, fake_grade, capsys):
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    write(tmp_path / "submission" / "gmm1d (2).py", GMM_CLASS)
    (tmp_path / "results").mkdir()
    write(tmp_path / "submission_metadata.json", json.dumps({"users": [{"name": "Ada Lovelace"}]}))

    assert gradescope.main([]) == 0
    [(submission, results_path, note)] = fake_grade
    assert submission == tmp_path / "submission" / "gmm1d (2).py"
    assert results_path == tmp_path / "results" / "results.json"
    assert "`gmm1d (2).py`" in note
    out = capsys.readouterr().out
    assert "Ada Lovelace" in out and "Score: 3 / 5;" in out


def test_main_passes_none_when_nothing_gradable_was_uploaded(tmp_path, monkeypatch, fake_grade):
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    (tmp_path / "submission").mkdir()
    (tmp_path / "results").mkdir()
    assert gradescope.main([]) == 0
    [(submission, _, note)] = fake_grade
    assert submission is None and "`gmm1d.py`" in note


def test_main_lets_grader_errors_propagate(tmp_path, monkeypatch):
    # run_autograder turns a crash into the fallback results; swallowing it here would hide it.
    def broken(*args, **kwargs):
        raise RuntimeError("sandbox broken")

    module = types.ModuleType("grader.grade")
    module.grade_submission = broken
    monkeypatch.setitem(sys.modules, "grader.grade", module)
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    with pytest.raises(RuntimeError, match="sandbox broken"):
        gradescope.main([])


# --- the autograder zip -------------------------------------------------------------------


def make_project(root: Path) -> Path:
    """A throwaway project tree with everything the zip needs and plenty it must not contain."""
    for name in [
        "setup.sh",
        "run_autograder",
        "requirements.txt",
        "requirements-lock.txt",
        "grader/config.ini",
        "solution/gmm1d.py",
        "grader/__init__.py",
        "grader/grade.py",
        "grader/checks/__init__.py",
        # never shipped:
        "grader/__pycache__/grade.cpython-311.pyc",
        "grader/__pycache__/x.py",
        "grader/notes.txt",
        "tests/test_x.py",
        ".venv/bin/python",
        ".git/config",
        "dist/old.zip",
        "README.md",
        "gmm1d.py",
        "requirements-dev.txt",
        "solution/__pycache__/gmm1d.cpython-311.pyc",
        "solution/draft.py",
        "bench/bench_x.py",
        ".ci/run",
    ]:
        write(root / name, f"# {name}\n")
    return root


AUTOGRADER_ENTRIES = [
    "grader/__init__.py",
    "grader/checks/__init__.py",
    "grader/config.ini",
    "grader/course_secret",
    "grader/grade.py",
    "requirements-lock.txt",
    "requirements.txt",
    "run_autograder",
    "setup.sh",
    "solution/gmm1d.py",
]


def test_autograder_zip_has_exactly_what_grading_needs(tmp_path):
    root = make_project(tmp_path / "proj")
    out = package.build_autograder(root, tmp_path / "out" / "autograder.zip")
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == AUTOGRADER_ENTRIES
        assert archive.read("grader/grade.py") == b"# grader/grade.py\n"
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
        dates = {info.date_time for info in archive.infolist()}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert modes["grader/course_secret"] == 0o600
    others = set(AUTOGRADER_ENTRIES) - {"setup.sh", "run_autograder", "grader/course_secret"}
    assert {modes[name] for name in others} == {0o644}
    assert dates == {(1980, 1, 1, 0, 0, 0)}


def test_the_first_build_creates_the_course_secret_and_later_ones_ship_it(tmp_path, capsys):
    root = make_project(tmp_path / "proj")
    path = root / "grader" / "course_secret"
    assert not path.exists()
    first = package.build_autograder(root, tmp_path / "a.zip")
    assert "created a new course secret" in capsys.readouterr().err
    assert secret.load(path).development is False
    with zipfile.ZipFile(first) as archive:
        assert archive.read("grader/course_secret") == path.read_bytes()
    again = package.build_autograder(root, tmp_path / "b.zip")
    assert "created" not in capsys.readouterr().err
    assert again.read_bytes() == first.read_bytes()  # the same secret, not a new one


def test_a_damaged_course_secret_is_not_shipped(tmp_path):
    root = make_project(tmp_path / "proj")
    write(root / "grader" / "course_secret", "not hex\n")
    with pytest.raises(package.PackageError, match="not 64 hex digits"):
        package.build_autograder(root, tmp_path / "a.zip")
    assert not (tmp_path / "a.zip").exists()


def test_same_sources_give_the_same_bytes(tmp_path):
    root = make_project(tmp_path / "proj")
    first = package.build_autograder(root, tmp_path / "a.zip").read_bytes()
    for path in root.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))  # different mtimes must not matter
    (root / "setup.sh").chmod(0o600)  # nor the working tree's modes
    second = package.build_autograder(root, tmp_path / "b.zip").read_bytes()
    assert first == second
    write(root / "grader" / "grade.py", "# changed\n")
    assert package.build_autograder(root, tmp_path / "c.zip").read_bytes() != first


def test_missing_required_file_is_an_error_not_a_smaller_zip(tmp_path):
    root = make_project(tmp_path / "proj")
    (root / "solution" / "gmm1d.py").unlink()
    with pytest.raises(package.PackageError, match="solution/gmm1d.py"):
        package.build_autograder(root, tmp_path / "a.zip")
    assert not (tmp_path / "a.zip").exists()


def test_real_autograder_zip_unpacks_with_executable_scripts(tmp_path):
    out = tmp_path / "autograder.zip"
    course_secret = tmp_path / "course_secret"  # not the checkout's: tests never create one
    assert package.main(["autograder", "--out", str(out), "--secret", str(course_secret)]) == 0
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    expected_grader = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "grader").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert [n for n in names if n.endswith(".py") and n.startswith("grader/")] == expected_grader
    assert {
        "setup.sh",
        "run_autograder",
        "requirements.txt",
        "requirements-lock.txt",
        "solution/gmm1d.py",
        "grader/config.ini",
    } <= set(names)
    assert not [
        n for n in names if n.split("/")[0] in {"tests", ".git", ".venv", "dist", "bench", ".ci"}
    ]
    assert "gmm1d.py" not in names and "requirements-dev.txt" not in names
    if shutil.which("unzip") is None:
        pytest.skip("no unzip here to check the unpacked modes with")
    subprocess.run(["unzip", "-q", str(out), "-d", str(tmp_path / "x")], check=True)
    assert os.access(tmp_path / "x" / "setup.sh", os.X_OK)
    assert os.access(tmp_path / "x" / "run_autograder", os.X_OK)
    assert not os.access(tmp_path / "x" / "requirements.txt", os.X_OK)
    assert (tmp_path / "x" / "grader" / "course_secret").read_bytes() == course_secret.read_bytes()
    assert stat.S_IMODE(os.stat(tmp_path / "x" / "grader" / "course_secret").st_mode) == 0o600


# --- the handout --------------------------------------------------------------------------

STUB = '''import numpy as np

class GMM1D:
    def estep(self, X):
        """Your code here."""
        raise NotImplementedError("estep")

    def mstep(self, X, gammas):
        raise NotImplementedError


def self_check():
    return 1


def plot_fit(path="gmm1d_fit.png"):
    raise NotImplementedError
'''
HANDOUT_FILES = [
    "HANDOUT.md",
    "gmm1d.ipynb",
    "gmm1d.py",
    "gmm1d_fit_example.png",
    "two_gaussian_1dgm.py",
]
LOCK = "numpy==2.2.6\nscipy==1.15.3\nmatplotlib==3.10.9\n"


def handout_project(root):
    """A throwaway project with the handout's sources: stub, hint, lock, HANDOUT.in.md."""
    make_project(root)
    write(root / "gmm1d.py", STUB)
    write(root / "two_gaussian_1dgm.py", "# hint\n")
    write(root / "requirements-lock.txt", LOCK)
    picture = "def plot_fit(path):\n    open(path, 'wb').write(b'a toy picture')\n"
    write(root / "solution" / "gmm1d.py", picture)
    write(
        root / "HANDOUT.in.md",
        f"# Lab 3\n\n    {{pip_install}}\n\n## Check your work\n\n## See your fit\n\n"
        "## What to submit\n"
        f"{package.GRADING_TABLE_MARKER} -->\n",
    )
    return root


def test_handout_has_exactly_the_student_files(tmp_path):
    root = handout_project(tmp_path / "proj")
    out = package.build_handout(root, tmp_path / "handout.zip")
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == HANDOUT_FILES
        assert archive.read("gmm1d.py") == STUB.encode()
        text = archive.read("HANDOUT.md").decode()
        assert "| 1 | Submission loads" in text
        assert "    pip install numpy==2.2.6 scipy==1.15.3 matplotlib==3.10.9\n" in text
        assert b'"self_check()"' in archive.read("gmm1d.ipynb")
        assert archive.read("gmm1d_fit_example.png") == b"a toy picture"  # the solution's
    # The project's own HANDOUT.md is rewritten to what students get.
    assert (root / "HANDOUT.md").read_text() == package.GENERATED_NOTE + text


def test_the_handout_never_holds_the_course_secret(tmp_path):
    root = handout_project(tmp_path / "proj")
    value = secret.create(root / "grader" / "course_secret").read_bytes().strip()
    with zipfile.ZipFile(package.build_handout(root, tmp_path / "handout.zip")) as archive:
        assert all(value not in archive.read(name) for name in archive.namelist())
        assert archive.namelist() == HANDOUT_FILES


def test_handout_refuses_a_finished_stub(tmp_path):
    root = handout_project(tmp_path / "proj")
    write(root / "gmm1d.py", (ROOT / "solution" / "gmm1d.py").read_text())
    with pytest.raises(package.PackageError, match="NotImplementedError"):
        package.build_handout(root, tmp_path / "handout.zip")
    assert not (tmp_path / "handout.zip").exists()
    assert package.main(["handout", "--root", str(root), "--out", str(tmp_path / "h.zip")]) == 1


def test_handout_without_its_config_or_with_a_bad_one_is_a_message(tmp_path, capsys):
    root = handout_project(tmp_path / "proj")
    out = ["--out", str(tmp_path / "h.zip")]
    write(root / "requirements-lock.txt", "numpy==2.2.6\n")
    assert package.main(["handout", "--root", str(root), *out]) == 1
    assert "requirements-lock.txt pins no scipy" in capsys.readouterr().err
    write(root / "requirements-lock.txt", LOCK)
    write(root / "gmm1d.py", STUB.replace("def self_check", "def check"))
    assert package.main(["handout", "--root", str(root), *out]) == 1
    assert "cannot build gmm1d.ipynb: gmm1d.py defines no self_check()" in capsys.readouterr().err
    write(root / "gmm1d.py", STUB)
    write(root / "grader" / "config.ini", "[limits]\nmemory_mb = lots\n")
    assert package.main(["handout", "--root", str(root), *out]) == 1
    assert "memory_mb" in capsys.readouterr().err
    (root / "grader" / "config.ini").unlink()
    assert package.main(["handout", "--root", str(root), *out]) == 1
    assert "cannot build the handout" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the handout never holds a secret, so none is taken
        package.main(["handout", "--root", str(root), "--secret", "s", *out])


def method_body(path: Path, name: str) -> str:
    """Source text of GMM1D.<name>'s body (without its docstring) in the file at ``path``."""
    source = path.read_text(encoding="utf-8")
    [cls] = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "GMM1D"]
    [fn] = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name]
    statements = [
        n for n in fn.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
    ]
    lines = source.splitlines()[statements[0].lineno - 1 : fn.end_lineno]
    return "\n".join(lines)


def test_real_handout_ships_the_unfinished_stub_and_nothing_secret(tmp_path):
    out = tmp_path / "handout.zip"
    assert package.main(["handout", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == HANDOUT_FILES
        archive.extractall(tmp_path / "h")
        stub = archive.read("gmm1d.py")
        joined = b"".join(archive.read(name) for name in archive.namelist())
    assert stub == (ROOT / "gmm1d.py").read_bytes()
    if (ROOT / "grader" / "course_secret").exists():  # a course's checkout
        assert (ROOT / "grader" / "course_secret").read_bytes().strip() not in joined
    # The reference's E- and M-step code is in nothing students get.
    for method in ("estep", "mstep"):
        body = method_body(ROOT / "solution" / "gmm1d.py", method)
        assert body != method_body(
            ROOT / "gmm1d.py", method
        )  # the comparison below means something
        assert body.encode() not in joined, method
    # And it really is unfinished: both steps raise NotImplementedError when called.
    code = (
        "import numpy as np, gmm1d\n"
        "m = gmm1d.GMM1D(2, seed=0)\n"
        "X = np.array([[0.0], [1.0], [2.0]])\n"
        "for call in (lambda: m.estep(X), lambda: m.mstep(X, np.full((3, 2), 0.5))):\n"
        "    try:\n"
        "        call()\n"
        "    except NotImplementedError:\n"
        "        print('unfinished')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path / "h", capture_output=True, text=True, timeout=60
    )
    assert run.stdout.split() == ["unfinished", "unfinished"], run.stderr


def test_check_stub_accepts_the_repository_stub():
    package.check_stub((ROOT / "gmm1d.py").read_text(encoding="utf-8"))
    tree = ast.parse((ROOT / "gmm1d.py").read_text(encoding="utf-8"))
    assert any(isinstance(n, ast.ClassDef) and n.name == "GMM1D" for n in tree.body)


def test_a_huge_upload_is_examined_only_up_to_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(gradescope, "MAX_FILES", 3)
    for name in ("a.txt", "b.txt", "c.txt"):
        write(tmp_path / name, "x")
    write(tmp_path / "z_gmm.py", GMM_CLASS)  # fourth in walk order: past the cap
    found, note = find_submission(tmp_path)
    assert found is None and "`a.txt`" in note
    monkeypatch.setattr(gradescope, "MAX_FILES", 4)
    assert find_submission(tmp_path)[0] == tmp_path / "z_gmm.py"


def test_lock_pins_every_runtime_requirement_within_its_range():
    """requirements-lock.txt pins each package of requirements.txt (and the packages they
    need), once for each Python, inside the supported range (the e2e test installs it under
    python3 and 3.10)."""
    from packaging.requirements import (
        Requirement,
    )  # pip's vendored copy is not importable; packaging ships with pytest

    root = Path(__file__).resolve().parent.parent
    ranges = {
        Requirement(line).name: Requirement(line).specifier
        for line in (root / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    pins = [
        Requirement(line)
        for line in (root / "requirements-lock.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for version in ("3.10", "3.11", "3.12"):
        active = {
            r.name: r
            for r in pins
            if r.marker is None or r.marker.evaluate({"python_version": version})
        }
        assert set(ranges) <= set(active), version
        assert len(active) == len(
            [
                r
                for r in pins
                if r.name in active
                and (r.marker is None or r.marker.evaluate({"python_version": version}))
            ]
        ), version
        for name, req in active.items():
            (spec,) = req.specifier
            assert spec.operator == "==", (version, name)
            if name in ranges:
                assert spec.version in ranges[name], (version, name)
