#!/usr/bin/env bash
# Runs every test and ends with the line CI reads: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
mkdir -p .test-tmp

# Real PostgreSQL and MariaDB for the dialect tests (installed and started when missing).
if [ -z "${DBSYNC_TEST_POSTGRES_URL:-}" ] || [ -z "${DBSYNC_TEST_MYSQL_URL:-}" ]; then
  if ! urls=$(bash scripts/databases.sh); then
    echo "could not start PostgreSQL and MariaDB for the tests (scripts/databases.sh failed)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  while IFS= read -r line; do export "$line"; done <<<"$urls"
fi
report=.test-tmp/junit.xml
rm -f "$report"

bun test --timeout 60000 --reporter=junit --reporter-outfile="$report" "$@"
status=$?

if [ ! -s "$report" ]; then
  echo "the test run wrote no report (bun test exited with $status)"
  echo "0 passed, 1 failed"
  exit 1
fi
# The first <testsuites …> element carries the totals of the whole run.
totals=$(grep -m1 -o '<testsuites [^>]*>' "$report")
attr() { printf '%s' "$totals" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
tests=$(attr tests); failures=$(attr failures); skipped=$(attr skipped)
tests=${tests:-0}; failures=${failures:-0}; skipped=${skipped:-0}
# A file that cannot even load fails the run without a failed test case: count it.
if [ "$status" -ne 0 ] && [ "$failures" -eq 0 ]; then failures=1; fi

passed=$((tests - failures - skipped))
[ "$passed" -lt 0 ] && passed=0

# The type check and Biome (formatter and linter) count as one more test each: a type error or a
# badly formatted file fails the run like a failed assertion. Skipped, like the benchmark, when
# tests were selected on the command line.
if [ "$#" -eq 0 ]; then
  echo
  echo "type check (tsc --noEmit)"
  if tsc --noEmit; then
    passed=$((passed + 1))
  else
    echo "the type check failed"
    failures=$((failures + 1))
  fi
  echo
  echo "format and lint (biome check; npm run format fixes what it can)"
  if biome check --error-on-warnings .; then
    passed=$((passed + 1))
  else
    echo "biome check failed"
    failures=$((failures + 1))
  fi
fi

# The quick benchmark: its budgets are reported, not asserted; a benchmark that cannot run
# at all counts as one failure. Skipped when tests were selected on the command line.
if [ "$#" -eq 0 ]; then
  echo
  if ! bun scripts/bench.ts --quick; then
    echo "the quick benchmark failed to run"
    failures=$((failures + 1))
  fi
fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failures failed, $skipped skipped"
else
  echo "$passed passed, $failures failed"
fi
[ "$failures" -eq 0 ] && [ "$status" -eq 0 ]
