""":func:`diagnose`, which every check calls: which of the declared mistakes
(grader/mistakes.py, ``TABLE``) explain a check's failing cases. Nothing here runs
student code.

**The rule.** A check hands :func:`diagnose` one :class:`Situation` per failing case. A
mistake is named only when it explains EVERY failing case, and at least one of them on its
own: a case where its answer equals the right answer (within the looser tolerance of a
match) is no evidence (for k = 1 dividing by n is right), nor is a case where it equals
another mistake's answer (for k = 1 the priors' sums and the sums divided by k are the same
numbers), unless this mistake outranks the other. Then a mistake outranked by another one
named is dropped.

Shapes: ``X`` ``(n_samples, 1)``; parameters ``(n_components,)``; gammas and posteriors
``(n_samples, n_components)``.
"""

from dataclasses import dataclass, field

import numpy as np

from grader.cases import Params
from grader.feedback import escape
from grader.mistakes import MATCH_ATOL, MATCH_RTOL, NO, TABLE, UNIQUE, WEAK, matches

# key -> the advice a student reads: what the fixtures and the class report look keys up in
MISTAKES = {key: mistake.advice for key, mistake in TABLE.items()}

__all__ = ["MATCH_ATOL", "MATCH_RTOL", "MISTAKES", "Situation", "diagnose", "describe", "matches"]


@dataclass
class Situation:
    """One failing case of a check, as the diagnosis sees it.

    ``output`` is what the check judged: "gammas" (an E-step's result), a parameter name
    (what mstep stored), "estep_effects", "mstep_arguments" or "loglik". ``got`` is the
    student's answer as it came back (any shape; None when the call raised or nothing could
    be read), ``right`` the reference's. ``stored`` (M-step) maps every parameter to what
    mstep stored, raveled, or None; ``facts`` are what the check saw directly.
    """

    output: str
    k: int
    got: object = None
    right: object = None
    X: object = None
    params: Params = None  # the model's parameters before the call
    gammas: object = None  # the gammas mstep was given
    stored: dict = field(default_factory=dict)
    facts: frozenset = frozenset()


# ---------------------------------------------------------------- the diagnosis


def _candidates(mistake, s) -> list:
    if mistake.answers is None or s.output not in mistake.outputs:
        return []
    try:
        return [c for c in mistake.answers(s) if c is not None]
    except (TypeError, ValueError, IndexError):  # inputs this mistake cannot be applied to
        return []


def evidence(s) -> dict:
    """key -> UNIQUE / WEAK / NO: what the failing case ``s`` says of each mistake."""
    answers = {key: _candidates(m, s) for key, m in TABLE.items()}
    found = {}
    for key, mistake in TABLE.items():
        level = NO
        if s.output in mistake.outputs and mistake.sign is not None:
            level = mistake.sign(s)
        for candidate in answers[key]:
            if not matches(s.got, candidate):
                continue
            if matches(s.right, candidate):  # consistent, but the right answer is no evidence
                level = max(level, WEAK)
                continue
            shared = any(
                other != key and other not in mistake.outranks
                and any(matches(candidate, c) for c in answers[other])
                for other in answers
            )  # fmt: skip
            level = max(level, WEAK if shared else UNIQUE)
        found[key] = level
    return found


def diagnose(situations) -> list:
    """Keys of the mistakes that explain every failing case of one check (``situations``),
    at least one of them on its own; minus those outranked by another named one."""
    per_case = [evidence(s) for s in situations]
    if not per_case:
        return []
    named = [key for key in TABLE
             if all(levels[key] > NO for levels in per_case)
             and any(levels[key] == UNIQUE for levels in per_case)]  # fmt: skip
    hidden = {other for key in named for other in TABLE[key].outranks}
    return [key for key in named if key not in hidden]


def shows(s, keys) -> bool:
    """True when case ``s`` is, on its own, evidence of one of ``keys`` (the case to show)."""
    levels = evidence(s)
    return any(levels.get(key) == UNIQUE for key in keys)


def right_on(keys, s) -> bool:
    """True when each mistake of ``keys`` gives the right answer on case ``s`` (a published
    example that code making it would pass)."""
    return all(any(matches(s.right, c) for c in _candidates(TABLE[key], s)) for key in keys)


def computes(keys) -> bool:
    """True when ``keys`` is not empty and code making each of them computes from its inputs."""
    return bool(keys) and all(TABLE[key].computes for key in keys)


def changed_by(before, now) -> str:
    """'largest change 1e-12': the size of a change the digits shown may hide."""
    before, now = np.asarray(before, dtype=float), np.asarray(now, dtype=float)
    return f"largest change {float(np.max(np.abs(now - before))):.2g}"


def describe(keys) -> str:
    """Feedback paragraphs for diagnosed mistakes, in Markdown (empty when none)."""
    return "".join(f"\n\n**Likely cause:** {escape(TABLE[key].advice)}." for key in keys)
