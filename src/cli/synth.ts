import cliProgress from 'cli-progress';
import type { RegisterCommand } from './context.js';
import { formatBytes } from '../core/units.js';
import { SYNTH_DEFAULTS, synthesize } from '../h5ad/synth.js';
import type { SynthFormat, SynthLocation, SynthOptions, SynthProgress } from '../h5ad/synth.js';
import type { FloatDtype } from '../core/data.js';
import { choiceOption, listOption, number, valueOption } from './options.js';
import { progressWanted } from '../../harness/run/progress.js';

/** What commander hands the action: numbers parsed by src/cli/options.ts, the rest checked by resolveSynthSpec. */
interface SynthFlags {
  out: string;
  cells?: number;
  size?: string;
  features?: number;
  cellLines?: number;
  drugs?: number;
  doses?: number[];
  controlFraction?: number;
  controlDrug?: string;
  dtype?: FloatDtype;
  compression?: 'gzip' | 'none';
  gzipLevel?: number;
  chunkRows?: number;
  location?: SynthLocation;
  format?: SynthFormat;
  density?: number;
  embeddingDim?: number;
  seed?: number;
  json?: boolean;
}

/** Turn CLI flags into generator options (exactOptionalPropertyTypes: omit what is unset). */
export function synthOptionsFromFlags(f: SynthFlags): SynthOptions {
  const { out: _out, json: _json, location, ...rest } = f;
  return Object.fromEntries(Object.entries({ ...rest, dataLocation: location }).filter(([, v]) => v !== undefined)) as SynthOptions;
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
    .addOption(valueOption('--cells <n>', 'number of cells', number))
    .option(
      '--size <bytes>',
      'target in-memory size of the representation, e.g. 132MB (GB = 1e9, GiB = 2^30): cells = floor(size / (features x itemsize)) for dense; for CSR, size counts data + int32 indices + int64 indptr. Not the file size',
    )
    .addOption(valueOption('--features <n>', 'columns of the representation', number).default(d.features))
    .addOption(valueOption('--cell-lines <n>', 'number of cell lines', number).default(d.cellLines))
    .addOption(valueOption('--drugs <n>', 'number of drugs, not counting the control drug', number).default(d.drugs))
    .addOption(
      listOption('--doses <list>', 'doses every drug is given at (controls get 0); comma-separated', number).default(
        d.doses,
        d.doses.join(','),
      ),
    )
    .addOption(valueOption('--control-fraction <f>', 'fraction of control cells, in [0, 1)', number).default(d.controlFraction))
    .option('--control-drug <name>', 'label of the control drug', d.controlDrug)
    .addOption(choiceOption('--dtype <dtype>', 'element type of the representation', ['float32', 'float64'], 'a dtype').default(d.dtype))
    .addOption(
      choiceOption('--compression <c>', 'HDF5 filter of the representation', ['gzip', 'none'], 'a compression').default(d.compression),
    )
    .addOption(valueOption('--gzip-level <n>', 'gzip level 0-9', number).default(d.gzipLevel))
    .addOption(valueOption('--chunk-rows <n>', 'rows per HDF5 chunk (default: about 1 MiB per chunk)', number))
    .addOption(choiceOption('--location <loc>', 'where the representation goes', ['obsm/X_pca', 'X'], 'a location').default(d.dataLocation))
    .addOption(choiceOption('--format <f>', 'layout of the representation', ['dense', 'csr'], 'a format').default(d.format))
    .addOption(valueOption('--density <f>', 'CSR only: fraction of each row stored', number).default(d.density))
    .addOption(valueOption('--embedding-dim <n>', 'length of each uns embedding vector', number).default(d.embeddingDim))
    .addOption(valueOption('--seed <n>', 'random seed', number).default(d.seed))
    .option('--json', 'print the result as JSON')
    .action(async (flags: SynthFlags) => {
      const options = synthOptionsFromFlags(flags);
      const interactive = progressWanted(ctx.io.stderr);
      let bar: cliProgress.SingleBar | null = null;
      const onProgress = (p: SynthProgress): void => {
        if (!interactive) return;
        if (bar === null && p.phase !== 'done') {
          bar = new cliProgress.SingleBar(
            {
              format: 'synth [{bar}] {percentage}% | {value}/{total} rows | {eta_formatted} left',
              stream: ctx.io.stderr as NodeJS.WritableStream,
              hideCursor: true,
            },
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
