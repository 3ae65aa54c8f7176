"""The course secret: what keys each grading's generated inputs to the graded file.

A grading's key is HMAC-SHA256(course secret, sha256 of the file's bytes); grader/cases.py
draws every generated case from that key and the case's name. The same file and secret
always get the same inputs (regrades reproduce Gradescope's grades); other bytes get other
inputs, and without the secret nobody can tell which.

The secret is 32 random bytes, written as 64 hex digits to ``grader/course_secret`` by
``make autograder`` when there is none (``git`` ignores it; the autograder zip ships it).
Only the grader reads it: the file is mode 0600, outside everything Landlock lets the
worker read, in ``source/`` which run_autograder makes unreadable to the sandbox uid; it is
never printed, never in results, logs, the handout or the report: those name it by its
fingerprint (a hash), so a regrade can show it used Gradescope's secret. Without it (a
checkout for development) the grader uses a fixed, public development secret, and the
results say so (``extra_data.inputs``).
"""

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from grader import paths

DEVELOPMENT = b"gmm1d development secret: public, for checkouts without a course secret"
SECRET_BYTES = 32


class SecretError(Exception):
    """The course secret file is unusable (the message says how to fix it)."""


@dataclass(frozen=True)
class CourseSecret:
    value: bytes
    development: bool

    @property
    def fingerprint(self) -> str:
        """Eight hex digits naming this secret (a hash of it: they tell nothing about it), so
        results graded under different secrets can be told apart."""
        return hashlib.sha256(b"gmm1d course secret fingerprint\0" + self.value).hexdigest()[:8]

    @property
    def label(self) -> str:
        """What results.json says about the inputs (never the secret itself)."""
        if self.development:
            return "development secret (no grader/course_secret): inputs are the public ones"
        return f"course secret {self.fingerprint}"


def development() -> CourseSecret:
    """The public secret of checkouts without a course secret (and of the tests)."""
    return CourseSecret(DEVELOPMENT, development=True)


def load(path=None) -> CourseSecret:
    """The course secret at ``path`` (default grader/course_secret), or the development one
    when there is no such file. Raises SecretError for a file that is not 64 hex digits."""
    path = Path(path) if path is not None else paths.COURSE_SECRET_PATH
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return development()
    except OSError as exc:
        raise SecretError(f"cannot read the course secret {path}: {exc.strerror}") from None
    text = raw.strip()
    try:
        value = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        value = b""
    if len(value) != SECRET_BYTES:
        raise SecretError(
            f"the course secret {path} is not {2 * SECRET_BYTES} hex digits; restore it from "
            "the course's private files, or delete it and run make autograder for a new one "
            "(new inputs for every file, equally fair)"
        )
    return CourseSecret(value, development=False)


def create(path=None) -> Path:
    """Write a new random course secret to ``path`` (mode 0600); refuses to overwrite."""
    path = Path(path) if path is not None else paths.COURSE_SECRET_PATH
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(os.urandom(SECRET_BYTES).hex() + "\n")
    return path


def grading_key(secret: CourseSecret, source: bytes) -> bytes:
    """HMAC-SHA256(secret, sha256(source)): the key of one file's generated inputs."""
    return hmac.new(secret.value, hashlib.sha256(source).digest(), "sha256").digest()
