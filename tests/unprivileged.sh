#!/usr/bin/env bash
# make test-unprivileged (as root): run the sandbox's attack tests again as a normal account,
# where only the kernel's layers (Landlock, seccomp) separate student code from the grader.
#
# Creates the user gmm1d-unprivileged (home under /home) if missing, copies this checkout's
# files (tracked and new, as git lists them; no .venv, no .git) into its home, and there runs
# `make test-sandbox` as that user with a virtualenv built from a system interpreter it can
# run. Nothing outside the copy and that home changes. Without such an interpreter (3.10 to
# 3.12 at /usr/bin) it says so and stops, as a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

USER_NAME=gmm1d-unprivileged
if [[ $(id -u) -ne 0 ]]; then
  echo "test-unprivileged: SKIPPED: needs root (to create the user and run as it)"
  exit 0
fi
python=""
for minor in 12 11 10; do
  if [[ -x /usr/bin/python3.$minor ]] && /usr/bin/python3.$minor -c 'import venv, ensurepip'; then
    python=/usr/bin/python3.$minor
    break
  fi
done 2>/dev/null
if [[ -z "$python" ]]; then
  echo "test-unprivileged: SKIPPED: no system Python 3.10-3.12 (with venv) another user can run"
  exit 0
fi

id -u "$USER_NAME" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$USER_NAME"
home="$(getent passwd "$USER_NAME" | cut -d: -f6)"
# The copy holds the solution: other users (a disk-searching fixture's worker) must not read it.
chmod 700 "$home"
copy="$home/checkout"
# Keep the copy's venv between runs: rebuilt only when the requirements change (make's rule).
find "$copy" -mindepth 1 -maxdepth 1 ! -name '.venv-unprivileged' -exec rm -rf --one-file-system {} + \
  2>/dev/null || true
mkdir -p "$copy"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$copy"
chown -R "$USER_NAME:" "$copy"

echo "== make test-sandbox as $USER_NAME (uid $(id -u "$USER_NAME")), $("$python" --version) =="
# pip's settings (a local mirror, the proxy's CA) come from the environment and /etc.
mapfile -t settings < <(env | grep -E '^(PIP_[A-Z_]+|REQUESTS_CA_BUNDLE|SSL_CERT_FILE)=' || true)
exec runuser -u "$USER_NAME" -- env -i HOME="$home" PATH=/usr/local/bin:/usr/bin:/bin \
  LANG=C.UTF-8 "${settings[@]}" \
  make -C "$copy" test-sandbox PYTHON="$python" VENV=.venv-unprivileged
