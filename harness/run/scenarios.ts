/**
 * Scenario files (YAML): what to replay against the pipeline, at which scale, with which
 * budgets. Sizes and budgets are written at full scale; `scale` maps them onto this
 * machine. Validation errors name the file, the line and the key.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closest, distance } from 'fastest-levenshtein';
import YAML, { LineCounter, isNode } from 'yaml';
import type { z } from 'zod';
import { CellbudgetError } from '../../src/core/errors.js';
import { hasUnit, parseBytes, parseDuration } from '../../src/core/units.js';
import { parsePipelineConfig } from '../../src/pipeline/config.js';
import {
  builtinScenarioSchema,
  commandScenarioSchema,
  expandFamily,
  KIND_KEYS,
  suiteSchema,
  type Budgets,
  type BuiltinScenario,
  type CommandScenario,
  type Scenario,
  type ScenarioKind,
} from '../../src/scenario/model.js';

/** The directory holding the shipped scenarios (works from src and from dist). */
export function scenariosDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [resolve(here, '../../scenarios'), resolve(here, '../../../scenarios')]) {
    if (existsSync(candidate)) return candidate;
  }
  return resolve(process.cwd(), 'scenarios');
}

export type { Budgets, BuiltinScenario, CommandScenario, DatasetDef, Scenario } from '../../src/scenario/model.js';
export type { SyntheticSpec } from '../../src/scenario/synthetic.js';

