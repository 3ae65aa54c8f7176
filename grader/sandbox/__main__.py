"""``python -m grader.sandbox``: can this machine run student code confined?

Starts a real worker on the reference solution, makes one E-step call, and prints the
layers in force (and a warning for each one this machine lacks). Exit status 0 when the
call worked, 1 with the reason when the sandbox cannot work here. ``setup.sh`` runs it
when it builds the Gradescope image; instructors can run it on their own machine.
``python -m grader.sandbox --syscall NNN`` names system call NNN of this architecture.
"""

import sys

import numpy as np

from grader import paths
from grader.sandbox import Limits, Sandbox, SandboxError, seccomp

X = np.array([[0.2], [-0.9], [-1.0], [1.2], [1.8]])
PARAMS = {"priors": [0.5, 0.5], "mus": [-3.0, 2.0], "variances": [4.0, 4.0]}
P_CLUSTER_1 = [0.2942149722, 0.6224593312, 0.6513548647, 0.1066905939, 0.0534033298]  # 6.86x


def main(argv=()):
    if argv[:1] == ["--syscall"] and len(argv) == 2 and argv[1].isdigit():
        # the name of a number the kernel log gives for a refused call (GMM1D_SECCOMP_LOG=1)
        print(seccomp.name(int(argv[1])) or f"no system call {argv[1]} on this architecture")
        return 0
    try:
        with Sandbox(paths.SOLUTION_PATH, Limits(call_timeout=30, startup_timeout=60)) as sandbox:
            reply = sandbox.estep(2, PARAMS, X)
            confinement = sandbox.confinement
    except SandboxError as exc:
        print(f"sandbox check: FAILED: {exc}", file=sys.stderr)
        return 1
    got = reply.arrays.get("result")
    if not reply.ok or got is None or not np.allclose(got[:, 0], P_CLUSTER_1, atol=1e-8):
        print(f"sandbox check: FAILED: the reference's E-step came back {reply.kind} "
              f"{reply.error}", file=sys.stderr)  # fmt: skip
        return 1
    print(f"sandbox check: ok; {confinement.summary()}")
    for warning in sandbox.support.warnings():
        print(f"sandbox check: WARNING: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
