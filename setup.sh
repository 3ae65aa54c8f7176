#!/usr/bin/env bash
# Gradescope runs this once, as root, in $AUTOGRADER_ROOT/source (the unpacked autograder zip),
# when it builds the autograder image. Idempotent: a second run only re-checks (seconds).
#
#   AUTOGRADER_ROOT  where Gradescope's tree lives (default /autograder); set it to try the
#                    whole flow in a temporary directory on any machine
#                    (docs/instructors.md, "Try the zip locally").
#   PYTHON           the interpreter the virtualenv is built from (default: DEFAULT_PYTHON
#                    below, python3). On an image with a supported Python under another name,
#                    name it there (DEFAULT_PYTHON="python3.10"); either way it is used as given.
#
# What it does, and why:
# * Checks the interpreter first: Python 3.10 to 3.12 are supported (numpy, scipy and the pins
#   in requirements-lock.txt need 3.10+). An older default python3 is replaced by the newest
#   python3.12/3.11/3.10 already installed or offered by apt; with none, it stops at once,
#   naming the Python it found and the fix (Gradescope's Ubuntu 22.04 base image or newer).
#   A newer Python is used with a warning (untested). See docs/base-images.md.
# * apt-get only when the interpreter or its venv module is missing (Ubuntu ships venv as a
#   separate package). Nothing else is installed system-wide.
# * A virtualenv at $AUTOGRADER_ROOT/venv with requirements.txt. Never pip into the system
#   python3: Gradescope's own harness runs on it, and Ubuntu 23.04+ refuse it (PEP 668).
#   The venv lives OUTSIDE source/ on purpose: run_autograder makes source/ (grader, solution)
#   unreadable to the sandbox user, yet the sandboxed worker runs on this venv's interpreter,
#   so the venv (and the path to it and to its base interpreter) must stay readable by it.
# * An unprivileged user (grader/paths.py SANDBOX_USER) standing for "any other user" in the
#   tests that check what such a user can read; the worker itself runs under a throwaway uid
#   per grading (grader/sandbox/isolation.py).
# * Proves it worked: `python -m grader.sandbox` grades the reference's E-step in a confined
#   worker and prints the layers in force (Landlock, seccomp, uid). Only if that fails for
#   want of permissions does it add o+x (traverse only) on the way to the interpreter.
# * Records the outcome in $AUTOGRADER_ROOT/setup-status: "complete", or "failed" and why (or
#   "running" if it was killed). run_autograder grades only after a complete setup; otherwise
#   it tells the student the autograder is set up wrong on our side and logs this cause.
set -Eeuo pipefail  # -E: the ERR trap below also fires inside functions

AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
DEFAULT_PYTHON="python3"  # edit to build on another interpreter of the image (docs/base-images.md)
# A named interpreter (PYTHON, or an edited DEFAULT_PYTHON) is used as given: checked, never
# replaced by a search or by apt (apt may still add the venv module it lacks).
PYTHON_GIVEN="${PYTHON:+yes}"
if [[ "$DEFAULT_PYTHON" != "python3" ]]; then
  PYTHON_GIVEN="yes"
fi
PYTHON="${PYTHON:-$DEFAULT_PYTHON}"
SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$AUTOGRADER_ROOT/venv"
REQUIREMENTS="$SOURCE_DIR/requirements.txt"
LOCK="$SOURCE_DIR/requirements-lock.txt"  # exact versions (constraints) for a repeatable image
STAMP="$VENV/.requirements.sha256"
SANDBOX_USER="student"  # must equal grader/paths.py SANDBOX_USER (checked below)
STATUS_FILE="$AUTOGRADER_ROOT/setup-status"  # read by run_autograder before every grading
MIN_MINOR=10  # supported: Python 3.10 ...
MAX_MINOR=12  # ... to 3.12 (requirements.txt, requirements-lock.txt)
SUPPORTED="Python 3.$MIN_MINOR-3.$MAX_MINOR"
FIX=(  # what to do about an interpreter we cannot use, one log line each
  "Fix: in the assignment's autograder settings choose the base image \"Ubuntu 22.04\""
  "     (Python 3.10, Gradescope's default) or a newer Ubuntu image, then rebuild;"
  "     or set DEFAULT_PYTHON= (near the top of setup.sh) to a $SUPPORTED interpreter on the image."
)
SHORT_FIX="fix: the Ubuntu 22.04 base image or newer, or set PYTHON= to a $SUPPORTED interpreter"

log() { echo "setup.sh: $*"; }

