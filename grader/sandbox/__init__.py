"""Run untrusted student code in a separate, confined worker process.

The grader never imports the submission. A :class:`Sandbox` (client.py) starts a worker
(worker.py, sent as source text: process.py) that confines itself (confine.py), imports the
submission and answers one call at a time over two pipes (protocol.py); every reply is
validated (schema.py) before the grader sees it. The layers, and where each is enforced:

=====================  ======================================================  ===========
layer                  what it stops                                           module
=====================  ======================================================  ===========
Landlock (kernel)      reading outside the interpreter's tree, writing         landlock.py
                       outside the private directory, other processes' /proc,
                       TCP, signals and abstract sockets beyond the sandbox
seccomp (kernel)       every call not on its allow-list: sockets, exec,        seccomp.py
                       ptrace, namespaces, mounts, IPC, chmod/chown/utime,
                       inotify, memfd, prctl; limits and signals of others
throwaway uid (root)   files, signals, ptrace across gradings and the grader   isolation.py
resource limits        memory, CPU, file size, open files, processes and       isolation.py
                       threads, core dumps, message queues
process hygiene        a new session per worker, scrubbed environment,         process.py
                       private directory, nothing left after close             cleanup.py
time limits            per call, start-up, and a budget for the grading        client.py
hostile replies        frame caps, strict JSON, plain numeric arrays, schemas  protocol.py
=====================  ======================================================  ===========

Each layer is detected and checked before any student code runs; grading never proceeds
with less than the machine offers, and every grading records which layers were in force
(``Sandbox.confinement``).
"""

from grader.sandbox.client import Sandbox
from grader.sandbox.limits import Limits
from grader.sandbox.schema import Reply, SandboxError

__all__ = ["Limits", "Reply", "Sandbox", "SandboxError"]
