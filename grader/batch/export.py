"""Read a Gradescope "Export Submissions" download: the list of submissions to regrade.

Three input shapes are accepted (:func:`load_export`):

* the export unzipped: one ``submission_<id>/`` folder per submission and a
  ``submission_metadata.yml`` naming who submitted each (Gradescope's zip wraps both in one
  ``assignment_<n>_export/`` folder, which is looked through);
* that zip itself (extracted with :func:`safe_extract` into a directory the caller owns);
* a plain folder of ``.py`` files, one per submission, whose id is the file stem.

Inside a submission folder the file to grade is chosen by
:func:`grader.gradescope.find_submission`, exactly as on Gradescope, so ``gmm1d (2).py`` is
found the same way in a regrade as it was at submission time.

Security: an export is data an instructor downloaded, but every file in it was written by a
student, so nothing here trusts it. Zip members are checked before anything is written
(no absolute paths, no ``..``, no links, size and count caps); submission ids become file
names in the output folder only after :func:`safe_id`; the metadata parser never evaluates
anything (it is a line scanner for one known shape, not a YAML loader).
"""

import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.batch.metadata import METADATA_NAME, Submitter, parse_metadata

SUBMISSION_DIR_RE = re.compile(r"^submission_([A-Za-z0-9_-]{1,64})$")


IGNORED_NAMES = {"__MACOSX", "__pycache__"}


# Zip caps. A class export of .py files is a few MB; these only stop a zip bomb or a
# hand-crafted archive from filling the disk before the grader ever runs.
MAX_ZIP_MEMBERS = 20_000


MAX_MEMBER_BYTES = 50 * 1024 * 1024


MAX_TOTAL_BYTES = 1024 * 1024 * 1024


_COPY_CHUNK = 1024 * 1024


class ExportError(Exception):
    """The input is not something we can regrade (the message says why)."""


@dataclass(frozen=True)
class Submission:
    """One thing to grade.

    ``path`` is the file to grade, or None when nothing gradable was uploaded (the grader then
    reports the missing file). ``note`` is what :func:`find_submission` said about the choice.
    """

    id: str
    path: Path | None
    note: str = ""
    submitters: tuple[Submitter, ...] = ()


def _member_target(dest: Path, info: zipfile.ZipInfo) -> Path | None:
    """Where a member may be written under ``dest``, or None to skip it; raises if hostile."""
    name = info.filename.replace("\\", "/")  # zips made on Windows may use backslashes
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts or "\0" in name:
        raise ExportError(f"refusing zip member {info.filename!r}: it points outside the export")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ExportError(f"refusing zip member {info.filename!r}: symbolic links are not allowed")
    if not parts or any(p in IGNORED_NAMES for p in parts):
        return None
    target = dest.joinpath(*parts)
    resolved_dest = dest.resolve()
    if resolved_dest not in target.resolve().parents and target.resolve() != resolved_dest:
        raise ExportError(f"refusing zip member {info.filename!r}: it points outside the export")
    return target


def safe_extract(zip_path: Path, dest: Path) -> Path:
    """Extract ``zip_path`` into the existing empty directory ``dest``; returns ``dest``.

    Refuses (ExportError, nothing trusted) archives with absolute or ``..`` member paths,
    symbolic links, encrypted members, more than ``MAX_ZIP_MEMBERS`` members, a member larger
    than ``MAX_MEMBER_BYTES`` or more than ``MAX_TOTAL_BYTES`` in all. Sizes are counted while
    copying, not taken from the (forgeable) headers. Files are written 0600, folders 0700:
    uploads are for the instructor only (the grader hands the worker a copy of the one file it
    grades). A member that collides with another (a file where a folder must go) is refused.
    """
    dest = Path(dest)
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)  # an archive may hold nothing to write
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"{zip_path}: not a readable zip file ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ExportError(
                f"{zip_path}: {len(infos)} members, more than the {MAX_ZIP_MEMBERS} allowed"
            )
        targets = [(info, _member_target(dest, info)) for info in infos]  # check all before writing
        try:
            _write_members(archive, zip_path, targets)
        except (OSError, zipfile.BadZipFile, EOFError) as exc:  # a collision, a corrupt member
            raise ExportError(f"{zip_path}: cannot extract it ({exc})") from None
    return dest


