"""The fixture loader (tests/submission_fixtures.py) and fixtures as patches
(tests/fixture_patches.py, tests/fixture_to_patch.py).

Everything is checked on the source's AST: no fixture's code runs in this process.
"""

import ast
import subprocess
import sys
import textwrap

import pytest

from tests import submission_fixtures
from tests.fixture_patches import STUB_PATH, PatchError, normalised, splice
from tests.fixture_to_patch import to_patch

STUB = STUB_PATH.read_text(encoding="utf-8")
ALL = submission_fixtures.discover()
PATCHES = sorted(name for name, fixture in ALL.items() if fixture.is_patch)


def _tree(text):
    return ast.parse(text)


def _top(tree):
    """Top-level definitions by name, in order (the class included)."""
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            names.append(node.targets[0].id)
    return names


def _methods(tree):
    """name -> [normalised dump, ...] of class GMM1D's methods."""
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GMM1D"]
    found = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            found.setdefault(node.name, []).append(normalised(node))
    return found


def _imports(tree):
    return [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]


MSTEP = """
class GMM1D:
    def mstep(self, X, gammas):
        self.priors = gammas.mean(axis=0).reshape(-1, 1)  # the patch's own line
"""


def test_splice_replaces_exactly_the_named_methods_and_keeps_the_stubs_others():
    stub, spliced = _tree(STUB), _tree(splice(MSTEP))
    ours, theirs = _methods(spliced), _methods(stub)
    assert list(ours) == list(theirs)  # the same methods, in the stub's order
    assert ours["mstep"] == _methods(_tree(MSTEP))["mstep"] != theirs["mstep"]
    assert {name: d for name, d in ours.items() if name != "mstep"} == {
        name: d for name, d in theirs.items() if name != "mstep"
    }
    assert _top(spliced) == _top(stub) and _imports(spliced) == _imports(stub)
    assert "# the patch's own line" in splice(MSTEP)  # its comments survive
    assert "def self_check():" in splice(MSTEP)  # the stub's other code stays


def test_splice_adds_imports_and_helpers_before_the_class_once():
    patch = '''"""Bug: described here, not copied."""

import math
import numpy as np
from scipy.special import logsumexp

SCALE = 2.0


def _joint_logs(model, X):
    return np.log(model.priors.T) - (X - model.mus.T) ** 2 / (SCALE * model.variances.T)


class GMM1D:
    def estep(self, X):
        log_joint = _joint_logs(self, X)
        return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
'''
    text = splice(patch)
    spliced, stub = _tree(text), _tree(STUB)
    assert _imports(spliced) == _imports(stub) + [
        "import math",
        "from scipy.special import logsumexp",
    ]
    at = _top(stub).index("GMM1D")
    assert _top(spliced) == _top(stub)[:at] + ["SCALE", "_joint_logs"] + _top(stub)[at:]
    assert "described here" not in text and text.startswith(STUB[:200])  # the stub's docstring


def test_splice_replaces_a_stub_definition_where_it_stands():
    patch = "def pdf(X, mu, variance):\n    return 0.0 * X  # a broken density\n"
    spliced, stub = _tree(splice(patch)), _tree(STUB)
    assert _top(spliced) == _top(stub)  # one pdf, where the stub has it
    (pdf,) = [n for n in spliced.body if getattr(n, "name", "") == "pdf"]
    assert normalised(pdf) == normalised(_tree(patch).body[0])


def test_an_empty_patch_is_the_stub_byte_for_byte():
    assert splice("") == STUB
    assert splice('"""The starter, untouched."""\n') == STUB


def test_a_patch_naming_a_method_the_stub_lacks_is_an_error():
    with pytest.raises(PatchError, match="no method 'e_step'"):
        splice("class GMM1D:\n    def e_step(self, X):\n        return X\n")


def test_a_method_marked_added_is_added_without_the_mark():
    patch = "class GMM1D:\n    @added\n    @property\n    def k(self):\n        return 3\n"
    spliced = _tree(splice(patch))
    (cls,) = [n for n in spliced.body if isinstance(n, ast.ClassDef) and n.name == "GMM1D"]
    assert [n.name for n in cls.body if isinstance(n, ast.FunctionDef)][-1] == "k"
    assert [ast.unparse(d) for d in cls.body[-1].decorator_list] == ["property"]
    assert list(_methods(spliced))[:-1] == list(_methods(_tree(STUB)))


