"""Build the two zips we hand out: ``python -m grader.package autograder|handout [--out PATH]``.

* ``autograder``: what an instructor uploads to Gradescope. ``setup.sh`` and ``run_autograder``
  sit at the zip's root (Gradescope looks for them there) next to exactly what grading needs,
  the course secret included (``grader/course_secret``, mode 0600; created on first build:
  grader/secret.py).
* ``handout``: what students download: the unfinished stub, the two-cluster hint, the
  instructions (HANDOUT.md, written from HANDOUT.in.md) and the notebook ``gmm1d.ipynb``
  generated from the stub and those instructions. Nothing of the solution, the grader or the
  tests. It also rewrites the repository's HANDOUT.md, so that copy reads as students get it.

Both file lists are explicit (allow-lists, independent of git): a new file is shipped only when
someone adds it here, so a stray ``.venv``, cache, test fixture or draft solution never leaks.

Both zips are private (mode 0600, and ``dist/`` 0700), on any account: the autograder's holds
the course secret and the solution, and a world-readable copy would hand them to every local
user.

The zips are reproducible: entries sorted, every timestamp 1980-01-01 00:00:00 and fixed
permissions (0755 for the two scripts, 0600 for the secret, 0644 otherwise), so the same
sources give the same bytes and a rebuilt zip shows no spurious change.
"""

import argparse
import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader import secret
from grader.paths import CLASS_NAME, PROJECT_ROOT

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can store
EXECUTABLE = {"setup.sh", "run_autograder"}
SECRET_ENTRY = "grader/course_secret"  # where grader/paths.py looks for it, in the zip too
PRIVATE = {SECRET_ENTRY}  # 0600: only the grader (root on Gradescope) reads it

AUTOGRADER_FILES = [
    "setup.sh",
    "run_autograder",
    "requirements.txt",
    "requirements-lock.txt",
    "grader/config.ini",
    "solution/gmm1d.py",
]
AUTOGRADER_GLOBS = ["grader/**/*.py"]
EXAMPLE_PICTURE = "gmm1d_fit_example.png"  # what `python gmm1d.py --plot` draws when correct
HANDOUT_FILES = ["gmm1d.py", "two_gaussian_1dgm.py", "HANDOUT.md", "gmm1d.ipynb", EXAMPLE_PICTURE]
HANDOUT_SOURCE = "HANDOUT.in.md"  # the text students get, with {placeholders} for the facts
NOTEBOOK = "gmm1d.ipynb"
STUDENT_PACKAGES = ("numpy", "scipy", "matplotlib")  # what students install, as the grader pins
UNFINISHED_METHODS = ("estep", "mstep")  # the stub must leave these for the student

DEFAULT_OUT = {"autograder": Path("dist/autograder.zip"), "handout": Path("dist/handout.zip")}


class PackageError(Exception):
    """The sources cannot be packaged (a file is missing, or the stub is not a stub)."""


def autograder_entries(root=PROJECT_ROOT):
    """Sorted zip names (POSIX, relative to ``root``) of the Gradescope autograder."""
    root = Path(root)
    names = set(AUTOGRADER_FILES)
    for pattern in AUTOGRADER_GLOBS:
        for path in root.glob(pattern):
            rel = path.relative_to(root)
            if path.is_file() and "__pycache__" not in rel.parts:
                names.add(rel.as_posix())
    return sorted(names)


def _raises_not_implemented(function: ast.FunctionDef) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def check_stub(source: str) -> None:
    """PackageError unless ``GMM1D.estep`` and ``GMM1D.mstep`` still raise NotImplementedError.

    A guard against shipping a finished ``gmm1d.py`` (say, the solution copied over the stub
    while testing) to every student.
    """
    tree = ast.parse(source)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == CLASS_NAME]
    if not classes:
        raise PackageError(f"gmm1d.py defines no class {CLASS_NAME}")
    methods = {n.name: n for n in classes[0].body if isinstance(n, ast.FunctionDef)}
    for name in UNFINISHED_METHODS:
        if name not in methods:
            raise PackageError(f"gmm1d.py: {CLASS_NAME}.{name} is missing")
        if not _raises_not_implemented(methods[name]):
            raise PackageError(
                f"gmm1d.py: {CLASS_NAME}.{name} does not raise NotImplementedError: "
                "this looks like a finished solution, not the student stub"
            )