/** Resolve a scenario argument: a path, or the name of a shipped scenario ("default"). */
export function resolveScenarioPath(arg: string): string {
  if (existsSync(arg)) return resolve(arg);
  const dir = scenariosDir();
  for (const candidate of [join(dir, arg), join(dir, `${arg}.yaml`), join(dir, `${arg}.yml`)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new CellbudgetError('FILE_NOT_FOUND', `Scenario '${arg}' is neither a file nor a shipped scenario.`, {
    file: arg,
    hint: `Give a path to a YAML file, or one of: ${shippedScenarioNames().join(', ')}.`,
  });
}

export function shippedScenarioNames(): string[] {
  try {
    return readdirSync(scenariosDir())
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => basename(f).replace(/\.ya?ml$/, ''));
  } catch {
    return [];
  }
}

/**
 * Load one scenario argument into runnable scenarios: a suite expands to its members,
 * a family to one scenario per N.
 */
export function loadScenarios(arg: string, seen: Set<string> = new Set()): Scenario[] {
  const path = resolveScenarioPath(arg);
  if (seen.has(path)) {
    throw new CellbudgetError('SCENARIO_INVALID', `Suite ${path} includes itself.`, {
      file: path,
      hint: 'Remove the cycle from its `suite:` list.',
    });
  }
  seen.add(path);
  const { value, locate } = parseYamlFile(path);
  const kind = scenarioKind(value, path, locate);
  if (kind === 'suite') {
    const suite = validate(suiteSchema, value, path, locate);
    return suite.suite.flatMap((member) => {
      const memberPath = isAbsolute(member) ? member : resolve(dirname(path), member);
      return loadScenarios(existsSync(memberPath) ? memberPath : member, new Set(seen));
    });
  }
  if (kind === 'command') {
    const c = validate(commandScenarioSchema, { ...(value as object), kind: 'command' }, path, locate);
    const scenario: CommandScenario = {
      kind: 'command',
      name: c.name,
      source: path,
      command: c.command,
      cwd: c.cwd ? resolve(dirname(path), c.cwd) : dirname(path),
      env: c.env,
      scale: c.scale,
      budgets: parseBudgets(c.budgets, path, locate),
      baseline: c.baseline,
      definition: value,
      ...(c.description !== undefined ? { description: c.description } : {}),
      ...(c.timeout !== undefined ? { timeoutMs: scenarioDuration(c.timeout, path, locate) } : {}),
      ...(c.executor !== undefined ? { executor: c.executor } : {}),
    };
    return [scenario];
  }
  const { kind: _kind, ...builtin } = value as Record<string, unknown>;
  const s = validate(builtinScenarioSchema, builtin, path, locate);
  const datasets = s.datasets.map((d, i) => {
    if (d.file === undefined) return d;
    const file = isAbsolute(d.file) ? d.file : resolve(dirname(path), d.file);
    if (!existsSync(file)) {
      throw new CellbudgetError(
        'SCENARIO_INVALID',
        `${where(path, locate, ['datasets', i, 'file'])}: dataset '${d.name}' points to ${file}, which does not exist.`,
        {
          file: path,
          key: `datasets[${i}].file`,
          hint: 'Fix the path (relative paths are taken from the scenario file’s folder).',
        },
      );
    }
    return { ...d, file };
  });
  const names = new Set<string>();
  datasets.forEach((d, i) => {
    if (names.has(d.name)) {
      throw new CellbudgetError(
        'SCENARIO_INVALID',
        `${where(path, locate, ['datasets', i, 'name'])}: dataset name '${d.name}' is used twice.`,
        {
          file: path,
          key: `datasets[${i}].name`,
          hint: 'Give every dataset its own name; reports and digests are keyed by it.',
        },
      );
    }
    names.add(d.name);
  });
  const base: BuiltinScenario = {
    kind: 'builtin',
    name: s.name,
    source: path,
    scale: s.scale,
    datasets,
    // The pipeline's own checks (disjoint keys, ratios, force keys) at load: before anything runs.
    pipeline: parsePipelineConfig(s.pipeline, `${path}: pipeline`),
    strategies: s.strategies,
    budgets: parseBudgets(s.budgets, path, locate),
    repeat: s.repeat,
    env: s.env,
    definition: value,
    ...(s.description !== undefined ? { description: s.description } : {}),
    ...(s.window_rows !== undefined ? { windowRows: s.window_rows } : {}),
    ...(s.node_memory !== undefined ? { nodeMemoryBytes: parseBytes(s.node_memory, 'node_memory') } : {}),
    ...(s.order !== undefined ? { order: s.order } : {}),
    ...(s.executor !== undefined ? { executor: s.executor } : {}),
    ...(s.ladder !== undefined ? { ladder: s.ladder } : {}),
  };
  if (!s.family) return [base];
  return s.family.n.map((n) => expandFamily(base, n, where(path, locate, ['family'])));
}

/**
 * Which kind of scenario a file is: `kind:` when written (`builtin` or `command`), else
 * inferred from the keys only one kind has. Keys of two kinds at once are a contradiction
 * named key by key, not a union of schema failures.
 */
function scenarioKind(value: unknown, path: string, locate: Locate): ScenarioKind {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CellbudgetError(
      'SCENARIO_INVALID',
      `Scenario ${path} is not a mapping of keys (it holds ${Array.isArray(value) ? 'a list' : value === null ? 'nothing' : `a ${typeof value}`}).`,
      {
        file: path,
        hint: 'A scenario starts with `name:` and then `datasets:` + `pipeline:` (built-in), `command:` (a command) or `suite:` (a list of scenario files); see scenarios/README.md.',
      },
    );
  }
  const keys = Object.keys(value);
  const present = (k: ScenarioKind): string[] => KIND_KEYS[k].filter((key) => keys.includes(key));
  const written = (value as { kind?: unknown }).kind;
  if (written !== undefined && written !== 'builtin' && written !== 'command') {
    throw new CellbudgetError('SCENARIO_INVALID', `${where(path, locate, ['kind'])}: kind '${String(written)}' is not a scenario kind.`, {
      file: path,
      key: 'kind',
      value: String(written),
      hint: 'Write `kind: command` for a program measured through its markers, `kind: builtin` (or no `kind`) for datasets run through the built-in strategies.',
    });
  }
  const found = (['suite', 'command', 'builtin'] as const).filter((k) => k === written || present(k).length > 0);
  if (found.length > 1) {
    const parts = found.map(
      (k) =>
        `${
          k === written
            ? '`kind: ' + k + '`'
            : present(k)
                .map((x) => `\`${x}:\``)
                .join(', ')
        } (${k === 'builtin' ? 'a built-in scenario' : k === 'command' ? 'a command scenario' : 'a suite'})`,
    );
    const key = found.flatMap((k) => present(k))[0] ?? 'kind';
    throw new CellbudgetError('SCENARIO_INVALID', `${where(path, locate, [key])}: the scenario mixes two kinds: ${parts.join(' and ')}.`, {
      file: path,
      key,
      hint: 'Keep the keys of one kind: a command scenario measures `command:` and has no datasets or pipeline; a built-in one has `datasets:` and `pipeline:`; a suite only lists other files.',
    });
  }
  if (found.length === 0) {
    const all: string[] = Object.values(KIND_KEYS).flat();
    const typos = keys.flatMap((k) => {
      const guess = closest(k, all);
      return k !== 'kind' && distance(k, guess) <= 2 ? [`\`${k}\` (did you mean \`${guess}\`?)`] : [];
    });
    throw new CellbudgetError(
      'SCENARIO_INVALID',
      `Scenario ${path} says neither what to run nor how: it has no \`datasets:\` + \`pipeline:\` (a built-in scenario), no \`command:\` (a command scenario) and no \`suite:\`${typos.length ? `; unknown key${typos.length > 1 ? 's' : ''} ${typos.join(', ')}` : ''}.`,
      {
        file: path,
        hint: 'Add `datasets:` and `pipeline:`, or `command: [program, args...]`, or `suite: [a.yaml, b.yaml]`; see scenarios/README.md.',
      },
    );
  }
  return found[0]!;
}

