/**
 * The layers of cellbudget, low to high; a module may import its own layer and the ones below,
 * never one above, and nothing may import in a cycle (tests included). `npm run lint:layers`
 * checks it; npm test runs it first, so CI fails on a violation. docs/architecture.md draws it.
 *
 *   core              src/core          data model, errors, units, names, the report schema, the fit math
 *   domain            src/h5ad, src/io, src/pipeline, src/memory, src/scenario, src/store   I/O and the pure domain
 *                     (src/store: the training store; its layout and formats are pure, fs.ts and prepare.ts write)
 *   strategies        src/strategies    the multi-dataset strategies over the pipeline
 *   simulator         src/simulator     predicted memory per step, calibration, planning
 *   harness/report    harness/report    budgets, projections, compare, text/Markdown/JUnit/HTML/charts (no processes)
 *   harness/process   harness/process   the supervisor, measuring children, their protocol and jobs
 *   harness/command   harness/command   the user's command measured through its markers; logs ingested
 *   harness/run       harness/run       scenario files, the ladder, the cache, executors, the run loop, preflight
 *   harness/slurm     harness/slurm     the Slurm executor, its job entry and records
 *   harness/api       harness/api, harness/index.ts   what the surfaces call: settings, whole commands
 *   surfaces          src/cli, src/vitest, src/*.ts (package entries), bench
 */
const LAYERS = [
  ['core', '^src/core/'],
  ['domain', '^src/(h5ad|io|pipeline|memory|scenario|store)/'],
  ['strategies', '^src/strategies/'],
  ['simulator', '^src/simulator/'],
  ['harness-report', '^harness/report/'],
  ['harness-process', '^harness/process/'],
  ['harness-command', '^harness/command/'],
  ['harness-run', '^harness/run/'],
  ['harness-slurm', '^harness/slurm/'],
  ['harness-api', '^harness/api/|^harness/index\\.ts$'],
  ['surfaces', '^src/(cli|vitest)/|^src/[^/]+\\.ts$|^bench/'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} is below ${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join(', ')}: it may not import them (move what it needs down, or the caller up).`,
  severity: 'error',
  from: { path },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, p]) => p)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-circular',
      comment: 'Modules that import each other cannot be understood (or loaded) one at a time.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'h5wasm-only-in-h5ad',
      comment: 'Only src/h5ad talks to HDF5 (docs/architecture.md#the-layers): everything else reads datasets through DatasetSource.',
      severity: 'error',
      from: { pathNot: '^src/h5ad/' },
      to: { path: 'node_modules/h5wasm' },
    },
    {
      name: 'pure-layers-do-no-io',
      comment: 'The core, the pipeline, the scenario model, the strategies and the simulator are pure: the caller reads and writes.',
      severity: 'error',
      from: {
        path: '^(src/(core|pipeline|scenario|strategies|simulator|store)|harness/report)/',
        pathNot: '^(harness/report/(write-report|chart-png|html|version)|src/store/(fs|prepare))\\.ts$',
      },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|child_process|worker_threads|net|http|https|os|readline)$' },
    },
    {
      name: 'processes-only-from-the-harness',
      comment: 'In the library only the harness starts processes (tests and benchmarks may).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?child_process$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
