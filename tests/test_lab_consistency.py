"""The lab's files agree with each other.

* ``solution/gmm1d.py`` is literally the stub with ``estep``/``mstep`` written: apart from the
  module docstring, those two method bodies and private helpers only they use, the two files
  have the same code (compared as ASTs, so comments and formatting may differ). The self-check,
  ``pdf``, the constructor, ``log_likelihood``, ``em`` and ``fit`` cannot drift apart.
* HANDOUT.md's grading table and limits match ``grader/config.ini``, its install command
  requirements-lock.txt, and the repository's HANDOUT.md is the text students get.
"""

import ast
import re

from grader import checks, config, package, paths
from tests import submission_fixtures

STUB_PATH = paths.PROJECT_ROOT / paths.SUBMISSION_FILENAME
HANDOUT_PATH = paths.PROJECT_ROOT / "HANDOUT.md"
HANDOUT_SOURCE = paths.PROJECT_ROOT / package.HANDOUT_SOURCE
STUDENT_METHODS = ("estep", "mstep")


def _top_level_name(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ):
        return node.targets[0].id
    return None


def _without_student_bodies(node):
    """A class node whose estep/mstep keep their signature and docstring only."""
    if not (isinstance(node, ast.ClassDef) and node.name == paths.CLASS_NAME):
        return node
    node = ast.parse(ast.unparse(node)).body[0]  # a copy we may edit
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name in STUDENT_METHODS:
            doc = ast.get_docstring(item, clean=False)
            item.body = [ast.Expr(ast.Constant(doc))] if doc is not None else [ast.Pass()]
    return node


def _student_bodies(tree):
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == paths.CLASS_NAME)
    return [
        item
        for item in cls.body
        if isinstance(item, ast.FunctionDef) and item.name in STUDENT_METHODS
    ]


def differences(stub_source, solution_source):
    """What differs between stub and solution outside the places the solution may differ."""
    stub, solution = ast.parse(stub_source), ast.parse(solution_source)
    for tree in (stub, solution):
        if ast.get_docstring(tree) is not None:
            tree.body = tree.body[1:]
    stub_names = {_top_level_name(n) for n in stub.body}
    helpers = {
        _top_level_name(n): n
        for n in solution.body
        if _top_level_name(n) not in stub_names and isinstance(n, ast.FunctionDef)
    }
    problems = [
        f"solution-only helper {name!r} must be private (start with '_')"
        for name in helpers
        if not name.startswith("_")
    ]
    shared = [n for n in solution.body if _top_level_name(n) not in helpers]
    stub_dump = [ast.dump(_without_student_bodies(n)) for n in stub.body]
    solution_dump = [ast.dump(_without_student_bodies(n)) for n in shared]
    for index in range(max(len(stub_dump), len(solution_dump))):
        a = stub_dump[index] if index < len(stub_dump) else None
        b = solution_dump[index] if index < len(solution_dump) else None
        if a != b:
            node = (stub.body + [None] * len(solution_dump))[index] or shared[index]
            where = _top_level_name(node) or f"statement at line {node.lineno}"
            problems.append(f"top-level #{index + 1} ({where}) differs between stub and solution")
    # The helpers may only be used by estep/mstep (or by each other): shared code that called
    # one would work in the solution and break in the stub.
    allowed = _student_bodies(solution) + list(helpers.values())
    allowed_ids = {id(n) for tree in allowed for n in ast.walk(tree)}
    for node in ast.walk(solution):
        if isinstance(node, ast.Name) and node.id in helpers and id(node) not in allowed_ids:
            problems.append(
                f"shared code uses the solution-only helper {node.id!r} (line {node.lineno})"
            )
    return problems


def test_solution_is_the_stub_with_estep_and_mstep_written():
    assert differences(STUB_PATH.read_text(), paths.SOLUTION_PATH.read_text()) == []


def test_the_sameness_check_notices_drift():
    stub, solution = STUB_PATH.read_text(), paths.SOLUTION_PATH.read_text()
    # The solution's own E-step may differ, and so may a private helper only it uses...
    assert differences(stub, solution + "\n\ndef _unused_helper():\n    return 1\n") == []
    # ...but nothing shared: fit's default, the self-check's data, a constant, log_likelihood.
    for old, new in [
        (
            "def fit(self, X, max_iters=1000, delta=DELTA):",
            "def fit(self, X, max_iters=999, delta=DELTA):",
        ),
        ("rng = np.random.RandomState(200 + k)", "rng = np.random.RandomState(201 + k)"),
        ("DELTA = 1e-9", "DELTA = 1e-8"),
        ("top[~np.isfinite(top)] = 0.0", "top[np.isnan(top)] = 0.0"),
    ]:
        assert solution.count(old) == 1, old
        assert differences(stub, solution.replace(old, new)), f"not noticed: {old} -> {new}"
    # A public extra function, and shared code calling a solution-only helper, are both refused.
    assert differences(stub, solution + "\n\ndef helper():\n    return 1\n")
    uses_helper = (
        solution.replace(
            "        self.mstep(X, self.estep(X))", "        self.mstep(X, _unused_helper())"
        )
        + "\n\ndef _unused_helper():\n    pass\n"
    )
    assert any("_unused_helper" in p for p in differences(stub, uses_helper))


