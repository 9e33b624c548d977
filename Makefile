# `make demo` runs the main job, `make study-unseen` (-alpha, -fewshot, -capacity) the studies on it, `make test` the tests; all install first (idempotent).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install system-deps slurm-deps test demo study-unseen study-alpha study-fewshot study-capacity bench clean constraints

install: system-deps $(STAMP)

# setup.py states the ranges the code supports; constraints.txt the exact set that is tested.
$(STAMP): setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,analysis,hf,slurm]'
	touch $(STAMP)

# After changing setup.py's requirements: `make install constraints`, then run the tests.
constraints:
	{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^setuptools=='; } > constraints.new
	mv constraints.new constraints.txt

# espeak-ng synthesizes the test and demo speech and backs phonemizer.
system-deps:
	@if ! command -v espeak-ng >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng; \
	  else \
	    echo "espeak-ng is missing: install it (Debian/Ubuntu: sudo apt-get install espeak-ng)" >&2; exit 1; \
	  fi; \
	fi

# A one-machine Slurm (slurm-wlm, munge) for tests/test_slurm.py, which start and stop it:
# installed where we are root (CI), else those tests skip, saying why.
slurm-deps:
	@if command -v slurmctld >/dev/null && command -v munged >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then scripts/slurm/local_cluster.sh install; \
	else echo "Slurm is not installed and installing it needs root: tests/test_slurm.py will skip" >&2; fi

# ruff first: a finding fails in seconds, before the minutes of pytest (rules in ruff.toml).
test: install slurm-deps
	$(PY) -m ruff check .
	$(PY) -m pytest tests -q

demo: install
	$(PY) -m examples.xlsr10_mini $(DEMO_ARGS)

clean:
	rm -rf $(VENV) runs

# The studies (examples/xlsr10_mini/studies): options in STUDY_ARGS, e.g. STUDY_ARGS="--seeds 1".
study-unseen study-alpha study-fewshot study-capacity: install
	$(PY) -m examples.xlsr10_mini.studies.$(@:study-%=%) $(STUDY_ARGS)
