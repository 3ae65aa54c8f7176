"""What a batch writes besides the results: canvas.csv from the demo export's metadata, the
per-student rows of report.html, results of uploads no longer in the source set aside, and
the summary's account of uploads without a sandbox record. A stand-in grader (a results.json
per upload, in seconds) replaces the real one; the real one is in test_batch.py."""

import csv
import io
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from grader.batch import run_batch
from grader.batch.cli import summary
from grader.batch.gradebook import canvas_rows
from grader.batch.records import Record

FIXTURE = Path(__file__).parent / "batch_export"

# Writes a results.json: 5 points per check passed; the upload's first line names the checks
# failed and their mistakes ("# fail estep_pmf:wrong_axis"); a missing upload scores 0.
STAND_IN = r"""
import json, os, sys
sub, results = sys.argv[1], sys.argv[2]
text = open(sub).read() if os.path.exists(sub) else None
failed = {}
if text and text.startswith("# fail"):
    for item in text.splitlines()[0].split()[2:]:
        check, _, mistake = item.partition(":")
        failed[check] = [mistake] if mistake else []
tests = [{"name": c, "score": 0.0 if c in failed or text is None else 5.0, "max_score": 5.0,
          "status": "failed" if c in failed or text is None else "passed",
          "extra_data": {"check": c, "mistakes": failed.get(c, [])}}
         for c in ("loads", "estep_pmf", "mstep_means")]
extra = {"complete": True, "submission": os.path.basename(sub) if text is not None else None}
if text is not None:
    extra["sandbox"] = {"layers": "stand-in layers", "off": []}
    extra["versions"] = {"python": "3.11.2", "numpy": "2.4.6"}
json.dump({"score": sum(t["score"] for t in tests), "execution_time": 0.1, "tests": tests,
           "extra_data": extra}, open(results, "w"))
"""


def _command(tmp_path):
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    return lambda sub, res, note="": [sys.executable, str(script), str(sub), str(res)]


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_csv_from_the_demo_export_has_a_row_per_submitter(tmp_path):
    out = tmp_path / "out"
    run_batch(FIXTURE, out, jobs=2, command=_command(tmp_path), progress_stream=io.StringIO(),
              assignment="Lab 3 EM")  # fmt: skip
    rows = _rows(out / "canvas.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 3 EM (15)"]
    by_sid = {r[2]: r for r in rows[1:]}
    assert sorted(by_sid) == ["0042", "1791", "1815", "1906", "2002", "9999"]  # both of 1001
    assert by_sid["1815"] == ["Ada Lovelace", "", "1815", "ada@example.edu", "", "15"]
    assert by_sid["0042"][0].startswith("'=HYPERLINK")  # a formula shown as text
    assert by_sid["0042"][5] == by_sid["1815"][5]  # a group upload: each member its total
    assert by_sid["1791"][5] == "0"  # 1003 uploaded no gmm1d.py: graded as nothing uploaded
    assert by_sid["1906"][0] == "Grace O'Hopper"


def test_canvas_rows_leave_a_failed_grading_empty_and_name_an_anonymous_upload():
    failed = Record("7", names=("A",), sids=("1",), emails=("a@x",), error="crashed")
    anonymous = Record("8", total=3.0, max_total=4.0)
    rows = canvas_rows([failed, anonymous], "HW")
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW (4)"],
        ["A", "", "1", "a@x", "", ""],
        ["submission 8", "", "", "", "", "3"],
    ]


class _Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.students, self.mistakes, self.bins = {}, {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "student":
            self.students[a["data-id"]] = a
        if tag == "tr" and a.get("class") == "mistake":
            self.mistakes[a["data-mistake"]] = a
        if tag == "tr" and a.get("class") == "bin":
            self.bins.append(a)


def test_report_has_a_row_per_submission_with_its_mistakes_and_who_made_each(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    uploads = {
        "s1": "# fail estep_pmf:wrong_axis mstep_means:divide_by_n\n",
        "s2": "# fail estep_pmf:wrong_axis\n",
        "s3": "print('all good')\n",
        "s4": (Path(__file__).parent.parent / "gmm1d.py").read_text(),  # the stub
        "s5": "# fail loads\n",
    }
    for name, text in uploads.items():
        (folder / f"{name}.py").write_text(text)
    out = tmp_path / "out"
    run_batch(folder, out, jobs=2, command=_command(tmp_path), progress_stream=io.StringIO())
    page = (out / "report.html").read_text()
    parsed = _Rows()
    parsed.feed(page)
    assert sorted(parsed.students) == ["s1", "s2", "s3", "s4", "s5"]
    assert parsed.students["s1"]["data-mistakes"] == "wrong_axis divide_by_n"
    assert parsed.students["s1"]["data-total"] == "5"
    assert parsed.students["s3"]["data-category"] == "graded"
    assert parsed.students["s4"]["data-category"] == "unchanged stub"
    assert parsed.students["s5"]["data-category"] == "did not load"
    assert parsed.students["s1"]["data-mistakes"] in page.split('data-id="s1"')[1].split("</tr>")[0]
    who = page.split('data-mistake="wrong_axis"')[1].split('<td class="who">')[1]
    assert who.split("</td>")[0] == "s1; s2"  # no metadata: the ids alone
    assert 'href="results/s1.json"' in page and 'href="logs/s1.txt"' in page
    assert sum(int(b["data-unchanged-stub"]) for b in parsed.bins) == 1
    assert sum(int(b["data-did-not-load"]) for b in parsed.bins) == 1
    assert sum(int(b["data-graded"]) for b in parsed.bins) == 3
    assert page.index('id="students"') < page.index('id="sandbox"')  # sandbox after results
    assert "python 3.11.2" in page  # the versions the gradings ran with


def test_a_rerun_sets_aside_results_of_uploads_no_longer_in_the_source(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.py").write_text("print(1)\n")
    out = tmp_path / "out"
    command = _command(tmp_path)
    run_batch(folder, out, jobs=1, command=command, progress_stream=io.StringIO())
    (folder / "c.py").unlink()
    records, outcomes = run_batch(folder, out, jobs=1, command=command,
                                  progress_stream=io.StringIO())  # fmt: skip
    assert [r.id for r in records] == ["a", "b"]
    assert [(o.id, o.status) for o in outcomes if o.status == "stale"] == [("c", "stale")]
    assert not (out / "results" / "c.json").exists() and not (out / "logs" / "c.txt").exists()
    assert (out / "stale" / "results" / "c.json").exists()
    assert (out / "stale" / "logs" / "c.txt").exists()
    assert [r[0] for r in _rows(out / "grades.csv")] == ["submission_id", "a", "b"]
    text = summary(records, outcomes, out, 1.0, 1)
    assert re.search(r"Set aside in .*stale: results of 1 upload\(s\) no longer in the "
                     r"source: c$", text, re.M)  # fmt: skip
    assert "2 submissions: 0 graded now, 2 skipped" in text
    assert 'id="stale"' in (out / "report.html").read_text()


def test_the_summary_says_which_upload_has_no_sandbox_record_and_why(tmp_path):
    out = tmp_path / "out"
    records, outcomes = run_batch(FIXTURE, out, jobs=2, command=_command(tmp_path),
                                  progress_stream=io.StringIO())  # fmt: skip
    text = summary(records, outcomes, out, 1.0, 2)
    assert "Sandbox: not recorded (1 submission(s))" in text
    assert "  1003: no sandbox record: no gmm1d.py in the upload" in text
    results = json.loads((out / "results" / "1003.json").read_text())
    assert results["extra_data"]["submission"] is None
