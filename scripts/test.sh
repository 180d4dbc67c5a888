#!/usr/bin/env bash
# Installs what the tests need (a virtualenv with the project and its test extras) and runs
# lint, type checks and the whole test suite on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check src tests bench scripts
.venv/bin/ruff format --check src tests bench scripts
.venv/bin/mypy
# Three workers, one test file each at a time: the interop tests mostly wait on real
# calls (each module has its own network namespace), so they overlap well on 2 cores.
.venv/bin/python -m pytest -q -n "${HELPLINE_TEST_WORKERS:-3}" --dist loadfile "$@"
