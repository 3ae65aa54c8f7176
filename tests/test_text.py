"""grader/text.py: the one sanitiser for text a student sees."""

from grader import text


def test_strip_paths_keeps_only_file_names():
    line = 'File "/tmp/gmm1d-sandbox-x1y2/gmm1d.py", line 3; see /autograder/source/checks.py'
    assert text.strip_paths(line) == 'File "gmm1d.py", line 3; see checks.py'


def test_one_line_is_short_printable_and_free_of_paths():
    line = text.one_line("a\x00b\nc\td\x1b[31m /root/.ssh/id_rsa " + "x" * 500)
    assert line.startswith("ab c d[31m id_rsa x")
    assert len(line) == 300 and line.endswith("...")
    assert text.one_line("  many   spaces\n\nand lines ") == "many spaces and lines"


def test_block_keeps_lines_but_is_bounded_valid_utf8():
    raw = "ok\x00\x07 \udcff\nnext line\t" + "y" * 1050
    out = text.block(raw, 1000)
    assert "\x00" not in out and "\x07" not in out and "\nnext line\t" in out
    out.encode("utf-8")  # the lone surrogate was replaced
    assert out.endswith("\n[... 65 more characters not shown]")
    assert len(out) < 1000 + 60
    assert text.block("short", 1000) == "short"