def test_estep_and_mstep_keep_the_stubs_signatures_and_docstrings():
    stub, solution = ast.parse(STUB_PATH.read_text()), ast.parse(paths.SOLUTION_PATH.read_text())
    for a, b in zip(_student_bodies(stub), _student_bodies(solution)):
        assert ast.dump(a.args) == ast.dump(b.args) and ast.get_docstring(a) == ast.get_docstring(b)
    assert [m.name for m in _student_bodies(stub)] == list(STUDENT_METHODS)


def test_the_handout_students_get_has_the_graders_table_and_limits(tmp_path):
    """HANDOUT.md holds a marker and placeholders; the handout zip has the registry's checks
    with the config's points, and the config's limits (so they can never disagree)."""
    source = HANDOUT_SOURCE.read_text()
    assert source.count(package.GRADING_TABLE_MARKER) == 1
    cfg = config.load(_config_with(tmp_path, "[estep_values]\npoints = 20\n"))
    text = package.handout_text(tmp_path / "project")
    rows = re.findall(r"^\| (\d+) \| ([^|]+?) \| (\d+) \|", text, flags=re.M)
    assert [int(n) for n, _, _ in rows] == list(range(1, len(checks.ids()) + 1))
    assert [title for _, title, _ in rows] == [c.title for c in checks.REGISTRY.values()]
    assert [float(points) for _, _, points in rows] == [c.points for c in cfg.checks.values()]
    assert f"| | **total** | **{cfg.max_score:g}** | |" in text and "**105**" in text
    assert f"about {cfg.limits.call_timeout:g} s" in text
    assert f"about {cfg.limits.total_budget:g} s" in text
    assert f"first {cfg.limits.output_kb} KB of each call" in text
    assert "{" not in re.sub(r"`[^`]*`", "", text)  # no placeholder left


def _config_with(tmp_path, extra):
    """A copy of the project's HANDOUT.md and config.ini, the config with ``extra``."""
    project = tmp_path / "project"
    (project / "grader").mkdir(parents=True)
    for name in (package.HANDOUT_SOURCE, "requirements-lock.txt"):
        (project / name).write_text((paths.PROJECT_ROOT / name).read_text())
    path = project / "grader" / "config.ini"
    path.write_text((paths.PROJECT_ROOT / "grader" / "config.ini").read_text() + "\n" + extra)
    return path


def test_handout_says_to_submit_only_the_stub_file():
    text = HANDOUT_PATH.read_text()
    assert f"Upload **only `{paths.SUBMISSION_FILENAME}`**" in text
    assert f"`{paths.CLASS_NAME}`" in text


def test_stub_fixture_is_the_shipped_stub():
    """The buggy/stub fixture must score what the real handout stub scores: its upload is
    the shipped gmm1d.py, byte for byte."""
    upload = submission_fixtures.discover()["buggy/stub"].source()
    assert upload == STUB_PATH.read_bytes()


def test_the_repositorys_handout_is_the_one_students_get():
    """HANDOUT.md is written by `make handout` from HANDOUT.in.md, config.ini and the lock, so
    it reads as students get it: no {placeholder}, the real table, the real versions."""
    assert HANDOUT_PATH.read_text() == package.GENERATED_NOTE + package.handout_text(), (
        "HANDOUT.md is stale: edit HANDOUT.in.md (not HANDOUT.md), then run `make handout` "
        "and commit HANDOUT.md"
    )
    assert "{" not in re.sub(r"`[^`]*`", "", HANDOUT_PATH.read_text())


def test_the_install_command_has_the_locks_versions():
    lock = (paths.PROJECT_ROOT / "requirements-lock.txt").read_text()
    command = package.install_command(lock)
    for name in package.STUDENT_PACKAGES:
        pins = re.findall(rf"(?m)^{name}==(\S+?)(?:;.*)?$", lock)
        assert pins and all(f"{name}=={version}" in command for version in pins), name
    assert f"\n    {command}\n" in HANDOUT_PATH.read_text()
    # One version for every Python is the plain command; per-Python pins keep their markers.
    assert package.install_command("numpy==2.2.6\nscipy==1.15.3  # x\nmatplotlib==3.10.9\n") == (
        "pip install numpy==2.2.6 scipy==1.15.3 matplotlib==3.10.9"
    )
    split = 'numpy==2.2.6; python_version < "3.11"\nnumpy==2.4.6; python_version >= "3.11"\n'
    assert package.install_command(split + "scipy==1\nmatplotlib==3\n") == (
        "pip install \"numpy==2.2.6; python_version < '3.11'\" "
        "\"numpy==2.4.6; python_version >= '3.11'\" scipy==1 matplotlib==3"
    )
