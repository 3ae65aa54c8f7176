"""Every correct fixture scores full marks and every buggy one keeps its verdict under ten
random course secrets (tests/many_secrets.py; the other ten are in test_many_secrets.py)."""

import pytest

from tests.many_secrets import NAMES, SECRETS_PER_MODULE, random_secrets, verdict_problems

SECRETS = random_secrets()


@pytest.mark.parametrize("index", range(SECRETS_PER_MODULE), ids=lambda i: f"secret{i}")
@pytest.mark.parametrize("name", NAMES)
def test_the_verdict_does_not_depend_on_the_secret(name, index):
    problems = verdict_problems(name, SECRETS[index])
    assert not problems, "\n".join(problems)
