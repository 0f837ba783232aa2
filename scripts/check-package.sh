#!/usr/bin/env bash
# Pack cellbudget as npm would publish it, install the tarball into a fresh project with
# nothing else beside it, and use it there as a user would: `npx cellbudget`, every entry
# point (cellbudget, cellbudget/h5ad, cellbudget/harness, cellbudget/vitest), a shipped scenario,
# and a vitest file with expectMemory (one assertion that holds, one that must fail). Exits non-zero on the first thing that does not work.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/cellbudget-pack-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "check-package: FAIL: $*" >&2; exit 1; }
start=$(date +%s)

cd "$repo"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$tarball" ] || fail "npm pack wrote no tarball"
listing="$(tar -tzf "$tarball")"
for want in package/bin/cellbudget.js package/dist/cli/main.js package/dist/src/cli/main.js package/dist/src/index.js package/dist/src/index.d.ts \
            package/dist/src/vitest/index.js package/dist/harness/process/jobs/strategy.js package/scenarios/default.yaml \
            package/fixtures/datasets/tiny.h5ad; do
  grep -qx "$want" <<<"$listing" || fail "the tarball lacks $want"
done
if grep -E '^package/(test|bench|\.ci|scripts|dist/test|dist/bench)/' <<<"$listing" >/dev/null; then
  fail "the tarball ships what users do not need: $(grep -E '^package/(test|bench|\.ci|scripts|dist/test|dist/bench)/' <<<"$listing" | head -3 | tr '\n' ' ')"
fi
echo "check-package: $(basename "$tarball"): $(wc -l <<<"$listing") files, $(du -k "$tarball" | cut -f1) kB"

vitest_version="$(node -p 'require("./node_modules/vitest/package.json").version')"
proj="$work/project"
mkdir -p "$proj"
cd "$proj"
cat > package.json <<'JSON'
{ "name": "uses-cellbudget", "version": "1.0.0", "private": true, "type": "module" }
JSON
npm install --silent --no-audit --no-fund --prefer-offline "$tarball" "vitest@$vitest_version" >/dev/null

help="$(npx --no-install cellbudget --help)" || fail "npx cellbudget --help exited non-zero"
grep -q "Usage: cellbudget" <<<"$help" || fail "npx cellbudget --help printed no usage"

node --input-type=module -e '
  const lib = await import("cellbudget");
  for (const name of ["openH5ad", "parsePipelineConfig", "prepareData", "assignSplits", "splitGrouped"]) {
    if (typeof lib[name] !== "function") throw new Error(`cellbudget does not export ${name}`);
  }
  const v = await import("cellbudget/vitest");
  if (typeof v.expectMemory !== "function") throw new Error("cellbudget/vitest does not export expectMemory");
  const h = await import("cellbudget/h5ad");
  const harness = await import("cellbudget/harness");
  if (typeof harness.runScenarios !== "function" || typeof harness.renderHtml !== "function") throw new Error("cellbudget/harness does not export runScenarios and renderHtml");
  // HDF5 loads on first use: a shipped file opens once h5Ready() resolved.
  await h.h5Ready();
  // The binary the build extracted from h5wasm ships in the package and is what loads.
  if (h.h5wasmBinary() !== "extracted") throw new Error(`h5wasm loaded its ${h.h5wasmBinary()} binary, not the one the package ships`);
  const src = h.openH5ad(new URL("./node_modules/cellbudget/fixtures/datasets/tiny.h5ad", `file://${process.cwd()}/`).pathname);
  if (!(src.nObs > 0)) throw new Error("cellbudget/h5ad read no cells from a shipped fixture");
  src.close();
' || fail "an entry point does not import"

# A shipped scenario with its shipped files, from the installed package.
set +e
npx --no-install cellbudget run golden --strategy streaming --out "$proj/report" --no-charts >"$work/run.out" 2>&1
code=$?
set -e
[ "$code" = 0 ] || { cat "$work/run.out" >&2; fail "cellbudget run golden exited $code"; }
[ -s "$proj/report/report.json" ] || fail "cellbudget run golden wrote no report.json"

# split --digest on two threads from the installed package (its helper thread's module is
# found beside the CLI's), with the digests one thread gives.
fx="$proj/node_modules/cellbudget/fixtures/datasets"
one="$(npx --no-install cellbudget split "$fx/tiny.h5ad" --config "$fx/tiny.config.json" --digest --threads 1 | grep sha256)" || fail "split --digest --threads 1 failed"
two="$(npx --no-install cellbudget split "$fx/tiny.h5ad" --config "$fx/tiny.config.json" --digest --threads 2)" || fail "split --digest --threads 2 failed"
grep -q "on two threads" <<<"$two" || fail "split --digest --threads 2 did not use two threads: $two"
[ "$one" = "$(grep sha256 <<<"$two")" ] || fail "split --digest gave other digests on two threads"

mkdir -p test
cat > test/memory.test.ts <<'TS'
import { test } from 'vitest';
import { expectMemory } from 'cellbudget/vitest';

test('holds: a 1 MB allocation peaks below 64 MB', async () => {
  await expectMemory(() => new Float64Array(131_072).fill(1).length).toPeakBelow('64 MB');
});

test('must fail: a 96 MB allocation does not peak below 8 MB', async () => {
  await expectMemory(() => new Float64Array(12_000_000).fill(1).length).toPeakBelow('8 MB');
});
TS
set +e
npx --no-install vitest run --reporter=json --outputFile="$work/vitest.json" >"$work/vitest.out" 2>&1
code=$?
set -e
[ -s "$work/vitest.json" ] || { cat "$work/vitest.out" >&2; fail "vitest wrote no results"; }
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const tests = r.testResults.flatMap((f) => f.assertionResults);
  const status = Object.fromEntries(tests.map((t) => [t.title.split(":")[0], t.status]));
  const failure = tests.find((t) => t.status === "failed")?.failureMessages?.join("\n") ?? "";
  if (status.holds !== "passed") throw new Error(`the assertion that holds did not pass: ${JSON.stringify(status)}`);
  if (status["must fail"] !== "failed") throw new Error(`the assertion that must fail did not fail: ${JSON.stringify(status)}`);
  if (!/peak/i.test(failure)) throw new Error(`the failure does not say what peaked: ${failure.slice(0, 300)}`);
  console.log(`check-package: vitest in the installed project: 1 passed, 1 failed as it must (${failure.split("\n")[0].slice(0, 120)})`);
' "$work/vitest.json" || { cat "$work/vitest.out" >&2; fail "expectMemory did not behave in the installed project"; }
[ "$code" = 1 ] || fail "vitest exited $code, expected 1 (one test fails on purpose)"

echo "check-package: ok in $(( $(date +%s) - start )) s"
