"""Build the PrairieLearn question: ``python -m grader.package_prairielearn [--out DIR]``.

``make prairielearn`` writes ``dist/prairielearn/`` (docs/prairielearn.md says how to add it to
a course): two folders to copy into the course's repository,

* ``questions/gmm1d/``: ``info.json`` (external grading: the pinned image, our entrypoint, the
  timeout), ``question.html`` (the handout, a file editor or upload for gmm1d.py, the
  results) and ``clientFilesQuestion/`` (the starter file and the two-cluster hint, which
  students download);
* ``serverFilesCourse/gmm1d/``: what grading needs, as in the Gradescope zip (grader/,
  config.ini, the reference solution, the course secret) plus the entrypoint and ``vendor/``
  (the pure-Python packages the grader needs that the image lacks: markdown-it-py, copied
  from this virtualenv, licences included). PrairieLearn never serves serverFilesCourse to
  students, so the secret stays private to the course, as in the Gradescope zip.

The file lists are explicit, like package.py's. The build is written to a temporary folder and
renamed into place; ``dist/`` and every folder are 0700, every file 0600 (the entrypoint 0700):
the secret and the solution are readable by their owner only.
"""

import argparse
import importlib.metadata
import json
import shutil
import sys
import tempfile
from pathlib import Path

from grader import package
from grader.paths import PROJECT_ROOT

# The image every grading runs in: PrairieLearn tags each build by the commit that changed it;
# this one (2026-08-19, graders/python) has Python 3.13, numpy 2.4.6, scipy 1.18.0 and
# matplotlib 3.11.1. docs/prairielearn.md says how to move to another.
IMAGE = "prairielearn/grader-python:5e9025474a937b6fb599d6a10de9d27bb2193af4"
QUESTION = "gmm1d"  # the question's folder, and serverFilesCourse's
ENTRYPOINT = f"/grade/serverFilesCourse/{QUESTION}/entrypoint"
TIMEOUT_SECONDS = 300  # PrairieLearn's maximum is 600; the entrypoint stops at 270
UUID = "6f1d5c3e-8a2b-4c7e-9f10-3b5a7d2e4c61"  # a course may hold one question per uuid
VENDORED = ("markdown-it-py", "mdurl")  # distributions, with every file of their packages
CLIENT_FILES = ("gmm1d.py", "two_gaussian_1dgm.py")
SERVER_FILES = ["grader/config.ini", "solution/gmm1d.py"]
SERVER_GLOBS = ["grader/**/*.py"]
EDITOR = (
    '<pl-file-editor file-name="gmm1d.py" ace-mode="ace/mode/python" '
    'source-file-name="gmm1d.py" directory="clientFilesQuestion"></pl-file-editor>'
)
UPLOAD = '<pl-file-upload optional-file-names="gmm1d.py, gmm1d.ipynb"></pl-file-upload>'
DEFAULT_OUT = Path("dist/prairielearn")


def info_json(title: str) -> dict:
    return {
        "uuid": UUID,
        "title": title,
        "topic": "Gaussian mixtures",
        "tags": ["code", "em"],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "image": IMAGE,
            "entrypoint": ENTRYPOINT,
            "serverFilesCourse": [f"{QUESTION}/"],
            "timeout": TIMEOUT_SECONDS,
        },
    }


def handout_html(root=PROJECT_ROOT) -> str:
    """HANDOUT.md (its grading table filled in) as HTML; mustache's braces escaped, since
    PrairieLearn renders question.html as a mustache template."""
    from markdown_it import MarkdownIt

    text = package.handout_text(root).replace(" to Gradescope", "")  # here, it is PrairieLearn
    html = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return html.replace("{", "&#123;").replace("}", "&#125;")


def question_html(root=PROJECT_ROOT, input_element=EDITOR) -> str:
    files = " ".join(
        f'<pl-file-download file-name="{name}"></pl-file-download>' for name in CLIENT_FILES
    )
    return (
        "<pl-question-panel>\n"
        f'<div class="gmm1d-handout">\n{handout_html(root)}</div>\n'
        f"<p>Your files: {files}</p>\n"
        "<p>Submit your finished <code>gmm1d.py</code> below: each submission is graded by "
        "the checks in the table above.</p>\n"
        f"{input_element}\n"
        "</pl-question-panel>\n\n"
        "<pl-submission-panel>\n"
        "<pl-external-grader-results></pl-external-grader-results>\n"
        "<pl-file-preview></pl-file-preview>\n"
        "</pl-submission-panel>\n"
    )


def _vendored_files():
    """(relative name under vendor/, source path) of every file of the vendored packages."""
    for name in VENDORED:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or ():
            parts = Path(str(file)).parts
            if "__pycache__" in parts or parts[0].startswith(".."):
                continue
            if parts[0].endswith(".dist-info") and "LICEN" not in str(file).upper():
                continue
            yield str(file), Path(dist.locate_file(file))


def _write(dest: Path, data: bytes, mode=0o600):
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest.write_bytes(data)
    dest.chmod(mode)


def build(root=PROJECT_ROOT, out=DEFAULT_OUT, secret_path=None, input_element=EDITOR) -> Path:
    """Build the question and serverFilesCourse folders in ``out``; returns ``out``."""
    root, out = Path(root), Path(out)
    stub = root / "gmm1d.py"
    package.check_stub(stub.read_text(encoding="utf-8"))  # never hand out a finished file
    secret_path = secret_path if secret_path is not None else root / package.SECRET_ENTRY
    secret = package.course_secret(secret_path)
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    out.parent.chmod(0o700)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        question = tmp / "questions" / QUESTION
        title = package.handout_text(root).splitlines()[0].lstrip("# ").strip()
        _write(question / "info.json", (json.dumps(info_json(title), indent=2) + "\n").encode())
        _write(question / "question.html", question_html(root, input_element).encode())
        for name in CLIENT_FILES:
            _write(question / "clientFilesQuestion" / name, (root / name).read_bytes())
        server = tmp / "serverFilesCourse" / QUESTION
        names = set(SERVER_FILES)
        for pattern in SERVER_GLOBS:
            names |= {
                p.relative_to(root).as_posix()
                for p in root.glob(pattern)
                if p.is_file() and "__pycache__" not in p.parts
            }
        for name in sorted(names):
            _write(server / name, (root / name).read_bytes())
        _write(server / package.SECRET_ENTRY, secret)
        _write(server / "entrypoint", (root / "prairielearn" / "entrypoint").read_bytes(), 0o700)
        for name, source in _vendored_files():
            _write(server / "vendor" / name, source.read_bytes())
        for directory in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            directory.chmod(0o700)  # mkdir(parents=True) made the parents with the umask
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m grader.package_prairielearn", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=None, help=f"default: ROOT/{DEFAULT_OUT}")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project to package")
    parser.add_argument(
        "--secret", type=Path, default=None, help="default: ROOT/grader/course_secret"
    )
    parser.add_argument(
        "--input",
        choices=("editor", "upload"),
        default="editor",
        help="editor: an in-browser editor pre-filled with the starter file (default); "
        "upload: a file upload taking gmm1d.py or gmm1d.ipynb",
    )
    args = parser.parse_args(argv)
    out = args.out or args.root / DEFAULT_OUT
    element = EDITOR if args.input == "editor" else UPLOAD
    try:
        build(args.root, out, args.secret, element)
    except (package.PackageError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in sorted(out.rglob("*")):
        if path.is_file() and "vendor" not in path.relative_to(out).parts:
            print(f"  {path.relative_to(out)}")
    print(f"{out}: copy questions/ and serverFilesCourse/ into your course (docs/prairielearn.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
