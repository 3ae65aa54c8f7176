"""Reading a class export: the metadata scanner, safe unzipping, and which file is graded."""

import io
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from grader.batch import export
from grader.batch.export import ExportError, load_export, safe_extract, safe_id
from grader.batch.metadata import Submitter, parse_metadata

FIXTURE = Path(__file__).parent / "batch_export"


# --- submission_metadata.yml -------------------------------------------------------------------

GRADESCOPE_SHAPE = """\
---
submission_123456:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1815'
    :email: ada@example.edu
  - :name: Bob Builder
    :sid: 42
    :email: bob@example.edu
  :created_at: 2024-03-01 11:58:02.123456000 -08:00
  :score: 87.5
  :results:
    score: 87.5
    tests:
    - name: estep_shape
      :name: not a submitter
  :history:
  - :created_at: 2024-02-28 09:00:00.000000000 -08:00
    :score: 10.0
submission_654321:
  :submitters:
  - :name: Solo
    :sid: '7'
    :email: solo@example.edu
"""


def test_metadata_reads_each_submissions_submitters():
    meta = parse_metadata(GRADESCOPE_SHAPE)
    assert meta == {
        "submission_123456": (
            Submitter("Ada Lovelace", "1815", "ada@example.edu"),
            Submitter("Bob Builder", "42", "bob@example.edu"),
        ),
        "submission_654321": (Submitter("Solo", "7", "solo@example.edu"),),
    }


def test_metadata_quoting_rules():
    text = (
        "submission_1:\n"
        "  :submitters:\n"
        "  - :name: 'Grace O''Hopper'\n"
        '    :sid: "00\\u00e9\\"7"\n'
        "    :email: plain # a comment\n"
        "  - :name: ~\n"
        "    :sid:\n"
    )
    assert parse_metadata(text)["submission_1"] == (
        Submitter("Grace O'Hopper", '00é"7', "plain"),
        Submitter("", "", ""),
    )


def test_metadata_folded_long_value_and_indented_list():
    text = (
        "submission_9:\n"
        "    :submitters:\n"
        "        -   :email: long@example.edu\n"
        "            :name: A name long enough that the emitter folded it\n"
        "              onto a second line\n"
    )
    assert parse_metadata(text)["submission_9"] == (
        Submitter(
            "A name long enough that the emitter folded it onto a second line",
            "",
            "long@example.edu",
        ),
    )


def test_metadata_ignores_unknown_lines_and_keys():
    text = (
        "something_else:\n"
        "  :submitters:\n"
        "  - :name: not a submission\n"
        "submission_2:\n"
        "  :score: 3\n"
        "random garbage: [1, 2\n"
        "submission_3:\n"
        "  :submitters: []\n"
    )
    assert parse_metadata(text) == {"submission_2": (), "submission_3": ()}


def test_metadata_of_the_fixture():
    meta = parse_metadata((FIXTURE / "submission_metadata.yml").read_text())
    assert sorted(meta) == [f"submission_100{i}" for i in range(1, 6)]
    assert meta["submission_1001"][1].name == '=HYPERLINK("http://evil.example/","click me")'
    assert meta["submission_1004"] == (Submitter("Grace O'Hopper", "1906", "grace@example.edu"),)


# --- zips ----------------------------------------------------------------------------------------


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "name", ["../evil.py", "a/../../evil.py", "/etc/evil.py", "C:/evil.py", "a\\..\\..\\evil.py"]
)
def test_zip_with_path_traversal_is_refused(tmp_path, name):
    archive = _zip(tmp_path / "x.zip", {"submission_1/gmm1d.py": "ok", name: "pwned"})
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ExportError, match="outside the export"):
        safe_extract(archive, dest)
    assert list(dest.iterdir()) == []  # refused before anything was written
    assert not (tmp_path / "evil.py").exists()


def test_zip_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo("submission_1/gmm1d.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/work/main/solution/gmm1d.py")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ExportError, match="symbolic link"):
        safe_extract(archive, dest)


def test_zip_member_size_is_capped_by_its_real_size(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "MAX_MEMBER_BYTES", 1000)
    archive = _zip(tmp_path / "x.zip", {"submission_1/gmm1d.py": "x" * 1001})
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ExportError, match="larger than 1000 bytes"):
        safe_extract(archive, dest)


def test_zip_total_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "MAX_TOTAL_BYTES", 1500)
    archive = _zip(tmp_path / "x.zip", {f"submission_{i}/gmm1d.py": "x" * 600 for i in range(3)})
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ExportError, match="more than 1500 bytes"):
        safe_extract(archive, dest)


