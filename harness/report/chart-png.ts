/**
 * PNG rendering of chart specs (Node): Chart.js on an @napi-rs/canvas, with the same
 * configuration function the HTML page runs, so the PNGs and the page cannot drift apart.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../../src/io/files.js';
import type { Report } from '../../src/core/report.js';
import { chartConfigFromSpec } from './chart-config.js';
import { CHART_HEIGHT, CHART_WIDTH, reportChartSpecs, type ChartSpec } from './chart-spec.js';

let registered: Promise<typeof import('chart.js')> | undefined;
function chartJs(): Promise<typeof import('chart.js')> {
  registered ??= import('chart.js').then((m) => {
    m.Chart.register(...m.registerables);
    return m;
  });
  return registered;
}

/** Render one spec to a PNG (1200×600 unless told otherwise). */
export async function renderChartPng(
  spec: ChartSpec,
  size: { width: number; height: number } = { width: CHART_WIDTH, height: CHART_HEIGHT },
): Promise<Buffer> {
  const [{ Chart }, { createCanvas }] = await Promise.all([chartJs(), import('@napi-rs/canvas')]);
  const canvas = createCanvas(size.width, size.height);
  const config = chartConfigFromSpec(spec, false);
  // Chart.js accepts a 2D context whose `.canvas` it sizes; @napi-rs/canvas provides one.
  const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2DLike, config);
  try {
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}
type CanvasRenderingContext2DLike = ConstructorParameters<typeof import('chart.js').Chart>[0];

/**
 * Render every chart of a report into `dir` as PNGs (tmp file + rename, so a reader never
 * sees half a file). Returns the paths written.
 */
export async function renderCharts(report: Report, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { file, spec } of reportChartSpecs(report)) {
    const png = await renderChartPng(spec);
    const path = join(dir, file);
    await writeAtomic(path, png);
    written.push(path);
  }
  return written;
}
