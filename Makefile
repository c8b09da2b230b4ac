# csc-warehouse: everything a newcomer needs is `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup spark-env demo test test-fast test-dbt lint lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==26.*"
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# The Spark target's environment (tests/test_spark.py, docs/scaling.md): dbt-spark with pyspark in a
# venv of its own, since Great Expectations imports pyspark wherever it is installed.
SPARK_VENV  := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed

spark-env: $(SPARK_STAMP)

$(SPARK_STAMP): requirements-spark.lock
	$(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/pip install --quiet --upgrade "pip==26.*"
	$(SPARK_VENV)/bin/pip install --quiet -r requirements-spark.lock
	touch $(SPARK_STAMP)

# Demo: generate Dec 2022..Dec 2023 at Bradford scale and run every month through the pipeline.
demo: setup
	$(BIN)/csc-warehouse generate --out demo/extracts --first 2022-12 --last 2023-12 --seed 42
	$(BIN)/csc-warehouse run --extracts demo/extracts --home demo/warehouse --all

# Lint (ruff, sqlfluff) then every test. CI runs exactly this (.ci/run).
test: lint spark-env
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=25 tests

# The fast set while developing: everything but the end-to-end pipeline runs (@pytest.mark.e2e) and
# the dbt builds of the project (@pytest.mark.dbt), which test-dbt runs after a change to the models.
test-fast: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not e2e and not dbt" tests

test-dbt: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "dbt and not e2e" tests

# sqlfluff runs one process per core (105 s -> 49 s on 2 cores); at exit Python reports the
# process pool's semaphores as leaked, a harmless warning that is silenced.
lint: setup
	$(BIN)/ruff check dagster_project tests
	cd dbt && PYTHONWARNINGS="ignore:resource_tracker:UserWarning" ../$(BIN)/sqlfluff lint models macros tests \
		--disable-progress-bar --processes 0

lock:
	rm -rf /tmp/csc-lock && $(PYTHON) -m venv /tmp/csc-lock
	/tmp/csc-lock/bin/pip install --quiet --upgrade "pip==26.*"
	/tmp/csc-lock/bin/pip install --quiet -e ".[dev]"
	/tmp/csc-lock/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf /tmp/csc-lock-spark && $(PYTHON) -m venv /tmp/csc-lock-spark
	/tmp/csc-lock-spark/bin/pip install --quiet --upgrade "pip==26.*"
	/tmp/csc-lock-spark/bin/pip install --quiet -c requirements.lock "dbt-spark[session]==1.11.0"
	{ head -2 requirements-spark.lock; /tmp/csc-lock-spark/bin/pip freeze; } > requirements-spark.lock.new
	mv requirements-spark.lock.new requirements-spark.lock

clean:
	rm -rf $(VENV) $(SPARK_VENV) demo dbt/target dbt/logs

# Benchmark (bench/run_bench.py): the imports alone; one month at scales 0.01 (fixed-cost probe, after a first month),
# 1, 10 and 70 (~England) through the pipeline against the floor; then run --all over 13 months at scale 1; checks
# issue 17's targets and writes bench/results.{md,json}. Took 15 minutes on this 2-core machine (2026-12-05) and
# needs ~20 GB free disk under bench/work/.
.PHONY: bench
bench: setup
	$(BIN)/python bench/run_bench.py

# Regional benchmark (bench/region_bench.py): 20 councils (the six hand-written, then sampled-1..14) x 3 months at
# scale 1 in a region's layout through run --all-councils, one council at a time and two at a time; fits a month's
# time to its rows and to each council's place in the run (linear in councils); writes bench/region_results.{md,json}.
# Took 42 minutes on this 2-core machine (2026-12-06); needs about 17 GB free under bench/work/region/ (the six-council
# run needed 5 GB; scaled by rows).
.PHONY: bench-region
bench-region: setup
	$(BIN)/python bench/region_bench.py

# DuckDB against Spark local (bench/spark_bench.py): three councils' raw layers built by the same dbt build on each
# engine, figures compared; writes bench/spark_results.{md,json}. Needs Java 17+ on the PATH
# (apt-get install -y openjdk-17-jre-headless; tests/test_spark.py installs it when it runs as root).
.PHONY: bench-spark
bench-spark: setup spark-env
	$(BIN)/python bench/spark_bench.py

# Quality-gate evaluation (bench/gate_eval.py): for every council and every fault, run 6 clean months then the
# 7th with the fault injected, through the real command line; checks (a) no clean month blocked and (b) >= 95 %
# of fault x council pairs rejected or held with the published files unchanged; writes bench/gate_results.{md,json}
# and fails if a target is missed. Took 25-37 minutes on this 2-core machine (2026-12-07: 6 councils x 7 months,
# 16 faults; bench/gate_results.md; the catalogue has 17 since); needs a few GB free under bench/gate_work/.
.PHONY: gate-eval
gate-eval: setup
	$(BIN)/python bench/gate_eval.py
