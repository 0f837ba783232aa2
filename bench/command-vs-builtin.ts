/**
 * One scaled scenario measured two ways, side by side (do they agree?): the built-in
 * strategy in the measuring child (in-process StepRecorder), and the same strategy run as
 * a plain command measured from outside by runCommandScenario.
 *
 *   node --expose-gc dist/bench/command-vs-builtin.js [SCENARIO=original-fix] [STRATEGY=selective]
 *
 * Prints figures; asserts nothing.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesize, synthOptionsOf } from '../src/h5ad/synth.js';
import { parseStrategyName } from '../src/core/names.js';
import { formatBytes } from '../src/core/units.js';
import { runCommandScenario } from '../harness/command/command.js';
import { scaleSynthetic } from '../src/scenario/synthetic.js';
import { loadScenarios, type BuiltinScenario } from '../harness/run/scenarios.js';
import { runChild } from '../harness/process/spawn.js';

const here = dirname(fileURLToPath(import.meta.url));
const scenarioArg = process.argv[2] ?? 'original-fix';
const strategy = parseStrategyName(process.argv[3] ?? 'selective', 'strategy');
const scenario = loadScenarios(scenarioArg)[0] as BuiltinScenario;
const cache = join(tmpdir(), 'cellbudget-command-vs-builtin');
mkdirSync(cache, { recursive: true });

const datasets: Array<{ name: string; file: string }> = [];
for (const d of scenario.datasets) {
  if (d.file) {
    datasets.push({ name: d.name, file: d.file });
    continue;
  }
  if (!d.synthetic) throw new Error(`dataset ${d.name} has neither file nor synthetic`);
  const s = scaleSynthetic(d.synthetic, scenario.scale, d.name, scenario.pipeline.split);
  const file = join(cache, `${scenario.name}-${scenario.scale}-${d.name}.h5ad`);
  if (!existsSync(file)) {
    process.stderr.write(`synthesizing ${d.name}: ${s.cells} cells × ${s.features}\n`);
    await synthesize(synthOptionsOf(s, scenario.pipeline.data_location.join('/')), file);
  }
  datasets.push({ name: d.name, file });
}
const pipeline = scenario.pipeline;

const builtin = await runChild({
  job: {
    module: join(here, '..', 'harness', 'process', 'jobs', 'strategy.js'),
    payload: { scenario: scenario.name, strategy, datasets, pipeline, repeat: 1 },
  },
  env: scenario.env,
});
const jobFile = join(cache, `${scenario.name}-${strategy}.job.json`);
writeFileSync(jobFile, JSON.stringify({ strategy, datasets, pipeline }));
const command = await runCommandScenario({
  name: scenario.name,
  command: [process.execPath, '--expose-gc', join(here, 'strategy-command.js'), jobFile],
  env: scenario.env,
  scale: scenario.scale,
});

const full = (b: number): string => formatBytes(b / scenario.scale);
process.stdout.write(
  `${scenario.name} × ${strategy} at scale ${scenario.scale}: built-in ${builtin.status} (${builtin.method}), command ${command.status} (${command.method})\n`,
);
process.stdout.write(
  `baseline: built-in ${formatBytes(builtin.baseline?.rss_bytes ?? 0)} (idle child after GC), command ${formatBytes(command.baseline_bytes)} (${command.command.baseline_source})\n\n`,
);
process.stdout.write(
  '| step | built-in peak | command peak | built-in end | command end | peak, full scale (built-in / command) |\n|---|---:|---:|---:|---:|---:|\n',
);
const cmdSteps = command.steps.filter((s) => s.label !== 'startup' && s.closed_by === 'marker');
builtin.steps.forEach((b, i) => {
  const c = cmdSteps[i];
  process.stdout.write(
    `| ${b.label} | ${formatBytes(b.peak_bytes)} | ${c ? formatBytes(c.peak_bytes) : '—'} | ${formatBytes(b.end_bytes)} | ${c ? formatBytes(c.end_bytes) : '—'} | ${full(b.peak_bytes)} / ${c ? full(c.peak_bytes) : '—'} |\n`,
  );
});
process.stdout.write(
  `| **run** | ${formatBytes(builtin.peak_bytes)} | ${formatBytes(command.peak_bytes)} | ${formatBytes(builtin.final_bytes)} | ${formatBytes(command.final_bytes)} | ${full(builtin.peak_bytes)} / ${full(command.peak_bytes)} |\n`,
);