function parseBudgets(
  b: { peak?: string | number | undefined; final?: string | number | undefined; leak?: string | number | undefined },
  path: string,
  locate: Locate,
): Budgets {
  const out: Budgets = {};
  const one = (k: 'peak' | 'final' | 'leak'): number | undefined => {
    const v = b[k];
    if (v === undefined) return undefined;
    if (!hasUnit(v)) {
      // `peak: 400` silently meant 400 bytes: a budget says its unit.
      throw new CellbudgetError(
        'SCENARIO_INVALID',
        `${where(path, locate, ['budgets', k])}: budgets.${k} ${String(v)} has no unit; it would mean ${String(v)} bytes.`,
        {
          file: path,
          key: `budgets.${k}`,
          value: v,
          hint: `Write the unit, e.g. ${k}: ${String(v)}GB (full scale; GB = 1e9 bytes, GiB = 2^30).`,
        },
      );
    }
    try {
      return parseBytes(v, `budgets.${k}`);
    } catch (e) {
      throw new CellbudgetError(
        'SCENARIO_INVALID',
        `${where(path, locate, ['budgets', k])}: budgets.${k} '${String(v)}' is not a size.`,
        {
          file: path,
          key: `budgets.${k}`,
          hint: 'Write a full-scale size such as 400GB.',
        },
        { cause: e },
      );
    }
  };
  const peak = one('peak');
  const final = one('final');
  const leak = one('leak');
  if (peak !== undefined) out.peakBytes = peak;
  if (final !== undefined) out.finalBytes = final;
  if (leak !== undefined) out.leakBytes = leak;
  return out;
}

function scenarioDuration(v: string | number, path: string, locate: Locate): number {
  let ms: number;
  try {
    ms = parseDuration(v, 'timeout');
  } catch (e) {
    throw new CellbudgetError(
      'SCENARIO_INVALID',
      `${where(path, locate, ['timeout'])}: timeout '${String(v)}' is not a duration.`,
      { file: path, key: 'timeout', hint: 'Write e.g. 30s, 10m or 1h.' },
      { cause: e },
    );
  }
  // 0 read as "unlimited" here but killed every run as --timeout 0: one meaning, refused.
  if (!(ms > 0)) {
    throw new CellbudgetError(
      'SCENARIO_INVALID',
      `${where(path, locate, ['timeout'])}: timeout '${String(v)}' is not a positive duration.`,
      { file: path, key: 'timeout', hint: 'Write e.g. 30s, 10m or 1h; leave timeout out for no limit.' },
    );
  }
  return ms;
}

type Locate = (path: readonly PropertyKey[]) => string | undefined;

