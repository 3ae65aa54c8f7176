# The targets that run Python build the project virtualenv on first use, from requirements*.txt.
#   make test PYTHON=python3.10 VENV=.venv-3.10   runs the suite under another interpreter.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUBMISSION ?= solution/gmm1d.py
RESULTS ?= results/results.json
# make batch: a Gradescope export (folder or zip) or a folder of .py files; the default is a
# small export-shaped demo. JOBS defaults to every core; BATCH_FLAGS passes any other option
# of python -m grader batch (e.g. BATCH_FLAGS="--redo --secret course_secret").
SUBMISSIONS ?= tests/batch_export
OUT ?= out/batch
JOBS ?=
BATCH_FLAGS ?=

.PHONY: venv test test-slow test-images test-sandbox test-unprivileged lint grade batch bench \
	clean autograder handout prairielearn try-prairielearn

venv: $(VENV)/.installed

# The runtime pins of requirements-lock.txt apply here too, so tests grade with what
# Gradescope installs. go+rX: where Landlock is missing, a root grading runs this interpreter
# under an unprivileged uid, which then needs plain read access (inside the clone only).
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-lock.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt \
		-c requirements-lock.txt
	chmod -R go+rX $(VENV)
	touch $@

# make test: everything but the end-to-end tests marked slow (every fixture through the real
# command line, the emulated Gradescope image, PrairieLearn's entrypoint, the notebook in a
# kernel), which make test-slow runs; CI runs both. The bare-image tests (mmdebstrap, chroot,
# minutes) run only in test-images.
# -n auto: one pytest worker per core, each module on one worker (--dist loadfile), so a
# module's fixtures (an emulated Gradescope image, a class regrade) are built once.
test: venv
	$(PY) -m pytest -m "not slow and not images" -n auto --dist loadfile

test-slow: venv
	$(PY) -m pytest -m "slow and not images" -n auto --dist loadfile

test-images: venv
	$(PY) -m pytest -m images -rA tests/test_images.py tests/test_images_prairielearn.py

# The sandbox's attacks and the commands they threaten, as whoever runs this target.
SANDBOX_TESTS = tests/test_sandbox_landlock.py tests/test_sandbox_seccomp.py \
	tests/test_sandbox_isolation.py tests/test_sandbox_cleanup.py tests/test_sandbox_client.py \
	tests/test_sandbox_capability.py tests/test_sandbox_writes.py tests/test_reaper.py \
	tests/test_sandbox_sweep.py tests/test_grade.py tests/test_batch.py tests/test_confinement.py
test-sandbox: venv
	$(PY) -m pytest -rs $(SANDBOX_TESTS)

# As root: the same tests again as a freshly created unprivileged user, on a copy of this
# checkout in that user's home (tests/unprivileged.sh); CI runs it after make test.
test-unprivileged:
	bash tests/unprivileged.sh

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

grade: venv
	$(PY) -m grader "$(SUBMISSION)" --results "$(RESULTS)"

batch: venv
	$(PY) -m grader batch "$(SUBMISSIONS)" --out "$(OUT)" $(if $(JOBS),--jobs $(JOBS)) $(BATCH_FLAGS)

bench: venv
	BASELINE="$(BASELINE)" $(PY) -m bench

# The Gradescope autograder zip (standard library only, so no venv needed); rebuilt every time,
# byte-identical when the sources are unchanged.
autograder:
	$(PYTHON) -m grader.package autograder --out dist/autograder.zip

# The handout's grading table is written from the check registry and its notebook with
# nbformat, which need the venv. It also rewrites HANDOUT.md from HANDOUT.in.md (commit it).
handout: venv
	$(PY) -m grader.package handout --out dist/handout.zip

# The PrairieLearn question (docs/prairielearn.md): dist/prairielearn/, rebuilt every time;
# PL_INPUT=upload takes a file upload (gmm1d.py or gmm1d.ipynb) instead of the editor.
PL_INPUT ?= editor
prairielearn: venv
	$(PY) -m grader.package_prairielearn --out dist/prairielearn --input $(PL_INPUT)

# Grade SUBMISSION as PrairieLearn would, in a /grade-shaped temporary folder; its
# results.json is copied to RESULTS (default here: results/prairielearn.json).
try-prairielearn: RESULTS = results/prairielearn.json
try-prairielearn: prairielearn
	$(PY) prairielearn/try_prairielearn.py "$(SUBMISSION)" --results "$(RESULTS)"

# Not out/: a regrade's grades.csv and results are yours to keep (or delete) by hand.
clean:
	rm -rf $(VENV) dist results .pytest_cache
