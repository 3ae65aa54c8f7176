#!/usr/bin/env bash
# Gradescope runs this once, as root, in $AUTOGRADER_ROOT/source (the unpacked autograder zip),
# when it builds the autograder image. Idempotent: a second run only re-checks (seconds).
#
#   AUTOGRADER_ROOT  where Gradescope's tree lives (default /autograder); set it to try the
#                    whole flow in a temporary directory on any machine (see README).
#   PYTHON           the interpreter the virtualenv is built from (default python3).
#
# What it does, and why:
# * apt-get only when the interpreter or its venv module is missing (Ubuntu ships venv as a
#   separate package). Nothing else is installed system-wide.
# * A virtualenv at $AUTOGRADER_ROOT/venv with requirements.txt. Never pip into the system
#   python3: Gradescope's own harness runs on it, and Ubuntu 23.04+ refuse it (PEP 668).
#   The venv lives OUTSIDE source/ on purpose: run_autograder makes source/ (grader, solution)
#   unreadable to the sandbox user, yet the sandboxed worker runs on this venv's interpreter,
#   so the venv (and the path to it and to its base interpreter) must stay readable by it.
# * An unprivileged user (grader/paths.py SANDBOX_USER) standing for "any other user": the
#   worker itself runs under a throwaway uid per grading (grader/sandbox.py), so this account
#   is what proves such a uid can run the venv but not read source/.
# * Proves it worked: the sandbox user imports numpy and scipy with the venv's interpreter.
set -euo pipefail

AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${PYTHON:-python3}"
SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$AUTOGRADER_ROOT/venv"
REQUIREMENTS="$SOURCE_DIR/requirements.txt"
LOCK="$SOURCE_DIR/requirements-lock.txt"  # exact versions (constraints) for a repeatable image
STAMP="$VENV/.requirements.sha256"
SANDBOX_USER="student"  # must equal grader/paths.py SANDBOX_USER (checked below)

log() { echo "setup.sh: $*"; }

apt_install() {
  log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@"
}

# Let the sandbox user reach $1: add o+x (traverse only: it still cannot list or read) to every
# ancestor directory that lacks it. Needed when the base interpreter lives under a 0700
# directory such as /root/.pyenv: a venv's bin/python is only a link to it, and its standard
# library stays in the base installation (--copies would not help: lib/ is never copied).
allow_traverse() {
  local dir
  dir="$(realpath -m "$1")"
  while [[ "$dir" != "/" ]]; do
    if [[ -d "$dir" ]] && [[ -n "$(find "$dir" -maxdepth 0 ! -perm -o=x)" ]]; then
      log "chmod o+x $dir (so user $SANDBOX_USER can reach the interpreter)"
      chmod o+x "$dir"
    fi
    dir="$(dirname "$dir")"
  done
}

# 1. An interpreter that can build a virtualenv.
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  apt_install python3 python3-venv python3-pip
fi
PY_VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
log "base interpreter: $("$PYTHON" -c 'import sys; print(sys.executable)') (Python $PY_VERSION)"

venv_works() {
  [[ -x "$VENV/bin/python" ]] &&
    [[ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "$PY_VERSION" ]] &&
    "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

# 2. The virtualenv (rebuilt only when missing, broken, or from another Python version).
if ! venv_works; then
  log "creating $VENV"
  mkdir -p "$AUTOGRADER_ROOT"
  if ! "$PYTHON" -m venv --clear "$VENV"; then
    # Debian/Ubuntu: venv needs ensurepip from python3-venv (python3.X-venv on newer images).
    apt_install python3-venv "python$PY_VERSION-venv" || apt_install python3-venv
    "$PYTHON" -m venv --clear "$VENV"
  fi
  rm -f "$STAMP"
fi

# 3. The pinned requirements (skipped when neither file changed since the last install).
WANT="$(cat "$REQUIREMENTS" "$LOCK" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" ]] || [[ "$(cat "$STAMP")" != "$WANT" ]]; then
  log "pip install -r requirements.txt -c requirements-lock.txt"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off \
    -r "$REQUIREMENTS" -c "$LOCK"
  echo "$WANT" >"$STAMP"
else
  log "requirements already installed"
fi

# 4. The sandbox user: no home, no login shell, no password.
CONFIGURED_USER="$(cd "$SOURCE_DIR" && "$VENV/bin/python" -c 'from grader.paths import SANDBOX_USER; print(SANDBOX_USER)')"
if [[ "$CONFIGURED_USER" != "$SANDBOX_USER" ]]; then
  echo "setup.sh: grader/paths.py SANDBOX_USER is '$CONFIGURED_USER' but setup.sh creates '$SANDBOX_USER'" >&2
  exit 1
fi
if ! id -u "$SANDBOX_USER" >/dev/null 2>&1; then
  log "creating user $SANDBOX_USER"
  useradd --no-create-home --shell /usr/sbin/nologin "$SANDBOX_USER"
fi

# 5. The sandbox user must be able to run the venv's interpreter (but never read source/:
#    run_autograder takes that away before every run), and must never be able to WRITE to the
#    venv: the grader itself imports numpy from it as root, so a writable site-packages would
#    let student code plant code that the grader then runs.
chmod -R o+rX,go-w "$VENV"
allow_traverse "$VENV"
BASE_PREFIX="$("$VENV/bin/python" -c 'import sys; print(sys.base_prefix)')"
allow_traverse "$BASE_PREFIX/bin"
allow_traverse "$(realpath "$VENV/bin/python")"

if ! (cd / && runuser -u "$SANDBOX_USER" -- "$VENV/bin/python" -c 'import numpy, scipy'); then
  echo "setup.sh: user $SANDBOX_USER cannot run $VENV/bin/python with numpy and scipy" >&2
  exit 1
fi
log "done: $VENV ready (Python $PY_VERSION), user $SANDBOX_USER can run it"
