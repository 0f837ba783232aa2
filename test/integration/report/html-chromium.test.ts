// report.html in a real browser: headless chromium draws every chart with no console error.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../../harness/report/html.js';
import { reportChartSpecs } from '../../../harness/report/charts.js';
import { sampleReport, scaleRun, MAIN } from '../../helpers/report-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`report-html: ${CHROMIUM} not found; skipping the browser test (apt-get install -y chromium).`);

describe('report.html', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-html-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!haveChromium)('renders its charts in headless chromium with no console errors', async () => {
    const { chromium } = await import('playwright-core');
    const report = sampleReport();
    const file = join(dir, 'report.html');
    await writeFile(file, await renderHtml(report, { baseline: scaleRun(report, MAIN, 'sequential', 0.8) }));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      await page.waitForFunction(() => Array.isArray((globalThis as unknown as { cellbudgetCharts?: unknown[] }).cellbudgetCharts));

      const charts = await page.evaluate(() => {
        type Canvas = {
          id: string;
          width: number;
          height: number;
          getContext(t: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
        };
        const list = (globalThis as unknown as { cellbudgetCharts: Array<{ canvas: Canvas; config: { type: string } }> }).cellbudgetCharts;
        return list.map((c) => {
          const g = c.canvas.getContext('2d');
          const { width, height } = c.canvas;
          const data = g.getImageData(0, 0, width, height).data;
          let ink = 0;
          for (let i = 0; i < data.length; i += 4 * 7)
            if ((data[i] ?? 255) < 200 || (data[i + 1] ?? 255) < 200 || (data[i + 2] ?? 255) < 200) ink++;
          return { id: c.canvas.id, type: c.config.type, width, height, ink };
        });
      });
      const specs = reportChartSpecs(report);
      expect(charts.map((c) => c.id)).toEqual(specs.map((s) => s.spec.id));
      for (const c of charts) {
        expect(c.width, c.id).toBeGreaterThan(300);
        expect(c.ink, `${c.id} looks blank`).toBeGreaterThan(500);
      }

      // Hovering a step-end point shows its step and the heap/external/wasm breakdown.
      const tip = await page.evaluate(() => {
        const chart = (
          globalThis as unknown as {
            cellbudgetCharts: Array<{
              data: { datasets: Array<{ data: Array<{ tip?: string[] }> }> };
              getDatasetMeta(i: number): { data: Array<{ x: number; y: number }> };
              tooltip: { setActiveElements(a: unknown[], p: unknown): void; body?: Array<{ lines: string[] }> };
              update(): void;
            }>;
          }
        ).cellbudgetCharts[0];
        if (!chart) return [];
        const ds = chart.data.datasets[0];
        const idx = ds ? ds.data.findIndex((p) => (p.tip ?? []).some((l) => l.includes('V8 heap'))) : -1;
        const el = chart.getDatasetMeta(0).data[idx];
        if (!el) return [];
        chart.tooltip.setActiveElements([{ datasetIndex: 0, index: idx }], { x: el.x, y: el.y });
        chart.update();
        return (chart.tooltip.body ?? []).flatMap((b) => b.lines);
      });
      expect(tip.join('\n')).toMatch(/end of '.+'/);
      expect(tip.join('\n')).toMatch(/V8 heap .* external .* wasm/);

      const text = await page.textContent('#results');
      expect(text).toContain('sequential');
      expect(await page.textContent('#environment')).toContain('clear_refs');

      await page.screenshot({ path: join(process.env['CELLBUDGET_SCREENSHOT_DIR'] ?? dir, 'report-html.png'), fullPage: true });
      expect(requests).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
