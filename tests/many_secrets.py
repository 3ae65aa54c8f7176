"""Grading the correct and buggy fixtures in-process under many random course secrets
(test_many_secrets*.py): every correct file scores full marks and every buggy one keeps its
verdict (the same failed checks, the same mistakes named) whatever inputs the secret draws.

In-process through tests/fake_sandbox.py (trusted fixtures only: never the hostile ones), so
twenty secrets cost a minute of CPU, not ten; tests/test_submissions.py grades every fixture
through the real sandbox as well, under three other secrets in turn. Two modules of ten
secrets each, so pytest-xdist runs them on two cores.
"""

import os
import time
import warnings

import numpy as np
import pytest

from grader import checks, config, grade, secret
from tests import submission_fixtures
from tests.fake_sandbox import FakeSandbox

REF = checks.load_reference()
CFG = config.load()
ALL = submission_fixtures.discover()
NAMES = sorted(n for n in ALL if not n.startswith("hostile/"))
SECRETS_PER_MODULE = 10


def random_secrets():
    """Fresh random secrets: another draw in every session (the failure message shows the
    one that failed)."""
    return [
        secret.CourseSecret(os.urandom(secret.SECRET_BYTES), False)
        for _ in range(SECRETS_PER_MODULE)
    ]


def verdict_problems(name, course_secret):
    """How the fixture's grading under ``course_secret`` differs from its expectation."""
    path, exp = ALL[name].upload(), ALL[name].expectation  # a patch spliced into the stub
    ctx = checks.Context.for_grading(FakeSandbox.from_file(path), REF, course_secret)
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # buggy code's 0/0, by design
        warnings.simplefilter("ignore")
        data = grade._run(CFG, lambda check_id: checks.run(check_id, ctx), note="",
                          started=time.monotonic(), extra={})  # fmt: skip
    found = submission_fixtures.verdict_mismatches(data["tests"], exp, CFG)
    listed = exp.get("mistakes", {})
    for test in data["tests"]:  # every mistake named exactly where the fixture says, no more
        check_id, named = test["extra_data"]["check"], test["extra_data"].get("mistakes", [])
        if named and check_id not in listed:
            found.append(f"{check_id} names {named}, which the fixture does not list")
    if name.startswith("correct/"):
        named = [m for t in data["tests"] for m in t["extra_data"].get("mistakes", [])]
        found += [f"a correct file was told of mistakes: {named}"] if named else []
    if found:
        found.append(f"(reproduce: put {course_secret.value.hex()} in a file and run "
                     f"python -m tests.submission_fixtures --upload {name} DIR, then "
                     f"python -m grader DIR/{path.name} --secret FILE)")  # fmt: skip
    return found


def verdict_test():
    """The test each test_many_secrets*.py module holds, over its own ten fresh secrets."""
    secrets = random_secrets()

    @pytest.mark.parametrize("index", range(SECRETS_PER_MODULE), ids=lambda i: f"secret{i}")
    @pytest.mark.parametrize("name", NAMES)
    def test_the_verdict_does_not_depend_on_the_secret(name, index):
        problems = verdict_problems(name, secrets[index])
        assert not problems, "\n".join(problems)

    return test_the_verdict_does_not_depend_on_the_secret