@pytest.mark.parametrize(
    "members",
    [
        {},  # an empty zip: nothing to grade, said as such
        {"__MACOSX/._x": "junk"},  # only what is skipped
        {"submission_1/x": "a file", "submission_1/x/gmm1d.py": "where that file is"},
        {"submission_1/x/gmm1d.py": "ok", "submission_1/x": "a file where a folder is"},
    ],
    ids=["empty", "only-skipped", "file-then-folder", "folder-then-file"],
)
def test_a_zip_that_cannot_be_extracted_is_an_export_error_not_a_crash(tmp_path, members):
    archive = _zip(tmp_path / "x.zip", members)
    with pytest.raises(ExportError, match="cannot extract it|no submissions found"):
        load_export(archive, tmp_path / "scratch")


def test_not_a_zip(tmp_path):
    bogus = tmp_path / "export.zip"
    bogus.write_text("not a zip")
    with pytest.raises(ExportError):
        load_export(bogus, tmp_path / "scratch")


# --- finding submissions -------------------------------------------------------------------------


def test_export_folder_fixture(tmp_path):
    subs = {s.id: s for s in load_export(FIXTURE, tmp_path)}
    assert sorted(subs) == ["1001", "1002", "1003", "1004", "1005"]
    assert subs["1001"].path == FIXTURE / "submission_1001" / "gmm1d.py"
    assert [s.name for s in subs["1001"].submitters] == [
        "Ada Lovelace",
        '=HYPERLINK("http://evil.example/","click me")',
    ]
    assert subs["1003"].path is None  # only notes.txt: nothing gradable
    assert "notes.txt" in subs["1003"].note
    assert subs["1004"].path == FIXTURE / "submission_1004" / "gmm1d (2).py"
    assert "gmm1d (2).py" in subs["1004"].note


def test_export_zip_with_wrapper_folder_and_macos_junk(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(FIXTURE.rglob("*")):
            if path.is_file():
                z.write(path, "assignment_77_export/" + path.relative_to(FIXTURE).as_posix())
        z.writestr("__MACOSX/assignment_77_export/._submission_metadata.yml", b"\0junk")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    subs = {s.id: s for s in load_export(archive, scratch)}
    assert sorted(subs) == ["1001", "1002", "1003", "1004", "1005"]
    assert (
        subs["1004"].path == scratch / "assignment_77_export" / "submission_1004" / "gmm1d (2).py"
    )
    assert subs["1002"].submitters[0].email == "bobby@example.edu"
    assert not (scratch / "__MACOSX").exists()


def test_metadata_entry_without_a_folder_is_still_listed(tmp_path):
    root = tmp_path / "export"
    shutil.copytree(FIXTURE, root)
    shutil.rmtree(root / "submission_1002")
    subs = {s.id: s for s in load_export(root, tmp_path / "scratch")}
    assert subs["1002"].path is None
    assert subs["1002"].submitters[0].sid == "2002"


def test_export_without_metadata_has_empty_submitters(tmp_path):
    root = tmp_path / "export"
    shutil.copytree(FIXTURE, root)
    (root / "submission_metadata.yml").unlink()
    subs = load_export(root, tmp_path / "scratch")
    assert [s.id for s in subs] == ["1001", "1002", "1003", "1004", "1005"]
    assert all(s.submitters == () for s in subs)


def test_plain_folder_of_py_files(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    for name in ["alice.py", "bob smith.py", "bob_smith.py", ".hidden.py", "readme.txt"]:
        (folder / name).write_text("x = 1\n")
    subs = load_export(folder, tmp_path / "scratch")
    assert [(s.id, s.path.name) for s in subs] == [
        ("alice", "alice.py"),
        ("bob_smith", "bob smith.py"),
        ("bob_smith-2", "bob_smith.py"),
    ]


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ExportError, match="no submissions found"):
        load_export(tmp_path, tmp_path / "scratch")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("alice", "alice"),
        ("../../etc/passwd", "etc_passwd"),
        ("..", "submission"),
        (".bashrc", "bashrc"),
        ("a b\nc", "a_b_c"),
    ],
)
def test_safe_id(raw, expected):
    assert safe_id(raw) == expected


def test_zip_bytes_round_trip_reads_the_right_file(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("submission_5/lab/gmm1d.py", "class GMM1D:\n    pass\n")
        z.writestr("submission_5/other.py", "print('hi')\n")
    archive = tmp_path / "e.zip"
    archive.write_bytes(buffer.getvalue())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (sub,) = load_export(archive, scratch)
    assert sub.id == "5" and sub.path == scratch / "submission_5" / "lab" / "gmm1d.py"
    assert stat.S_IMODE(sub.path.stat().st_mode) == 0o600  # the instructor's only
