"""The replay attack of issue 12, built at test time: a gmm1d.py with no EM in it, only a table
from the sha256 of every input the grader sent an earlier submission to the answer it got.

:func:`collect` grades the reference in-process (trusted) under a given key, recording each
estep and mstep call: exactly what a student collects from feedback over a few submissions
(the inputs shown, the expected values shown). :func:`table_source` writes the file that
replays it: for an input it has seen it returns the recorded answer, for anything else it
raises. Under the key it was collected for, it scores full marks (the table is complete);
under any other, only what the published examples alone can earn.
"""

import hashlib

import numpy as np

from grader import cases, checks, config, grade
from tests.fake_sandbox import FakeSandbox

REF = checks.load_reference()
PARAMS = ("priors", "mus", "variances")

# The digest the table file computes too (its source below repeats these two lines).
HASH_CODE = """
def _digest(*arrays):
    data = b"".join(np.asarray(a, dtype=float).ravel().tobytes() for a in arrays)
    return hashlib.sha256(data).hexdigest()
"""
namespace = {"hashlib": hashlib, "np": np}
exec(HASH_CODE, namespace)
digest = namespace["_digest"]


def collect(key) -> tuple[dict, dict]:
    """(E-step table, M-step table) of a reference grading whose inputs are keyed by ``key``."""
    estep_table, mstep_table = {}, {}

    class Recorder(REF.GMM1D):
        def estep(self, X):
            gammas = super().estep(X)
            estep_table[digest(X, *(getattr(self, p) for p in PARAMS))] = gammas.tolist()
            return gammas

        def mstep(self, X, gammas):
            super().mstep(X, gammas)
            mstep_table[digest(X, gammas)] = [np.ravel(getattr(self, p)).tolist() for p in PARAMS]

    ctx = checks.Context(FakeSandbox(Recorder), REF, cases.CaseSet(key))
    data = grade._run(config.load(), lambda c: checks.run(c, ctx), note="", started=0.0, extra={})
    assert data["score"] == config.load().max_score, "the recorder is the reference: 100"
    return estep_table, mstep_table


def table_source(estep_table, mstep_table) -> str:
    """A complete gmm1d.py: the stub's constructor, and steps that only look answers up."""
    return f'''"""No EM here: answers replayed from a table of sha256(input) -> answer."""
import hashlib

import numpy as np
{HASH_CODE}
ESTEP = {estep_table!r}
MSTEP = {mstep_table!r}


class GMM1D:
    def __init__(self, num_gaussians, seed=None):
        k = int(num_gaussians)
        self.num_gaussians = k
        self.priors = np.ones((k, 1)) / k
        self.mus = np.random.RandomState(seed).randn(k, 1)
        self.variances = np.ones((k, 1))

    def estep(self, X):
        return np.array(ESTEP[_digest(X, self.priors, self.mus, self.variances)])

    def mstep(self, X, gammas):
        priors, mus, variances = MSTEP[_digest(X, gammas)]
        self.priors, self.mus, self.variances = (
            np.array(v).reshape(-1, 1) for v in (priors, mus, variances))
'''
