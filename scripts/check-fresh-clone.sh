#!/usr/bin/env bash
# The README's quick start on a fresh clone with nothing beside it (no reference answers, no cache,
# no node_modules): `npm ci && npm start` must exit 0 and leave a report, and `npm test`
# must pass there (reference-answer tests skip with one line each). Prints the wall times.
#   scripts/check-fresh-clone.sh [--no-test]      clones HEAD of this checkout
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
run_tests=1
[ "${1:-}" = "--no-test" ] && run_tests=0
work="$(mktemp -d "${TMPDIR:-/tmp}/cellbudget-clone-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "check-fresh-clone: FAIL: $*" >&2; exit 1; }

git clone --quiet "$repo" "$work/cellbudget"
cd "$work/cellbudget"
[ ! -e ../shared ] || fail "$work/shared exists; the clone must have nothing beside it"
# What a user's machine has: no CI flag, no cache or golden folder from this environment.
unset CI CELLBUDGET_CACHE CELLBUDGET_GOLDEN

t0=$(date +%s)
npm ci --no-audit --no-fund >"$work/ci.log" 2>&1 || { tail -20 "$work/ci.log" >&2; fail "npm ci failed"; }
t1=$(date +%s)
set +e
npm start >"$work/start.log" 2>&1
code=$?
set -e
t2=$(date +%s)
[ "$code" = 0 ] || { tail -30 "$work/start.log" >&2; fail "npm start exited $code"; }
for f in report.json report.md junit.xml report.html; do
  [ -s "reports/latest/$f" ] || fail "npm start left no reports/latest/$f"
done
node -e '
  const r = JSON.parse(require("fs").readFileSync("reports/latest/report.json", "utf8"));
  const ok = r.runs.filter((x) => x.status === "ok").length;
  if (r.runs.length === 0 || ok !== r.runs.length) throw new Error(`${r.runs.length} runs, ${ok} ok`);
  console.log(`check-fresh-clone: npm start measured ${r.runs.length} runs of ${r.scenarios.length} scenarios, all ok`);
' || fail "the report of npm start is not what it should be"
echo "check-fresh-clone: npm ci $((t1 - t0)) s, npm start $((t2 - t1)) s (npm ci && npm start: $((t2 - t0)) s)"

if [ "$run_tests" = 1 ]; then
  set +e
  npm test >"$work/test.log" 2>&1
  code=$?
  set -e
  t3=$(date +%s)
  grep -E "Test Files|Tests " "$work/test.log" | sed 's/\x1b\[[0-9;]*m//g' | sed 's/^/check-fresh-clone: npm test: /'
  [ "$code" = 0 ] || { grep -E "FAIL|×" "$work/test.log" | head -20 >&2; fail "npm test exited $code on the fresh clone"; }
  echo "check-fresh-clone: npm test $((t3 - t2)) s"
fi
echo "check-fresh-clone: ok"