def test_added_on_a_method_the_stub_has_is_an_error():
    with pytest.raises(PatchError, match="marked @added, but the stub has it"):
        splice("class GMM1D:\n    @added\n    def estep(self, X):\n        return X\n")


@pytest.mark.parametrize(
    "patch, complaint",
    [
        ("print('at import')\n", "runs at import"),
        ("for _ in range(3):\n    pass\n", "runs at import"),
        ("class GMM1D(object):\n    def estep(self, X):\n        return X\n", "bases"),
        ("class GMM1D:\n    k = 3\n", "not a method"),
        ("class GMM1D:\n    pass\nclass GMM1D:\n    pass\n", "2 times"),
        ("GMM1D = dict\n", "must be a class"),
        ("def pdf(X):\n    return X\ndef pdf(X):\n    return X\n", "twice"),
        ("class GMM1D:\n  def estep(self, X):\n        return X\n", "does not parse"),
        ("def broken(:\n", "does not parse"),
    ],
)
def test_a_patch_that_does_not_fit_the_stub_is_an_error(patch, complaint):
    with pytest.raises(PatchError, match=complaint):
        splice(patch)


def test_a_property_is_replaced_with_its_setter():
    stub = textwrap.dedent("""\
        import numpy as np


        class GMM1D:
            @property
            def k(self):
                return 1

            @k.setter
            def k(self, value):
                pass

            def estep(self, X):
                return X
        """)
    patch = "class GMM1D:\n    @property\n    def k(self):\n        return 2\n"
    spliced = _tree(splice(patch, stub))
    assert _methods(spliced) == {
        "k": _methods(_tree(patch))["k"],
        "estep": _methods(_tree(stub))["estep"],
    }


def _unmarked(tree):
    """``tree`` with every @added mark removed (splice removes them)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.decorator_list = [d for d in node.decorator_list if ast.unparse(d) != "added"]
    return tree


@pytest.mark.parametrize("name", PATCHES)
def test_every_stored_patch_splices_into_the_stub_with_its_methods(name):
    patch = _unmarked(_tree(ALL[name].stored.read_text(encoding="utf-8")))
    spliced, stub = _tree(ALL[name].source().decode("utf-8")), _tree(STUB)
    has_class = any(isinstance(n, ast.ClassDef) and n.name == "GMM1D" for n in patch.body)
    mine, theirs = _methods(patch) if has_class else {}, _methods(stub)
    assert _methods(spliced) == {**theirs, **mine}
    assert set(_top(stub)) <= set(_top(spliced))


def test_discover_pairs_each_upload_with_its_expectation(tmp_path, monkeypatch):
    for kind in submission_fixtures.KINDS:
        (tmp_path / kind).mkdir()
    (tmp_path / "buggy" / "mine.patch.py").write_text(MSTEP)
    (tmp_path / "buggy" / "mine.json").write_text('{"why": "x", "fails": []}')
    (tmp_path / "hostile" / "whole.py").write_bytes(b"\xff\xfe not even text")
    (tmp_path / "hostile" / "whole.json").write_text('{"why": "y"}')
    monkeypatch.setattr(submission_fixtures, "ROOT", tmp_path)
    found = submission_fixtures.discover()
    assert sorted(found) == ["buggy/mine", "hostile/whole"]
    patch, whole = found["buggy/mine"], found["hostile/whole"]
    assert patch.is_patch and not whole.is_patch and patch.expectation == {"why": "x", "fails": []}
    out = tmp_path / "out"
    out.mkdir()
    assert patch.upload(out) == out / "mine.py" and (out / "mine.py").read_text() == splice(MSTEP)
    assert whole.upload(out).read_bytes() == b"\xff\xfe not even text"  # byte for byte
    assert patch.upload().read_bytes() == patch.source()  # the process's own folder
    (tmp_path / "buggy" / "mine.py").write_text("")
    with pytest.raises(AssertionError, match="stored twice"):
        submission_fixtures.discover()


# --- whole file -> patch ---------------------------------------------------------------------


def _stub_with(*edits):
    """The stub with each (old, new) edit made; each old text occurs in it once."""
    text = STUB
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


MSTEP_TODO = STUB[
    STUB.index("        # TODO: write the M-step") : STUB.index("    def em(self, X):")
]
BUGGY = _stub_with(
    (
        MSTEP_TODO,
        "        # TODO: write the M-step. For every cluster j, with n points:\n"  # the stub's
        "        self.priors = gammas.sum(axis=0).reshape(-1, 1)  # forgot / n\n\n",
    ),
    (
        '"""Lab 3: EM for a one-dimensional Gaussian mixture (your starter file).',
        '"""Bug: soft counts.\n\nLab 3: EM for a one-dimensional Gaussian mixture.',
    ),
)


