"""grader/secret.py: the course secret's file, its development stand-in, and the grading key."""

import hashlib
import hmac
import os
import stat

import pytest

from grader import secret


def test_no_file_means_the_development_secret_labelled_as_such(tmp_path):
    found = secret.load(tmp_path / "course_secret")
    assert found.development and found.value == secret.DEVELOPMENT
    assert "development secret" in found.label


def test_create_writes_64_hex_digits_readable_by_the_owner_only(tmp_path):
    path = secret.create(tmp_path / "course_secret")
    text = path.read_text()
    assert len(text.strip()) == 64 and int(text, 16) >= 0 and text.endswith("\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = secret.load(path)
    assert not loaded.development and loaded.value == bytes.fromhex(text.strip())
    assert loaded.label == f"course secret {loaded.fingerprint}"
    assert text.strip()[:8] not in loaded.label and len(loaded.fingerprint) == 8


def test_create_never_overwrites_a_secret(tmp_path):
    path = secret.create(tmp_path / "course_secret")
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        secret.create(path)
    assert path.read_bytes() == before


def test_two_secrets_differ_and_so_do_their_fingerprints(tmp_path):
    a = secret.load(secret.create(tmp_path / "a"))
    b = secret.load(secret.create(tmp_path / "b"))
    assert a.value != b.value and len(a.value) == len(b.value) == 32
    assert a.fingerprint != b.fingerprint


@pytest.mark.parametrize("content", [b"", b"abc\n", b"zz" * 32, b"00" * 31, "é".encode() * 32])
def test_a_damaged_secret_is_an_error_that_says_how_to_recover(tmp_path, content):
    path = tmp_path / "course_secret"
    path.write_bytes(content)
    with pytest.raises(secret.SecretError, match="restore it from the course's private files"):
        secret.load(path)


def test_the_key_is_hmac_of_the_secret_and_the_files_sha256():
    value = bytes(range(32))
    course = secret.CourseSecret(value, development=False)
    source = b"class GMM1D: ...\n"
    expected = hmac.new(value, hashlib.sha256(source).digest(), hashlib.sha256).digest()
    assert secret.grading_key(course, source) == expected
    assert secret.grading_key(course, source + b"# one comment\n") != expected
    other = secret.CourseSecret(bytes(32), development=False)
    assert secret.grading_key(other, source) != expected