def write_zip(root, names, out, contents=None):
    """Write ``names`` (relative to ``root``) to ``out`` reproducibly; returns ``out``.
    ``contents`` gives the bytes of some names instead of their files."""
    root, out, contents = Path(root), Path(out), contents or {}
    missing = [name for name in names if name not in contents and not (root / name).is_file()]
    if missing:
        raise PackageError(f"missing from {root}: {', '.join(missing)}")
    # Private whatever the umask: the autograder zip holds the course secret and the solution.
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if out.parent.resolve() == (root / "dist").resolve():  # ours: an existing dist/ too
        os.chmod(out.parent, 0o700)
    tmp = out.with_name(out.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # a .tmp left by an earlier build keeps its mode otherwise
    with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
        for name in sorted(names):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so unzip (and Gradescope) honour the modes below
            mode = 0o755 if name in EXECUTABLE else 0o600 if name in PRIVATE else 0o644
            info.external_attr = (0o100000 | mode) << 16  # regular file + permission bits
            data = contents[name] if name in contents else (root / name).read_bytes()
            archive.writestr(info, data)
    tmp.replace(out)
    return out


def course_secret(path) -> bytes:
    """The course secret file's bytes, creating the secret first when there is none."""
    path = Path(path)
    if not path.exists():
        secret.create(path)
        print(
            f"created a new course secret, {path}: keep it with the course's private files "
            "(git ignores it). Regrades reproduce Gradescope's grades only with it "
            '(docs/instructors.md, "The course secret").',
            file=sys.stderr,
        )
    try:
        secret.load(path)  # refuse to ship a damaged one
    except secret.SecretError as error:
        raise PackageError(str(error)) from None
    return path.read_bytes()


def build_autograder(root=PROJECT_ROOT, out=DEFAULT_OUT["autograder"], secret_path=None):
    """Build the Gradescope autograder zip from ``root``; returns the zip's path. The course
    secret comes from ``secret_path`` (default: ``root``/grader/course_secret)."""
    root = Path(root)
    secret_path = secret_path if secret_path is not None else root / SECRET_ENTRY
    contents = {SECRET_ENTRY: course_secret(secret_path)}
    return write_zip(root, [*autograder_entries(root), SECRET_ENTRY], out, contents)


GRADING_TABLE_MARKER = "<!-- grading table: filled in by `make handout`"
GENERATED_NOTE = (
    f"<!-- Written by `make handout` from {HANDOUT_SOURCE}, grader/config.ini and "
    "requirements-lock.txt: edit those, not this file. -->\n"
)


def install_command(lock_text: str) -> str:
    """``pip install numpy==X scipy==Y matplotlib==Z`` with requirements-lock.txt's pins. A
    package pinned per Python (with a marker) is given once per marker, quoted; pip installs
    the one whose marker matches."""
    pins = []
    for package in STUDENT_PACKAGES:
        found = re.findall(
            rf"(?m)^{package}==([^\s;#]+)\s*(?:;\s*([^#\n]*?))?\s*(?:#.*)?$", lock_text
        )
        if not found:
            raise PackageError(f"requirements-lock.txt pins no {package}")
        for version, marker in found:
            marker = marker.replace('"', "'")
            pins.append(f'"{package}=={version}; {marker}"' if marker else f"{package}=={version}")
    return "pip install " + " ".join(pins)


def handout_text(root=PROJECT_ROOT) -> str:
    """HANDOUT.md as students get it, from HANDOUT.in.md: the grading table and the limits
    written in from the check registry and ``grader/config.ini`` (so the handout shows what
    the grader does), the packages to install from ``requirements-lock.txt``. A ``{key}`` of a
    ``[limits]`` setting (``{call_timeout_seconds}``) becomes its value, ``{pip_install}``
    the install command."""
    from grader import config
    from grader.checks import table
    from grader.sandbox.limits import configurable

    try:
        cfg = config.load(Path(root) / "grader" / "config.ini")
        text = (Path(root) / HANDOUT_SOURCE).read_text(encoding="utf-8")
        lock = (Path(root) / "requirements-lock.txt").read_text(encoding="utf-8")
    except (config.ConfigError, OSError) as exc:  # a message, like every refusal here
        raise PackageError(f"cannot build the handout: {exc}") from None
    text = text.replace("{pip_install}", install_command(lock))
    for setting in configurable():
        text = text.replace(
            "{" + setting.metadata["key"] + "}", f"{getattr(cfg.limits, setting.name):g}"
        )
    lines = text.splitlines(keepends=True)
    marked = [i for i, line in enumerate(lines) if line.startswith(GRADING_TABLE_MARKER)]
    if len(marked) != 1:
        raise PackageError("HANDOUT.md must have exactly one grading-table marker line")
    lines[marked[0]] = table.markdown(cfg) + "\n"
    return "".join(lines)


def notebook_bytes(stub_source: str, handout: str) -> bytes:
    """gmm1d.ipynb from the stub's source and the handout's text (grader/handout_notebook.py)."""
    from grader import handout_notebook  # nbformat: in the venv, not needed by `autograder`

    try:
        return handout_notebook.build(stub_source, handout)
    except (handout_notebook.NotebookError, SyntaxError) as exc:
        raise PackageError(f"cannot build {NOTEBOOK}: {exc}") from None


def example_picture(root=PROJECT_ROOT) -> bytes:
    """The PNG the reference solution's ``plot_fit()`` draws: what a correct ``--plot`` shows.
    Drawn in a child process in a scratch folder (the solution is ours and trusted; the child
    keeps matplotlib out of this process and the picture out of the checkout)."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(Path(root) / "solution" / "gmm1d.py", Path(folder) / "gmm1d.py")
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        run = subprocess.run(
            [sys.executable, "-c", "import gmm1d; gmm1d.plot_fit('fit.png')"],
            cwd=folder, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        picture = Path(folder) / "fit.png"
        if run.returncode != 0 or not picture.is_file():
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            raise PackageError(f"cannot draw {EXAMPLE_PICTURE} with solution/gmm1d.py: {last}")
        return picture.read_bytes()


def build_handout(root=PROJECT_ROOT, out=DEFAULT_OUT["handout"]):
    """Build the student handout zip from ``root`` (refusing a finished stub) and rewrite
    ``root``/HANDOUT.md with the text students get; returns the zip's path."""
    root = Path(root)
    stub = root / "gmm1d.py"
    if not stub.is_file():
        raise PackageError(f"missing from {root}: gmm1d.py")
    source = stub.read_text(encoding="utf-8")
    check_stub(source)
    text = handout_text(root)
    contents = {
        "HANDOUT.md": text.encode("utf-8"),
        NOTEBOOK: notebook_bytes(source, text),
        EXAMPLE_PICTURE: example_picture(root),
    }
    path = write_zip(root, HANDOUT_FILES, out, contents)
    readable, wanted = root / "HANDOUT.md", GENERATED_NOTE.encode() + contents["HANDOUT.md"]
    if not readable.is_file() or readable.read_bytes() != wanted:
        readable.write_bytes(wanted)
        print(f"rewrote {readable} from {HANDOUT_SOURCE}: commit it", file=sys.stderr)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m grader.package", description=__doc__.split("\n")[0]
    )
    parser.add_argument("kind", choices=sorted(DEFAULT_OUT))
    parser.add_argument("--out", type=Path, default=None, help="default: dist/<kind>.zip")
    parser.add_argument(
        "--root", type=Path, default=PROJECT_ROOT, help="project to package (default: this one)"
    )
    parser.add_argument(
        "--secret",
        type=Path,
        default=None,
        help="autograder only: the course secret to ship, created when missing "
        "(default: ROOT/grader/course_secret)",
    )
    args = parser.parse_args(argv)
    if args.secret is not None and args.kind != "autograder":
        parser.error("--secret is for the autograder zip: the handout never holds the secret")
    out = args.out or args.root / DEFAULT_OUT[args.kind]
    try:
        if args.kind == "autograder":
            path = build_autograder(args.root, out, args.secret)
        else:
            path = build_handout(args.root, out)
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            print(f"  {name}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{path}  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
