"""What the student's code is granted: the one limits type.

Each field says, in its metadata, which ``[limits]`` key of ``grader/config.ini`` sets it (if
an instructor may change it), the smallest value allowed and what it means; grader.config
validates the file against these fields and builds :class:`Limits` directly. Fields without
a key are fixed by the sandbox's design.
"""

from dataclasses import dataclass, field, fields


def setting(default, key=None, minimum=None, doc=""):
    """A Limits field; ``key`` is its config.ini name (None: not configurable)."""
    return field(default=default, metadata={"key": key, "minimum": minimum, "doc": doc})


@dataclass(frozen=True)
class Limits:
    call_timeout: float = setting(
        10.0, "call_timeout_seconds", 0.1, "wall-clock seconds for one call of the student's code"
    )
    startup_timeout: float = setting(
        20.0, "startup_timeout_seconds", 0.5, "starting a worker and importing the submission"
    )
    total_budget: float = setting(
        120.0,
        "total_budget_seconds",
        1.0,
        "all student-code time in one grading; past it, remaining calls fail at once",
    )
    memory_mb: int = setting(
        512, "memory_mb", 128, "address space of the worker; grader + worker must fit 768 MB"
    )
    cpu_seconds: int = setting(120, "cpu_seconds", 1, "CPU seconds per worker process")
    output_kb: int = setting(
        4, "output_kb", 1, "printed output kept per check (the rest is dropped, with a note)"
    )
    reply_bytes: int = setting(32 << 20, doc="largest reply frame accepted from the worker")
    file_bytes: int = setting(1 << 20, doc="RLIMIT_FSIZE: largest file the worker may write")
    open_files: int = setting(64, doc="RLIMIT_NOFILE of the worker")

    @property
    def output_bytes(self) -> int:
        return self.output_kb * 1024


def configurable():
    """The fields an instructor sets in config.ini, in declaration order."""
    return [f for f in fields(Limits) if f.metadata["key"] is not None]
