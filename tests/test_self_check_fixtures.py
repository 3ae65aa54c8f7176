"""The self-check (``python gmm1d.py``) against every submission fixture: it fails every
buggy one and its summary blames the method the bug is in; it passes every correct one that
keeps the handout's contract. Each fixture's class runs inside today's stub (the fixture's own
file may carry an older self-check), in one subprocess: never in pytest's process.
"""

import json
import re
import shutil
import subprocess
import sys

import pytest

from tests import submission_fixtures
from tests.test_stub import N_CHECKS, STUB_PATH

# --- every buggy fixture fails, and the summary blames the method its bug is in -----------


def _names(kind):
    return sorted(
        n.split("/")[1] for n in submission_fixtures.discover() if n.startswith(kind + "/")
    )


# Written from each fixture's bug (its .json's "why"), not from the self-check's output.
AT_FAULT = {
    "constructor_ignores_k": ["GMM1D.__init__"],
    "divide_by_n": ["GMM1D.mstep"],
    "estep_mutates_X": ["GMM1D.estep"],
    "estep_mutates_params": ["GMM1D.estep"],
    "estep_nudges_variances": ["GMM1D.estep"],
    "estep_sqrt_variance": ["GMM1D.estep"],
    "estep_std_as_variance": ["GMM1D.estep"],
    "log_posteriors": ["GMM1D.estep"],
    "means_variances_swapped": ["GMM1D.mstep"],
    "means_wrong_variances_consistent": ["GMM1D.mstep"],
    "mstep_calls_estep": ["GMM1D.mstep"],
    "mstep_leaves_variances": ["GMM1D.mstep"],
    "mstep_mutates_gammas": ["GMM1D.mstep"],
    "mstep_std_as_variance": ["GMM1D.mstep"],
    "not_normalised": ["GMM1D.estep"],
    "original_starter": ["GMM1D.estep", "GMM1D.mstep"],  # neither written
    "priors_divided_by_k": ["GMM1D.mstep"],
    "priors_ignored": ["GMM1D.estep"],
    "priors_sum": ["GMM1D.mstep"],
    "skips_last_cluster": ["GMM1D.mstep"],
    "stale_density_cache": ["GMM1D.estep"],  # its estep reuses densities of old parameters
    "stub": ["GMM1D.estep", "GMM1D.mstep"],
    "transposed": ["GMM1D.estep"],
    "two_clusters_hardcoded": ["GMM1D.estep", "GMM1D.mstep"],
    "unbiased_variance": ["GMM1D.mstep"],
    "uniform_gammas": ["GMM1D.estep"],
    "variance_old_mean": ["GMM1D.mstep"],
    "variances_stored_as_row": ["GMM1D.mstep"],  # a (1, k) row, which its own estep misreads
    "wrong_axis": ["GMM1D.estep"],
    "wrong_size_mus": ["GMM1D.mstep"],
    "wrong_size_priors": ["GMM1D.mstep"],
    "wrong_size_variances": ["GMM1D.mstep"],
}
# Correct for the grader (it reads any layout), but against the handout's contract: a
# constructor changed to store lists, tuples, flat or row parameters, an estep returning a list.
BREAKS_THE_CONTRACT = {
    "flat_parameters": "GMM1D.__init__",
    "list_parameters": "GMM1D.__init__",
    "row_parameters": "GMM1D.__init__",
    "tuple_parameters": "GMM1D.__init__",
    "returns_list": "GMM1D.estep",
}


def fixture_source(kind, name):
    """The full source of a submission fixture (a patch spliced into today's stub)."""
    return submission_fixtures.discover()[f"{kind}/{name}"].source().decode("utf-8")


# Run in one subprocess for every fixture (the fixtures' code never runs in pytest's process):
# each fixture's GMM1D is put in a fresh copy of today's stub, whose self_check() then runs.
SWEEP = """
import contextlib, importlib.util, io, json, sys, warnings
warnings.simplefilter("ignore")
def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
found = {}
for number, path in enumerate(sys.argv[2:]):
    stub = load(sys.argv[1], f"stub_{number}")
    stub.GMM1D = load(path, f"submission_{number}").GMM1D
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = stub.self_check()
    found[path] = {"status": status, "stdout": printed.getvalue()}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """fixture path -> the self-check's exit status and output on that fixture's GMM1D."""
    folder = tmp_path_factory.mktemp("sweep")
    sources = {}
    for name in sorted(submission_fixtures.discover()):
        kind, stem = name.split("/")
        if kind in ("buggy", "correct"):
            sources[name] = folder / f"{kind}_{stem}.py"
            sources[name].write_text(fixture_source(kind, stem))
    shutil.copy(STUB_PATH, folder / "today_stub.py")
    run = subprocess.run(
        [sys.executable, "-c", SWEEP, "today_stub.py", *map(str, sources.values())],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.splitlines()[-1])
    return {name: found[str(path)] for name, path in sources.items()}


def self_check_with_class_of(swept, name):
    result = swept[name]
    assert "Traceback" not in result["stdout"]
    assert len(re.findall(r"^(PASS|FAIL)  ", result["stdout"], re.M)) == N_CHECKS, result
    return result["status"], result["stdout"]


def test_every_buggy_fixture_is_listed():
    assert sorted(AT_FAULT) == _names("buggy")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(AT_FAULT))
def test_the_self_check_fails_every_buggy_fixture_and_blames_its_step(swept, name):
    status, printed = self_check_with_class_of(swept, f"buggy/{name}")
    assert status == 1, printed
    at_fault = re.search(r"^\d+ of \d+ checks failed\. At fault: (.*)\.$", printed, re.M)
    assert re.findall(r"GMM1D\.\w+", at_fault.group(1)) == AT_FAULT[name], printed


@pytest.mark.slow
@pytest.mark.parametrize("name", _names("correct"))
def test_the_self_check_passes_every_correct_fixture_that_keeps_the_contract(swept, name):
    status, printed = self_check_with_class_of(swept, f"correct/{name}")
    if name in BREAKS_THE_CONTRACT:
        assert status == 1 and f"At fault: {BREAKS_THE_CONTRACT[name]}" in printed
    else:
        assert status == 0 and f"All {N_CHECKS} checks passed." in printed, printed
