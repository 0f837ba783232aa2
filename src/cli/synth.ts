import { Option } from 'commander';
import cliProgress from 'cli-progress';
import type { RegisterCommand } from './context.js';
import { CellbudgetError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { SYNTH_DEFAULTS, synthesize } from '../h5ad/synth.js';
import type { SynthOptions, SynthProgress } from '../h5ad/synth.js';

interface SynthFlags {
  out: string;
  cells?: string;
  size?: string;
  features?: string;
  cellLines?: string;
  drugs?: string;
  doses?: string;
  controlFraction?: string;
  controlDrug?: string;
  dtype?: string;
  compression?: string;
  gzipLevel?: string;
  chunkRows?: string;
  location?: string;
  format?: string;
  density?: string;
  embeddingDim?: string;
  seed?: string;
  json?: boolean;
}

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n)) {
    throw new CellbudgetError('USAGE', `--${flag} expects a number, got '${v}'.`, { key: flag, value: v, hint: `Pass e.g. --${flag} 10.` });
  }
  return n;
}

function numList(flag: string, v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  return v.split(',').map((s) => num(flag, s) as number);
}

/** Turn CLI flags into generator options (exactOptionalPropertyTypes: omit what is unset). */
export function synthOptionsFromFlags(f: SynthFlags): SynthOptions {
  const entries: [string, unknown][] = [
    ['cells', num('cells', f.cells)],
    ['size', f.size],
    ['features', num('features', f.features)],
    ['cellLines', num('cell-lines', f.cellLines)],
    ['drugs', num('drugs', f.drugs)],
    ['doses', numList('doses', f.doses)],
    ['controlFraction', num('control-fraction', f.controlFraction)],
    ['controlDrug', f.controlDrug],
    ['dtype', f.dtype],
    ['compression', f.compression],
    ['gzipLevel', num('gzip-level', f.gzipLevel)],
    ['chunkRows', num('chunk-rows', f.chunkRows)],
    ['dataLocation', f.location],
    ['format', f.format],
    ['density', num('density', f.density)],
    ['embeddingDim', num('embedding-dim', f.embeddingDim)],
    ['seed', num('seed', f.seed)],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as SynthOptions;
}

/** `cellbudget synth --out FILE (--cells N | --size 132MB) [...]`: write a synthetic perturbation h5ad. */
export const registerSynth: RegisterCommand = (program, ctx) => {
  const d = SYNTH_DEFAULTS;
  program
    .command('synth')
    .description(
      'Write a synthetic perturbation dataset as .h5ad (anndata 0.8 reads it): cells spread evenly over every ' +
        '(cell line, drug, dose) condition plus a control per cell line, obs cell_line/drug (categorical), dosage (float64), ' +
        'control (bool), the representation at obsm/X_pca or X, drug and cell-line embeddings in uns. Deterministic for a seed.',
    )
    .requiredOption('--out <file>', 'output .h5ad path (written to a temporary file, then renamed)')
    .option('--cells <n>', 'number of cells')
    .option(
      '--size <bytes>',
      "target in-memory size of the representation, e.g. 132MB (GB = 1e9, GiB = 2^30): cells = floor(size / (features x itemsize)) for dense; for CSR, size counts data + int32 indices + int64 indptr. Not the file size",
    )
    .option('--features <n>', 'columns of the representation', String(d.features))
    .option('--cell-lines <n>', 'number of cell lines', String(d.cellLines))
    .option('--drugs <n>', 'number of drugs, not counting the control drug', String(d.drugs))
    .option('--doses <list>', 'comma-separated doses every drug is given at (controls get 0)', d.doses.join(','))
    .option('--control-fraction <f>', 'fraction of control cells, in [0, 1)', String(d.controlFraction))
    .option('--control-drug <name>', 'label of the control drug', d.controlDrug)
    .option('--dtype <dtype>', 'float32 or float64', d.dtype)
    .option('--compression <c>', 'gzip or none', d.compression)
    .option('--gzip-level <n>', 'gzip level 0-9', String(d.gzipLevel))
    .option('--chunk-rows <n>', 'rows per HDF5 chunk (default: about 1 MiB per chunk)')
    .addOption(new Option('--location <loc>', 'where the representation goes').choices(['obsm/X_pca', 'X']).default(d.dataLocation))
    .addOption(new Option('--format <f>', 'dense or csr').choices(['dense', 'csr']).default(d.format))
    .option('--density <f>', 'CSR only: fraction of each row stored', String(d.density))
    .option('--embedding-dim <n>', 'length of each uns embedding vector', String(d.embeddingDim))
    .option('--seed <n>', 'random seed', String(d.seed))
    .option('--json', 'print the result as JSON')
    .action(async (flags: SynthFlags) => {
      const options = synthOptionsFromFlags(flags);
      const interactive = ctx.io.stderr.isTTY === true && !process.env['CI'];
      let bar: cliProgress.SingleBar | null = null;
      const onProgress = (p: SynthProgress): void => {
        if (!interactive) return;
        if (bar === null && p.phase !== 'done') {
          bar = new cliProgress.SingleBar(
            { format: 'synth [{bar}] {percentage}% | {value}/{total} rows | {eta_formatted} left', stream: ctx.io.stderr as NodeJS.WritableStream, hideCursor: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.rows, 0);
        }
        bar?.update(p.rowsDone);
        if (p.phase === 'done') bar?.stop();
      };
      try {
        const r = await synthesize(options, flags.out, onProgress);
        if (flags.json) {
          ctx.io.stdout.write(JSON.stringify(r, null, 2) + '\n');
        } else {
          const s = r.spec;
          ctx.io.stdout.write(
            `wrote ${r.path} (${formatBytes(r.fileBytes)} on disk)\n` +
              `  ${s.cells} cells x ${s.features} features, ${s.dtype} ${s.format} at ${r.dataLocation.join('/')}: ${formatBytes(r.representationBytes)} in memory\n` +
              `  ${s.cellLines} cell lines x ${s.drugs} drugs x ${s.doses.length} doses = ${r.perturbedConditions} perturbed conditions + ${r.controlConditions} control; ` +
              `${r.minCellsPerCondition}-${r.maxCellsPerCondition} cells per condition\n` +
              `  seed ${s.seed}, key ${r.key}, ${r.seconds.toFixed(2)} s\n`,
          );
        }
      } finally {
        (bar as cliProgress.SingleBar | null)?.stop();
      }
    });
};
