"""The batch's progress line: a bar on a terminal, one line per submission in a log."""

import sys
from dataclasses import dataclass


@dataclass
class JobResult:
    id: str
    status: str  # "graded" | "skipped" | "failed" | "stale" (set aside, not in the source)
    seconds: float = 0.0
    detail: str = ""


class Progress:
    """``[#####.....] 12/40 graded (3 skipped)`` on a terminal; else one line per submission."""

    WIDTH = 30

    def __init__(self, total: int, skipped: int, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.skipped, self.done = total, skipped, skipped
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        if self.tty:
            self._draw()
        elif skipped:
            self._line(f"{skipped} already graded, skipped (--redo regrades them)")

    def _line(self, text):
        print(text, file=self.stream, flush=True)

    def _draw(self):
        filled = self.WIDTH * self.done // self.total if self.total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} graded ({self.skipped} skipped)")
        self.stream.flush()

    def update(self, outcome: JobResult):
        self.done += 1
        if self.tty:
            if outcome.status == "failed":
                self.stream.write(f"\r\x1b[K{outcome.id}: grader failed ({outcome.detail})\n")
            self._draw()
        else:
            what = "graded" if outcome.status == "graded" else f"GRADER FAILED: {outcome.detail}"
            self._line(f"[{self.done}/{self.total}] {outcome.id}: {what} ({outcome.seconds:.1f} s)")

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