# --- the outcome, for run_autograder --------------------------------------------------------
# "running" now; on exit "complete", or "failed" and a one-line cause: fail's message, or else
# the command that failed and the step it was in. A killed run leaves "running".
STEP="starting"
FAILURE=""  # set by fail (already printed) or on_error (printed on exit)
EXPLAINED=""
write_status() {
  { mkdir -p "$AUTOGRADER_ROOT" && printf '%s\n' "$@" >"$STATUS_FILE.tmp" &&
    mv -f "$STATUS_FILE.tmp" "$STATUS_FILE"; } 2>/dev/null ||
    echo "setup.sh: WARNING: could not write $STATUS_FILE" >&2
}
on_error() {
  [[ -n "$FAILURE" ]] || FAILURE="'$BASH_COMMAND' exited with status $1 while $STEP"
}
on_exit() {
  local status=$?
  if ((status == 0)); then
    write_status complete "setup.sh finished $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  else
    [[ -n "$FAILURE" ]] || FAILURE="exit status $status while $STEP"
    write_status failed "setup.sh stopped: $FAILURE"
    [[ -n "$EXPLAINED" ]] || echo "setup.sh: ERROR: $FAILURE" >&2
  fi
}
trap 'on_error $?' ERR
trap on_exit EXIT
write_status running "setup.sh started $(date -u '+%Y-%m-%d %H:%M:%S UTC') and has not finished"

# Stop with a message: $1 is the cause (also recorded for run_autograder), the rest more lines.
fail() {
  FAILURE="$1"
  EXPLAINED=yes
  echo "setup.sh: ERROR: $1" >&2
  shift
  local line
  for line in "$@"; do echo "setup.sh:   $line" >&2; done
  exit 1
}

