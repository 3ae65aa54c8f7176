"""The paired submission fixtures: ``tests/submissions/<kind>/<name>.py`` (a whole upload) or
``<name>.patch.py`` (only what differs from the stub, tests/fixture_patches.py) next to
``<name>.json``, which says what that upload must get (docs/contributing.md, "Fixtures").

A fixture names only the checks that must fail; the rest is derived from the check registry
and the config: every other check with points must pass, and the score is the total minus
the points of the checks that fail. So a new 0-point check changes no fixture.

Every consumer grades ``Fixture.upload()``, a real file (a patch spliced into today's stub),
never the stored path. ``python -m tests.submission_fixtures --to-patch PATH...`` rewrites
stub-shaped whole files as patches (tests/fixture_to_patch.py).
"""

import argparse
import atexit
import html
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from grader import checks, diagnosis
from grader.feedback import plain
from tests.fixture_patches import PatchError, splice

ROOT = Path(__file__).resolve().parent / "submissions"
KINDS = ("correct", "buggy", "hostile")
PATCH = ".patch.py"  # the suffix of a fixture stored as a patch of the stub
# key -> what it says (the file's whole vocabulary; anything else is an error)
KEYS = {
    "why": "the bug or attack, and why exactly these checks fail (written from the bug)",
    "fails": "ids of the checks that must fail (any order)",
    "mistakes": "check id -> the mistake keys that check's feedback names, exactly",
    "output_contains": "check id -> texts its feedback must contain (as read: Markdown off)",
    "leftover_markers": "texts no live process may show afterwards (processes it started)",
    "sandbox_without": "kernel layers turned off for it (GMM1D_SANDBOX_WITHOUT)",
    "root_only": "true: graded only as root (what it shows needs the uid layer)",
    "root_only_reason": "why, for the skip message",
}
_scratch = []  # this process's folder of spliced uploads, made on first use


class Fixture(NamedTuple):
    """One fixture: the file as stored (a whole upload or a patch) and its expectation."""

    stored: Path
    expectation: dict

    @property
    def is_patch(self) -> bool:
        return self.stored.name.endswith(PATCH)

    @property
    def file_name(self) -> str:
        """The upload's file name: ``<name>.py`` (it names the module the worker imports)."""
        return self.stored.name.removesuffix(PATCH) + ".py" if self.is_patch else self.stored.name

    def source(self) -> bytes:
        """The upload's bytes: the whole file, or the patch spliced into today's stub."""
        if not self.is_patch:
            return self.stored.read_bytes()
        return splice(self.stored.read_text(encoding="utf-8")).encode("utf-8")

    def upload(self, directory=None) -> Path:
        """The upload written as ``directory/<name>.py`` (default: a folder of this process's
        own, removed when it exits); its path, for the CLI or FakeSandbox.from_file."""
        if directory is None:
            if not _scratch:
                _scratch.append(Path(tempfile.mkdtemp(prefix="gmm1d-fixtures-")))
                atexit.register(shutil.rmtree, _scratch[0], True)
            directory = _scratch[0] / self.stored.parent.name
            directory.mkdir(exist_ok=True)
        target = Path(directory) / self.file_name
        target.write_bytes(self.source())
        return target


def discover() -> dict:
    """name ('kind/stem') -> Fixture."""
    found = {}
    for kind in KINDS:
        for stored in sorted((ROOT / kind).glob("*.py")):
            stem = stored.name.removesuffix(PATCH).removesuffix(".py")
            expectation = stored.with_name(stem + ".json")
            assert expectation.is_file(), f"{stored} has no {expectation.name}"
            assert f"{kind}/{stem}" not in found, f"{kind}/{stem} is stored twice"
            found[f"{kind}/{stem}"] = Fixture(stored, json.loads(expectation.read_text()))
    return found