def _write_members(archive, zip_path, targets):
    total = 0
    for info, target in targets:
        if target is None:
            continue
        if info.flag_bits & 0x1:
            raise ExportError(f"refusing zip member {info.filename!r}: it is encrypted")
        if info.is_dir():
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            continue
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        written = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with archive.open(info) as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(_COPY_CHUNK):
                written += len(chunk)
                total += len(chunk)
                if written > MAX_MEMBER_BYTES:
                    too_big = f"larger than {MAX_MEMBER_BYTES} bytes"
                    raise ExportError(f"refusing zip member {info.filename!r}: {too_big}")
                if total > MAX_TOTAL_BYTES:
                    raise ExportError(f"{zip_path}: more than {MAX_TOTAL_BYTES} bytes uncompressed")
                out.write(chunk)


# ---------------------------------------------------------------------------------------------
# finding the submissions


def safe_id(text: str) -> str:
    """A submission id usable as a file name: letters, digits, ``._-``; never hidden or empty."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:100]
    return cleaned or "submission"


def _visible_children(directory: Path):
    return sorted(
        c for c in directory.iterdir() if not c.name.startswith(".") and c.name not in IGNORED_NAMES
    )


def _looks_like_export(directory: Path) -> bool:
    if (directory / METADATA_NAME).is_file():
        return True
    return any(
        c.is_dir() and not c.is_symlink() and SUBMISSION_DIR_RE.match(c.name)
        for c in _visible_children(directory)
    )


def export_root(directory: Path) -> Path:
    """The folder that holds the ``submission_<id>/`` folders, looking through at most two
    wrapper folders (Gradescope's zip has one: ``assignment_<n>_export/``)."""
    current = Path(directory)
    for _ in range(3):
        if _looks_like_export(current):
            return current
        children = _visible_children(current)
        if len(children) == 1 and children[0].is_dir() and not children[0].is_symlink():
            current = children[0]
            continue
        break
    return Path(directory)


def _find(folder: Path):
    from grader.gradescope import find_submission  # imported late: the Gradescope flow module

    return find_submission(folder)


def _export_submissions(root: Path) -> list[Submission]:
    metadata_path = root / METADATA_NAME
    metadata: dict[str, tuple[Submitter, ...]] = {}
    if metadata_path.is_file() and not metadata_path.is_symlink():
        metadata = parse_metadata(metadata_path.read_text(encoding="utf-8", errors="replace"))
    folders = {
        c.name: c
        for c in _visible_children(root)
        if c.is_dir() and not c.is_symlink() and SUBMISSION_DIR_RE.match(c.name)
    }
    submissions = []
    for key in sorted(set(folders) | set(metadata)):
        sub_id = SUBMISSION_DIR_RE.match(key).group(1)
        if key in folders:
            path, note = _find(folders[key])
        else:  # listed in the metadata, but Gradescope exported no files for it
            path, note = None, "No files were exported for this submission."
        submissions.append(Submission(sub_id, path, note, metadata.get(key, ())))
    return submissions


def _plain_submissions(directory: Path) -> list[Submission]:
    files = [
        c
        for c in _visible_children(directory)
        if c.suffix.lower() == ".py" and c.is_file() and not c.is_symlink()
    ]
    submissions, seen = [], set()
    for path in files:
        base = safe_id(path.stem)
        sub_id, n = base, 1
        while sub_id.lower() in seen:  # "a b.py" and "a_b.py" must not share a results file
            n += 1
            sub_id = f"{base}-{n}"
        seen.add(sub_id.lower())
        submissions.append(Submission(sub_id, path, f"Graded `{path.name}`."))
    return submissions


def load_export(source: Path, scratch: Path) -> list[Submission]:
    """The submissions in ``source`` (export folder, export zip, or folder of .py files).

    ``scratch``: an empty directory the caller owns and removes afterwards; a zip is extracted
    there. Raises ExportError when ``source`` holds nothing to grade. Sorted by id.
    """
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        source = safe_extract(source, Path(scratch))
    elif not source.is_dir():
        raise ExportError(f"{source}: not a folder or a zip file")
    root = export_root(source)
    if _looks_like_export(root):
        submissions = _export_submissions(root)
    else:
        submissions = _plain_submissions(root)
    if not submissions:
        raise ExportError(
            f"{source}: no submissions found (expected submission_<id>/ folders and "
            f"{METADATA_NAME}, or .py files)"
        )
    return sorted(submissions, key=lambda s: s.id)
