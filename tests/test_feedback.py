"""grader/feedback.py, and the feedback of real fixtures rendered as Gradescope renders it
(Markdown, "basic": paragraphs, code, code blocks, bold, lists; no tables, no HTML)."""

import time

import pytest
from markdown_it import MarkdownIt

from grader import checks, config, feedback, grade, secret
from tests.fake_sandbox import FakeSandbox
from tests.submission_fixtures import discover

REF = checks.load_reference()
MARKDOWN = MarkdownIt("commonmark", {"html": False})
ALLOWED_TOKENS = {
    "paragraph_open", "paragraph_close", "inline", "text", "code_inline", "fence",
    "strong_open", "strong_close", "bullet_list_open", "bullet_list_close",
    "list_item_open", "list_item_close", "softbreak", "hardbreak", "text_special",
}  # fmt: skip


def _tokens(markdown):
    found = []
    for token in MARKDOWN.parse(markdown):
        found.append(token)
        found.extend(token.children or [])
    return found


def _graded(fixture):
    """results.json of a fixture graded in-process (trusted fixtures only)."""
    upload = discover()[fixture].upload()  # a patch spliced into today's stub
    ctx = checks.Context.for_grading(FakeSandbox.from_file(upload), REF, secret.development())
    run_check = lambda check_id: checks.run(check_id, ctx)  # noqa: E731
    return grade._run(config.load(), run_check, note="Graded `gmm1d.py`.",
                      started=time.monotonic(), extra={})  # fmt: skip


@pytest.mark.parametrize("text", ["plain", "a`b", "``x``", "`", " lead", "**b** [l](u) <i>"])
def test_code_holds_anything_as_one_code_span(text):
    tokens = [t for t in _tokens(feedback.code(text)) if t.type not in ("paragraph_open",
              "paragraph_close", "inline")]  # fmt: skip
    assert [t.type for t in tokens] == ["code_inline"]
    assert tokens[0].content.strip() == " ".join(text.split()).strip()


def test_fenced_holds_anything_as_one_block():
    text = "```\n**bold** [link](http://x) <b>html</b>\n````"
    (token,) = MARKDOWN.parse(feedback.fenced(text))
    assert token.type == "fence" and token.content == text + "\n"


def test_escape_and_plain_are_inverse_for_our_prose():
    prose = "No module named 'gmm_helpers' (line 7, in <module>) a*b [x](y) |t|"
    escaped = feedback.escape(prose)
    assert all(t.type in ALLOWED_TOKENS for t in _tokens(escaped))
    assert MARKDOWN.render(escaped).strip() == (
        "<p>No module named 'gmm_helpers' (line 7, in &lt;module&gt;) a*b [x](y) |t|</p>"
    )
    assert feedback.plain(escaped) == prose


def test_a_buggy_fixtures_feedback_renders_with_its_structure():
    """variance about the old mean: the failing check shows expected against got as a code
    block, the likely mistake in bold, code names as code; nothing else in the markup."""
    results = _graded("buggy/variance_old_mean")
    assert results["output_format"] == "md"
    for test in results["tests"]:
        assert test["output_format"] == "md"
        tokens = _tokens(test["output"])
        assert {t.type for t in tokens} <= ALLOWED_TOKENS, test["output"]
    by_check = {t["extra_data"]["check"]: t for t in results["tests"]}
    tokens = _tokens(by_check["mstep_variances"]["output"])
    (fence,) = [t for t in tokens if t.type == "fence"][:1]
    assert fence.content.startswith("expected  [") and "\ngot       [" in fence.content
    strong = [t for t in tokens if t.type == "text" and t.content == "Likely cause:"]
    assert strong, by_check["mstep_variances"]["output"]
    em = _tokens(by_check["em_monotone"]["output"])
    assert any(t.type == "code_inline" for t in em)


def test_a_fall_of_the_log_likelihood_is_a_list_around_it():
    class Falls(REF.GMM1D):
        def mstep(self, X, gammas):
            super().mstep(X, gammas)
            if len(X) == 300:
                self.mus = self.mus + 3.0

    ctx = checks.Context.for_grading(FakeSandbox(Falls), REF, secret.development())
    outcome = checks.run("em_monotone", ctx)
    html = MARKDOWN.render(outcome.feedback)
    assert "<ul>\n<li>start: " in html and "<strong>(fell)</strong></li>" in html
    assert "<strong>Likely cause:</strong>" in html


def test_what_the_student_printed_is_a_code_block_whatever_it_holds():
    results = _graded("correct/extra_prints")
    printed = [t["output"] for t in results["tests"] if "Your code printed:" in t["output"]]
    assert printed
    for output in printed:
        tail = output.split("Your code printed:", 1)[1]
        (token,) = MARKDOWN.parse(tail)
        assert token.type == "fence"
