"""A batch's grading slot: one long-lived ``python -m grader.batch.slot`` process per job,
fed one upload at a time, so the grader's start-up (Python, numpy, the grader's modules)
is paid once per slot instead of once per file.

Protocol (the batch driver, grader/batch/slots.py, is the only other end): each request is
one JSON line on stdin, ``{"argv": [...], "log": PATH}``, where ``argv`` is exactly the
single-grade command's arguments (``python -m grader FILE --results PATH ...``, built by
grader.batch.jobs.grade_args); the slot runs that command's ``main`` with its stdout and
stderr sent to ``log``, then answers one JSON line ``{"exit": CODE}`` on the reply fd. The
results file is the answer; the reply only says the grading ended. EOF on stdin ends the slot.

Trust: the slot is the trusted grader, running as the batch's own user; every upload it
grades still runs only in its own confined worker (grade_submission -> Sandbox, as for a
single grade), with stdin closed and only its own pipes (grader/sandbox/process.py), so no
worker can read this slot's requests (other uploads' paths) or write its replies.

State between gradings in one slot, checked for what an upload could influence:

* every grading builds its own Sandbox, Context (per-grading caches), CaseSet and reference
  module (checks.load_reference re-imports it), and reloads the config and secret from their
  files, as ``python -m grader`` does; nothing of one grading is kept for the next;
* module-level state that survives is the grader's own and never holds student data:
  imported modules, ``worker_source``'s cache (our source text), the seccomp/landlock library
  handles, and isolation's uid counter (each Sandbox takes the next of this process's 64
  uids; Sandbox.close kills every process of its uid and removes its IPC objects, and its
  files where Landlock did not confine them, before the uid can come round again), and the
  drawing process (grader/drawer.py), a fork of this slot that runs no student code and
  keeps nothing of a grading once it has answered with its figures;
* no check draws from numpy's global random state (the inputs come from generators keyed per
  grading, grader/cases.py), so no grading's draws shift the next one's;
* stdout/stderr are pointed back at the slot's own log after each grading, so nothing one
  grading prints (or leaves buffered) lands in the next one's log.

A slot that dies or stops answering is killed and replaced by the driver; see slots.py.
"""

import json
import os
import sys


def _serve_one(request: dict, home_fds: tuple[int, int]) -> int:
    from grader import grade

    argv, log = request["argv"], request["log"]
    # 0600, like every output of the batch: the log holds the student's feedback.
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.dup2(fd, 1)  # fd level too: whatever writes to 1 or 2 directly (sys.__stderr__)
        os.dup2(fd, 2)
    finally:
        os.close(fd)
    saved = sys.stdout, sys.stderr
    stream = open(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
    sys.stdout = sys.stderr = stream  # one stream: the table and the messages keep their order
    try:
        code = grade.main(list(argv))
    except SystemExit as exc:  # argparse, or a deliberate exit: as the command's status
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception:  # noqa: BLE001 - reported as the command would: a traceback, status 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout, sys.stderr = saved
        stream.close()
        os.dup2(home_fds[0], 1)
        os.dup2(home_fds[1], 2)
    return int(code or 0)


def serve(requests, reply_fd: int) -> None:
    """Answer requests until EOF; every request gets exactly one reply line."""
    from grader import drawer

    home_fds = (os.dup(1), os.dup(2))
    for line in requests:
        if drawer.started():  # replaced here if it died, so its stderr stays the slot's
            drawer.start()
        code = _serve_one(json.loads(line), home_fds)
        os.write(reply_fd, (json.dumps({"exit": code}) + "\n").encode())


def warm_up() -> None:
    """Import what every grading imports, before the first request, and start the process
    that draws every grading's figures (grader/drawer.py) while stderr is still the slot's."""
    import numpy  # noqa: F401 - before the fork: the drawing process needs it too

    from grader import config, drawer

    try:
        if config.load().figures:
            drawer.start()
    except config.ConfigError:
        pass  # each grading reports it
    from grader import checks, grade, report  # noqa: F401
    from grader.sandbox import Sandbox, process  # noqa: F401

    process.worker_source()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "--reply-fd":
        print("usage: python -m grader.batch.slot --reply-fd FD", file=sys.stderr)
        return 2
    reply_fd = int(argv[1])
    os.set_inheritable(reply_fd, False)  # only this process answers; no worker inherits it
    warm_up()
    serve(sys.stdin, reply_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
