# `make demo` runs the main job, `make study-unseen` (-alpha, -fewshot) the studies on it, `make test` the tests; all install first (idempotent).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install system-deps slurm-deps test demo study-unseen study-alpha study-fewshot bench clean

install: system-deps $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,analysis,hf,slurm]'
	touch $(STAMP)

# espeak-ng synthesizes the test and demo speech and backs phonemizer.
system-deps:
	@if ! command -v espeak-ng >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng; \
	  else \
	    echo "espeak-ng is missing: install it (Debian/Ubuntu: sudo apt-get install espeak-ng)" >&2; exit 1; \
	  fi; \
	fi

# A one-machine Slurm (slurm-wlm, munge) for tests/test_slurm.py, which start and stop it; CI
# installs it, elsewhere those tests skip saying why.
slurm-deps:
	scripts/slurm/local_cluster.sh install

# ruff first: a finding fails in seconds, before the minutes of pytest (rules in ruff.toml).
test: install
	$(PY) -m ruff check .
	$(PY) -m pytest tests -q

demo: install
	$(PY) -m examples.xlsr10_mini $(DEMO_ARGS)

clean:
	rm -rf $(VENV) runs

# The studies (examples/xlsr10_mini/studies): options in STUDY_ARGS, e.g. STUDY_ARGS="--seeds 1".
study-unseen study-alpha study-fewshot: install
	$(PY) -m examples.xlsr10_mini.studies.$(@:study-%=%) $(STUDY_ARGS)
