"""The paired submission fixtures: ``tests/submissions/<kind>/<name>.py`` next to
``<name>.json``, which says what that upload must get (docs/contributing.md, "Fixtures").

A fixture names only the checks that must fail; the rest is derived from the check registry
and the config: every other check with points must pass, and the score is the total minus
the points of the checks that fail. So a new 0-point check changes no fixture.
"""

import html
import json
import re
from pathlib import Path

from grader import checks, diagnosis
from grader.feedback import plain

ROOT = Path(__file__).resolve().parent / "submissions"
KINDS = ("correct", "buggy", "hostile")
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


def discover():
    """name ('kind/stem') -> (path of the upload, its expectation dict)."""
    found = {}
    for kind in KINDS:
        for source in sorted((ROOT / kind).glob("*.py")):
            expectation = source.with_suffix(".json")
            assert expectation.is_file(), f"{source} has no {expectation.name}"
            found[f"{kind}/{source.stem}"] = (source, json.loads(expectation.read_text()))
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
