"""Session-wide guard: the suite never creates or changes the checkout's course secret.

Tests that need a course secret make their own (tmp_path); one written into grader/ would
silently become a course's secret (make autograder would ship it) and change what every
later grading of this checkout is fed.
"""

import pytest

from grader import paths


def _state():
    path = paths.COURSE_SECRET_PATH
    return path.read_bytes() if path.exists() else None


@pytest.fixture(scope="session", autouse=True)
def checkout_course_secret_untouched():
    before = _state()
    yield
    assert _state() == before, (
        f"a test created or changed {paths.COURSE_SECRET_PATH}; tests must use their own"
    )
