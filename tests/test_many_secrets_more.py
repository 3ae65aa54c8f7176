"""Every correct fixture scores full marks and every buggy one keeps its verdict under ten
random course secrets (tests/many_secrets.py; ten others in test_many_secrets.py)."""

from tests.many_secrets import verdict_test

test_the_verdict_does_not_depend_on_the_secret = verdict_test()