# --- apt ----------------------------------------------------------------------------------
APT_UPDATED=""
apt_update() {
  if [[ -z "$APT_UPDATED" ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=yes
  fi
}

apt_install() {
  apt_update
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# True when apt can install package $1 (it has a candidate version; virtual packages have none).
apt_offers() {
  LC_ALL=C apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [^(]'
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

# --- 1. An interpreter of a supported version, checked before anything else ------------------
STEP="checking the Python interpreter"

# "MAJOR.MINOR EXECUTABLE" of interpreter $1 (nothing when it does not run); Python 2 can say it.
python_info() {
  local code='import sys; print("%d.%d %s" % (sys.version_info[:2] + (sys.executable,)))'
  "$1" -c "$code" 2>/dev/null || true
}

# Sets NEWER to the newest python3.X in the supported range that is on PATH and runs, else "".
find_installed_python() {
  NEWER=""
  local minor
  for ((minor = MAX_MINOR; minor >= MIN_MINOR; minor--)); do
    if command -v "python3.$minor" >/dev/null 2>&1 &&
      [[ "$(python_info "python3.$minor")" == "3.$minor "* ]]; then
      NEWER="$(command -v "python3.$minor")"
      return 0
    fi
  done
}

# Sets APT_PYTHON to the newest python3.X in the supported range that apt offers together with
# its python3.X-venv, else "". Never installs anything; an apt that cannot update offers nothing.
find_apt_python() {
  APT_PYTHON=""
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v apt-cache >/dev/null 2>&1; then
    log "no apt-get here to look for python3.$MIN_MINOR-3.$MAX_MINOR with"
    return 0
  fi
  if [[ -z "$APT_UPDATED" ]]; then
    log "apt-get update (looking for python3.$MAX_MINOR ... python3.$MIN_MINOR)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq; then
      log "apt-get update failed: cannot ask apt for a newer Python"
      return 0
    fi
    APT_UPDATED=yes
  fi
  local minor
  for ((minor = MAX_MINOR; minor >= MIN_MINOR; minor--)); do
    if apt_offers "python3.$minor" && apt_offers "python3.$minor-venv"; then
      APT_PYTHON="python3.$minor"
      return 0
    fi
  done
  log "apt offers none of python3.$MAX_MINOR ... python3.$MIN_MINOR on this image"
}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  if [[ -n "$PYTHON_GIVEN" ]]; then
    fail "PYTHON=$PYTHON: no such interpreter on this image ($SHORT_FIX)" "${FIX[@]}"
  fi
  STEP="installing python3 with apt-get"
  apt_install python3 python3-venv
  STEP="checking the Python interpreter"
fi
read -r PY_VERSION PY_EXECUTABLE <<<"$(python_info "$PYTHON")" || true
if [[ ! "${PY_VERSION:-}" =~ ^([0-9]+)\.([0-9]+)$ ]]; then
  fail "$PYTHON does not run as a Python interpreter ($SHORT_FIX)" "${FIX[@]}"
fi
PY_MAJOR="${BASH_REMATCH[1]}" PY_MINOR="${BASH_REMATCH[2]}"
FOUND="Python $PY_VERSION ($PY_EXECUTABLE)"
if ((PY_MAJOR < 3 || (PY_MAJOR == 3 && PY_MINOR < MIN_MINOR))); then
  NEWER=""
  if [[ -z "$PYTHON_GIVEN" ]]; then
    find_installed_python
    if [[ -n "$NEWER" ]]; then
      log "$FOUND is below 3.$MIN_MINOR; using $NEWER, already installed, instead"
    else
      find_apt_python
      if [[ -n "$APT_PYTHON" ]]; then
        log "$FOUND is below 3.$MIN_MINOR; installing $APT_PYTHON from apt and using it instead"
        STEP="installing $APT_PYTHON with apt-get"
        apt_install "$APT_PYTHON" "$APT_PYTHON-venv"
        STEP="checking the Python interpreter"
        NEWER="$(command -v "$APT_PYTHON")"
      fi
    fi
  fi
  if [[ -z "$NEWER" ]]; then
    fail "$FOUND is below 3.$MIN_MINOR; this autograder supports $SUPPORTED ($SHORT_FIX)" \
      "The numpy and scipy it grades with do not install on older Pythons." \
      "${FIX[@]}" "     See docs/base-images.md in the project."
  fi
  PYTHON="$NEWER"
  read -r PY_VERSION PY_EXECUTABLE <<<"$(python_info "$PYTHON")" || true
  [[ "$PY_VERSION" =~ ^3\.[0-9]+$ ]] || fail "$PYTHON does not run as a Python interpreter"
elif ((PY_MAJOR > 3 || PY_MINOR > MAX_MINOR)); then
  log "WARNING: $FOUND is newer than 3.$MAX_MINOR, the newest this autograder is tested on;"
  log "WARNING: going on, but grading on it is untested (see docs/base-images.md)"
fi
log "base interpreter: $PY_EXECUTABLE (Python $PY_VERSION)"

venv_works() {
  [[ -x "$VENV/bin/python" ]] &&
    [[ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "$PY_VERSION" ]] &&
    "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

# 2. The virtualenv (rebuilt only when missing, broken, or from another Python version).
STEP="creating the virtualenv $VENV"
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
STEP="installing the requirements"
WANT="$(cat "$REQUIREMENTS" "$LOCK" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" ]] || [[ "$(cat "$STAMP")" != "$WANT" ]]; then
  log "pip install -r requirements.txt -c requirements-lock.txt"
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off \
    -r "$REQUIREMENTS" -c "$LOCK"; then
    fail "pip could not install requirements.txt (with requirements-lock.txt), Python $PY_VERSION" \
      "pip's own message is above."
  fi
  echo "$WANT" >"$STAMP"
else
  log "requirements already installed"
fi

# 4. The sandbox user: no home, no login shell, no password.
STEP="creating the sandbox user"
CONFIGURED_USER="$(cd "$SOURCE_DIR" && "$VENV/bin/python" -c 'from grader.paths import SANDBOX_USER; print(SANDBOX_USER)')"
if [[ "$CONFIGURED_USER" != "$SANDBOX_USER" ]]; then
  fail "grader/paths.py SANDBOX_USER is '$CONFIGURED_USER' but setup.sh creates '$SANDBOX_USER'"
fi
if ! id -u "$SANDBOX_USER" >/dev/null 2>&1; then
  log "creating user $SANDBOX_USER"
  useradd --no-create-home --shell /usr/sbin/nologin "$SANDBOX_USER"
fi

# 5. The sandbox must work: a confined worker, under a throwaway uid, runs the reference's
#    E-step on this venv (python -m grader.sandbox). Others must never be able to WRITE to the
#    venv: the grader itself imports numpy from it as root, so a writable site-packages would
#    let student code plant code that the grader then runs.
STEP="checking that the sandbox can run student code"
chmod -R o+rX,go-w "$VENV"
sandbox_check() { (cd "$SOURCE_DIR" && "$VENV/bin/python" -m grader.sandbox); }
if ! sandbox_check; then
  # Without Landlock to bound a read capability, the worker's uid needs plain permissions to
  # reach the interpreter (e.g. pyenv under a mode-700 /root): give traverse-only access.
  allow_traverse "$VENV"
  BASE_PREFIX="$("$VENV/bin/python" -c 'import sys; print(sys.base_prefix)')"
  allow_traverse "$BASE_PREFIX/bin"
  allow_traverse "$(realpath "$VENV/bin/python")"
  sandbox_check || fail "the sandbox cannot run student code with $VENV/bin/python (see above)"
fi
log "done: $VENV ready (Python $PY_VERSION), and the sandbox runs student code confined"