def problems_with(name, exp) -> list:
    """What is wrong with one expectation file (empty when it is well-formed)."""
    found = [f"unknown key {key!r}" for key in set(exp) - set(KEYS)]
    if not str(exp.get("why", "")).strip():
        found.append("no 'why'")
    fails = exp.get("fails", [])
    unknown = [c for c in fails if c not in checks.REGISTRY]
    if unknown or len(set(fails)) != len(fails):
        found.append(f"'fails' must name registered checks, once each: {fails}")
    for check_id, keys in exp.get("mistakes", {}).items():
        if check_id not in fails:
            found.append(f"mistakes for {check_id}, which is not in 'fails'")
        found += [f"unknown mistake {key!r}" for key in keys if key not in diagnosis.MISTAKES]
    if name.startswith("correct/") and fails:
        found.append("a correct fixture fails nothing")
    return found


def expected_score(exp, cfg) -> float:
    return cfg.max_score - sum(cfg.checks[c].points for c in exp.get("fails", []))


def verdict_mismatches(tests, exp, cfg) -> list:
    """How graded ``tests`` (results.json's list) differ from ``exp``; empty when they agree."""
    by_check = {t["extra_data"]["check"]: t for t in tests}
    found = []
    if list(by_check) != checks.ids():
        found.append(f"checks {list(by_check)} are not the registry's {checks.ids()}")
    failed = [c for c, t in by_check.items() if t["status"] == "failed"]
    for check_id in exp.get("fails", []):
        if check_id not in failed:
            found.append(f"{check_id} should fail but passed")
    for check_id in failed:
        if check_id not in exp.get("fails", []) and cfg.checks[check_id].points > 0:
            found.append(f"{check_id} should pass but failed")
    score = sum(t["score"] for t in tests)
    if abs(score - expected_score(exp, cfg)) > 1e-6:
        found.append(f"score {score:g}, expected {expected_score(exp, cfg):g}")
    for check_id, keys in exp.get("mistakes", {}).items():
        named = by_check.get(check_id, {}).get("extra_data", {}).get("mistakes", [])
        if set(named) != set(keys):  # a wrong extra diagnosis misleads as much as a missing one
            found.append(f"{check_id} names {named}, expected exactly {keys}")
    for check_id, needles in exp.get("output_contains", {}).items():
        test = by_check.get(check_id, {})
        output = test.get("output", "")
        if test.get("output_format") == "html":  # a check with a picture: its text, unmarked
            output = html.unescape(re.sub(r"<[^>]*>", "", output))
        output = plain(output)  # as a student reads it
        found += [f"{check_id}'s feedback lacks {n!r}" for n in needles if n not in output]
    return found


def main(argv=None) -> int:
    """``--upload NAME DIR``: write fixture NAME's upload into DIR and print its path (to grade
    it by hand). ``--to-patch PATH...``: rewrite each stub-shaped whole file as
    ``<name>.patch.py`` (``--print``: show the patches, write nothing); a file that is not
    stub-shaped stays whole, and the command says why."""
    parser = argparse.ArgumentParser(prog="python -m tests.submission_fixtures")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--upload", nargs=2, metavar=("NAME", "DIR"))
    action.add_argument("--to-patch", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--print", action="store_true", help="print the patches, change nothing")
    args = parser.parse_args(argv)
    if args.upload:
        name, directory = args.upload
        fixtures = discover()
        if name not in fixtures:
            parser.error(f"no fixture {name!r} (names look like buggy/divide_by_n)")
        print(fixtures[name].upload(Path(directory)))
        return 0
    from tests.fixture_to_patch import to_patch

    for path in args.to_patch:
        try:
            text = path.read_text(encoding="utf-8")
            patch, notes = to_patch(text)
        except (PatchError, UnicodeDecodeError) as exc:
            print(f"{path}: kept whole: {exc}")
            continue
        if args.print:
            print(f"# {path}\n{patch}")
            continue
        target = path.with_name(path.name.removesuffix(".py") + PATCH)
        target.write_text(patch, encoding="utf-8")
        path.unlink()
        print(
            f"{path} -> {target.name} ({len(text.splitlines())} -> {len(patch.splitlines())} lines)"
        )
        for note in notes:
            print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