function parseYamlFile(path: string): { value: unknown; locate: Locate } {
  const text = readFileSync(path, 'utf8');
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e?.linePos?.[0];
    throw new CellbudgetError(
      'SCENARIO_INVALID',
      `${path}${pos ? `:${pos.line}:${pos.col}` : ''}: the file is not valid YAML (${e?.code ?? 'error'}: ${(e?.message ?? '').split('\n')[0]}).`,
      {
        file: path,
        hint: 'Fix the YAML syntax at that line.',
      },
    );
  }
  const locate: Locate = (keys) => {
    // Walk up to the closest node that exists, so a missing key points at its parent.
    for (let n = keys.length; n >= 0; n--) {
      const node = doc.getIn(keys.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return `line ${pos.line}`;
      }
    }
    return undefined;
  };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml refuses alias expansion past maxAliasCount ("billion laughs"): an input error.
    throw new CellbudgetError(
      'SCENARIO_INVALID',
      `${path}: the YAML expands too far to load (${(e as Error).message}).`,
      {
        file: path,
        hint: 'Scenario files need no deeply nested aliases (*ref) of aliases; write the values out.',
      },
      { cause: e },
    );
  }
  return { value, locate };
}

function where(path: string, locate: Locate, keys: readonly PropertyKey[]): string {
  const line = locate(keys);
  return line ? `${path} (${line})` : path;
}

/** The keys an object schema at `path` knows (through defaults, optionals, arrays and records), if any. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: z.ZodType | undefined = schema;
  const unwrap = (x: z.ZodType): z.ZodType => {
    let cur = x;
    for (let i = 0; i < 10; i++) {
      const def = (cur as unknown as { def: { type: string; innerType?: z.ZodType; element?: z.ZodType; valueType?: z.ZodType } }).def;
      if ((def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') && def.innerType)
        cur = def.innerType;
      else break;
    }
    return cur;
  };
  for (const p of path) {
    if (!s) return undefined;
    const cur = unwrap(s);
    const def = (cur as unknown as { def: { type: string; element?: z.ZodType; valueType?: z.ZodType } }).def;
    if (def.type === 'object') s = (cur as z.ZodObject).shape[String(p)] as z.ZodType | undefined;
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return undefined;
  }
  if (!s) return undefined;
  const cur = unwrap(s);
  return (cur as unknown as { def: { type: string } }).def.type === 'object' ? Object.keys((cur as z.ZodObject).shape) : undefined;
}

function keyName(path: readonly PropertyKey[]): string {
  return path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '')
    : '(top level)';
}

/**
 * One line per problem, naming the key: a missing key as missing, an unknown key with the
 * known key it most likely meant (and then no "missing" line for that one).
 */
function issueLines(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], locate: Locate): string[] {
  const meant = new Set<string>();
  const lines: string[] = [];
  for (const i of issues) {
    if (i.code !== 'unrecognized_keys') continue;
    const known = knownKeys(schema, i.path) ?? [];
    for (const k of i.keys) {
      const guess = known.length ? closest(k, known) : undefined;
      const near = guess !== undefined && distance(k, guess) <= Math.max(2, Math.floor(guess.length / 3));
      if (near) meant.add(keyName([...i.path, guess]));
      const at = keyName([...i.path, k]);
      const line = locate([...i.path, k]);
      lines.push(
        `${at}${line ? ` (${line})` : ''}: unknown key${near ? ` — did you mean \`${guess}\`?` : known.length ? `; the keys here are ${known.join(', ')}` : ''}`,
      );
    }
  }
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') continue;
    const key = keyName(i.path);
    if (meant.has(key)) continue;
    const line = locate(i.path);
    const missing = i.code === 'invalid_type' && /received undefined$/.test(i.message);
    lines.push(`${key}${line ? ` (${line})` : ''}: ${missing ? `missing (expected ${i.expected})` : i.message}`);
  }
  return lines;
}

function validate<T extends z.ZodType>(schema: T, value: unknown, path: string, locate: Locate): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = issueLines(schema, r.error.issues, locate).slice(0, 5);
  const first = r.error.issues[0];
  throw new CellbudgetError('SCENARIO_INVALID', `Scenario ${path} is invalid: ${issues.join('; ')}.`, {
    file: path,
    ...(first ? { key: first.path.map(String).join('.') } : {}),
    hint: 'Fix the key(s) named above; see scenarios/README.md for the format.',
  });
}
