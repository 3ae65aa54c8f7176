"""The batch's output folder: private, and holding only the uploads of the source it grades.

A rerun into an OUT that still holds results of uploads no longer in the source (a newer
export without a withdrawn submission, another assignment graded into the same folder) moves
them to ``OUT/stale/`` rather than mixing them into this class's CSVs and report, and says so.
"""

import os
from pathlib import Path

from grader.batch.export import ExportError

STALE_DIR = "stale"


def make_private_out(out: Path) -> None:
    """OUT and its results/ and logs/ folders, mode 0700: names, SIDs, emails and every
    student's feedback are for the instructor only (and, as root, out of every sandbox uid's
    reach). OUT must be a folder of the instructor's own, never a shared one such as /tmp."""
    out.mkdir(parents=True, exist_ok=True)
    info = out.stat()
    if info.st_uid != os.geteuid() or info.st_mode & 0o002:
        raise ExportError(
            f"--out {out} is not a folder of your own (it is shared or someone else's): "
            "choose a new folder, e.g. out/batch"
        )
    for folder in (out, out / "results", out / "logs"):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o700)


def _id_of(path: Path, suffix: str) -> str | None:
    name = path.name
    if name.startswith(".") or not name.endswith(suffix) or not path.is_file():
        return None
    return name[: -len(suffix)]


def set_aside_stale(out: Path, current_ids: set[str]) -> list[str]:
    """Move results and logs of ids not in ``current_ids`` to OUT/stale/; returns those ids,
    sorted. A file already in stale/ under that name is replaced by the newer one."""
    stale: set[str] = set()
    for kind, suffix in (("results", ".json"), ("logs", ".txt")):
        for path in sorted((out / kind).iterdir()):
            sub_id = _id_of(path, suffix)
            if sub_id is None or sub_id in current_ids:
                continue
            target = out / STALE_DIR / kind
            target.mkdir(parents=True, exist_ok=True)
            os.chmod(out / STALE_DIR, 0o700)
            os.replace(path, target / path.name)
            stale.add(sub_id)
    return sorted(stale)