def test_to_patch_keeps_only_what_differs_from_the_stub():
    patch, notes = to_patch(BUGGY)
    assert notes == []
    tree = _tree(patch)
    assert ast.get_docstring(tree) == "Bug: soft counts."  # the stub's paragraphs left out
    assert [type(n).__name__ for n in tree.body] == ["Expr", "ClassDef"]
    assert list(_methods(tree)) == ["mstep"]
    assert "TODO" not in patch and '"""M-step' not in patch  # the stub's comments, docstring
    assert "# forgot / n" in patch
    assert _methods(_tree(splice(patch))) == _methods(_tree(BUGGY))


def test_to_patch_keeps_changed_definitions_the_class_uses_and_drops_the_rest():
    text = _stub_with(
        ("EPSILON = 1e-12", "EPSILON = 1e-6"),  # the constructor uses it
        ("    gammas = model.estep(X)\n    n, k", "    gammas = model.estep(X) + 0\n    n, k"),
    )
    patch, notes = to_patch(text)
    assert [n.targets[0].id for n in _tree(patch).body if isinstance(n, ast.Assign)] == ["EPSILON"]
    assert notes == [
        "dropped _checked_gammas: it differs from the stub's, but nothing of the class, the new "
        "definitions or a __main__ block uses it"
    ]
    assert "class GMM1D" not in patch  # no method differs
    assert "EPSILON = 1e-6" in splice(patch)


def test_to_patch_marks_a_new_method_and_keeps_new_helpers_and_imports():
    text = _stub_with(
        ("import numpy as np\n", "import numpy as np\nimport math\n"),
        ("class GMM1D:\n", "def helper():\n    return math.pi\n\n\nclass GMM1D:\n"),
        ("    def em(self, X):\n", "    @property\n    def k(self):\n        return helper()\n\n"
                                   "    def em(self, X):\n"),
    )  # fmt: skip
    patch, _ = to_patch(text)
    assert "import math" in patch and "def helper():" in patch
    assert "    @added\n    @property\n    def k(self):" in patch
    spliced = _tree(splice(patch))
    assert _methods(spliced) == _methods(_tree(text))
    assert "import math" in _imports(spliced) and "helper" in _top(spliced)


@pytest.mark.parametrize(
    "edit, complaint",
    [
        (("class GMM1D:", "class GMM1D(object):"), "bases"),
        (("class GMM1D:", "class Model:"), "no class GMM1D"),
        (("    def em(self, X):", "    def em_step(self, X):"), "has no em, which the stub has"),
        (("import numpy as np\n", "import numpy as np\nprint('hi')\n"), "runs at import"),
        (("DELTA = 1e-9", "DELTA = _fmt(1)"), r"DELTA = _fmt\(...\) runs its code at import"),
        (("class GMM1D:", "class GMM1D"), "does not parse"),
    ],
)
def test_to_patch_refuses_a_file_that_is_not_stub_shaped(edit, complaint):
    with pytest.raises(PatchError, match=complaint):
        to_patch(_stub_with(edit))


def test_the_command_converts_a_stub_shaped_file_and_keeps_the_rest_whole(tmp_path):
    (tmp_path / "soft_counts.py").write_text(BUGGY)
    (tmp_path / "at_import.py").write_text(_stub_with(("DELTA = 1e-9", "DELTA = _fmt(1)")))
    done = subprocess.run(
        [sys.executable, "-m", "tests.submission_fixtures", "--to-patch",
         str(tmp_path / "soft_counts.py"), str(tmp_path / "at_import.py")],
        cwd=STUB_PATH.parent, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["at_import.py", "soft_counts.patch.py"]
    assert (tmp_path / "soft_counts.patch.py").read_text() == to_patch(BUGGY)[0]
    assert f"{tmp_path / 'soft_counts.py'} -> soft_counts.patch.py (" in done.stdout
    assert f"{tmp_path / 'at_import.py'}: kept whole: line " in done.stdout


def test_the_command_writes_a_fixtures_upload(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tests.submission_fixtures", "--upload", "buggy/variance_old_mean",
         str(tmp_path)],
        cwd=STUB_PATH.parent, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "variance_old_mean.py")
    assert (tmp_path / "variance_old_mean.py").read_bytes() == ALL[
        "buggy/variance_old_mean"
    ].source()
