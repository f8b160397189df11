# Every install step lives here: a fresh machine needs only Python 3.11 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench bench-1m lint sample-data readme clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,dask,remote,tsne]'
	touch $(STAMP)

install: $(STAMP)

# Audit the bundled sample dataset and write audit-report/report.html (+ findings.json).
demo: install
	$(BIN)/audit run sample_data/images.csv --label-col label --out audit-report --no-cache

test: install
	$(BIN)/python -m pytest -q

# Real-data benchmarks (CIFAR-10 from ../shared/datasets, extracted under bench/.data), the 1M-hash search, and
# cleanvision and imagededup side by side (bench/peers.py, in their own venv under bench/.data; PEERS=0 skips them).
bench: install
	$(BIN)/python bench/run_bench.py

# One million synthetic JPEGs made from CIFAR-10 (once, ~4 GB under bench/.data/synth1m), audited at 10k, 60k and
# 1M images; writes the growth table to bench/SCALE.md. The three audits took 17 minutes on 2 cores (bench/SCALE.md).
bench-1m: install
	$(BIN)/python bench/bench_1m.py

lint: install
	$(BIN)/ruff check dataset_audit tests bench sample_data

# Regenerate sample_data/ from its script (the committed files are what `make demo` audits).
sample-data: install
	$(BIN)/python sample_data/make_sample_data.py

clean:
	rm -rf $(VENV) audit-report .pytest_cache

# Rewrite README.md's generated blocks (metric list, settings reference) from the code (tests/test_docs.py checks them).
readme: install
	$(BIN)/python -m dataset_audit.docs README.md
