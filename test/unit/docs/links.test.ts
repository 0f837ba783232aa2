/**
 * The repository explains itself (docs/architecture.md#conventions): code comments point at
 * `docs/<page>.md#<heading>`, never at a file a contributor does not have (the team's design
 * notes, a folder beside the checkout) or at the tracker's numbering; every such pointer, and
 * every relative link between the Markdown pages, lands on a page and heading that exist
 * (GitHub's slugs); the paths the pages name exist; and docs/cli.md covers every command and
 * option the CLI registers. Reads sources only: no build, no process.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import GithubSlugger from 'github-slugger';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { commands } from '../../../src/cli/commands.js';
import type { CliContext } from '../../../src/cli/context.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const rel = (p: string): string => relative(ROOT, p);

/** Folders whose comments must not point outside the repository. */
const CODE_DIRS = ['src', 'harness', 'bench', 'scripts'];
const CODE_FILE = /\.(ts|mts|cts|js|mjs|cjs|sh|py)$/;
/** Markdown pages whose text and links are checked. */
const PAGES = [
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f)),
  join(ROOT, 'scenarios', 'README.md'),
  join(ROOT, 'fixtures', 'README.md'),
];

function filesUnder(dir: string, keep: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...filesUnder(path, keep));
    } else if (keep.test(entry.name)) out.push(path);
  }
  return out;
}

interface Comment {
  line: number;
  text: string;
}

/** Every comment of a TypeScript/JavaScript file, from the parsed tree (strings and regexes are not comments). */
function tsComments(path: string, text: string): Comment[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  const seen = new Map<number, Comment>();
  const add = (ranges: ts.CommentRange[] | undefined): void => {
    for (const r of ranges ?? []) {
      if (!seen.has(r.pos)) seen.set(r.pos, { line: file.getLineAndCharacterOfPosition(r.pos).line + 1, text: text.slice(r.pos, r.end) });
    }
  };
  const visit = (node: ts.Node): void => {
    add(ts.getLeadingCommentRanges(text, node.getFullStart()));
    add(ts.getTrailingCommentRanges(text, node.getEnd()));
    ts.forEachChild(node, visit);
  };
  visit(file);
  add(ts.getLeadingCommentRanges(text, file.endOfFileToken.getFullStart()));
  return [...seen.values()];
}

/** `#` comments of a shell or Python file (a `#` at a line's start or after a blank, outside quotes), and Python's docstrings. */
function hashComments(text: string, python: boolean): Comment[] {
  const out: Comment[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (i === 0 && line.startsWith('#!')) return;
    let quote: string | null = null;
    for (let c = 0; c < line.length; c++) {
      const ch = line[c]!;
      if (quote) {
        if (ch === '\\' && quote === '"') c++;
        else if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#' && (c === 0 || /\s/.test(line[c - 1]!))) {
        out.push({ line: i + 1, text: line.slice(c) });
        return;
      }
    }
  });
  if (python) {
    for (const m of text.matchAll(/("""|''')[\s\S]*?\1/g)) {
      out.push({ line: text.slice(0, m.index).split('\n').length, text: m[0] });
    }
  }
  return out;
}

function commentsOf(path: string): Comment[] {
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.sh')) return hashComments(text, false);
  if (path.endsWith('.py')) return hashComments(text, true);
  return tsComments(path, text);
}

/** What a comment or page must not point at, with what to write instead. */
const OUTSIDE: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bDESIGN\b|DESIGN\.md/, 'the team design notes (not in the repository)'],
  [/\bSTYLE\.md\b|\bSTYLE \d/, 'the team style guide (not in the repository)'],
  [/§\s*\d/, 'a section of a document outside the repository'],
  [/\.\.\/shared\b/, 'a folder beside the checkout'],
  [/\b(?:issues?|PRs?|pull requests?)\s*#?\d+/i, 'an issue or pull-request number'],
  [/(?:^|[\s(,;:])#\d+\b/, 'an issue or pull-request number'],
];

function outsideRefs(text: string): string[] {
  return OUTSIDE.filter(([re]) => re.test(text)).map(([re, what]) => `${what}: ${text.match(re)![0].trim()}`);
}

/** Headings of a Markdown page as GitHub anchors them (fenced code skipped; repeated headings get -1, -2…). */
function anchorsOf(page: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  let fence: string | null = null;
  for (const line of readFileSync(page, 'utf8').split('\n')) {
    const f = /^\s*(```|~~~)/.exec(line);
    if (f) {
      if (fence === null) fence = f[1]!;
      else if (fence === f[1]) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) anchors.add(slugger.slug(h[1]!.replace(/`/g, '')));
  }
  return anchors;
}

const anchorCache = new Map<string, Set<string>>();
function hasAnchor(page: string, anchor: string): boolean {
  if (!anchorCache.has(page)) anchorCache.set(page, anchorsOf(page));
  return anchorCache.get(page)!.has(anchor);
}

/** `docs/<page>.md#<anchor>` written in code or prose: the page and heading must exist. */
function docPointerProblems(text: string): string[] {
  const problems: string[] = [];
  for (const m of text.matchAll(/\bdocs\/([\w.-]+\.md)(?:#([\w-]+))?/g)) {
    const page = join(ROOT, 'docs', m[1]!);
    if (!existsSync(page)) problems.push(`${m[0]}: no page docs/${m[1]}`);
    else if (m[2] !== undefined && !hasAnchor(page, m[2])) problems.push(`${m[0]}: docs/${m[1]} has no heading '#${m[2]}'`);
  }
  return problems;
}

/** Markdown outside fenced code blocks, line by line with their numbers. */
function proseLines(page: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fence: string | null = null;
  readFileSync(page, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const f = /^\s*(```|~~~)/.exec(text);
      if (f) {
        if (fence === null) fence = f[1]!;
        else if (fence === f[1]) fence = null;
        return;
      }
      if (fence === null) out.push({ line: i + 1, text });
    });
  return out;
}

describe('comments point inside the repository', () => {
  const files = CODE_DIRS.flatMap((d) => filesUnder(join(ROOT, d), CODE_FILE));

  it('finds the code to check', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.map(rel)).toContain('src/pipeline/grouping.ts');
  });

  it('no comment in src/, harness/, bench/ or scripts/ refers to the design notes, a folder beside the checkout, or an issue number', () => {
    const found = files.flatMap((f) =>
      commentsOf(f).flatMap((c) =>
        c.text.split('\n').flatMap((text, i) => outsideRefs(text).map((what) => `${rel(f)}:${c.line + i}: ${what}`)),
      ),
    );
    expect(found, 'Point at docs/<page>.md#<heading> instead, or say the reason in place').toEqual([]);
  });

  it('every docs/<page>.md#<heading> a comment names exists', () => {
    const found = [...files, ...filesUnder(join(ROOT, 'test'), CODE_FILE)].flatMap((f) =>
      commentsOf(f).flatMap((c) => docPointerProblems(c.text).map((p) => `${rel(f)}:${c.line}: ${p}`)),
    );
    expect(found).toEqual([]);
  });

  it('every repository path a comment names exists (a module that moved takes its mentions along)', () => {
    const missing: string[] = [];
    for (const f of files) {
      for (const c of commentsOf(f)) {
        for (const m of c.text.matchAll(/(?<![\w./-])((?:src|harness|bench|scripts|test|fixtures|scenarios|docs)\/[\w./-]*\w)/g)) {
          const p = join(ROOT, m[1]!);
          if (![p, p.replace(/\.js$/, '.ts'), p.replace(/\.js$/, '.mjs')].some((x) => existsSync(x)))
            missing.push(`${rel(f)}:${c.line}: ${m[1]}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('the check sees what it must refuse and what it must allow', () => {
    const probe = [
      '// see DESIGN §7',
      '/* shared/DESIGN.md §3 */',
      '// issue 8',
      '// (issue #15)',
      '// see #16',
      '// ../shared/golden',
      "const colour = '#444444'; // a colour, not an issue",
      "const s = 'DESIGN §4 in a string is not a comment';",
      '// docs/measurement.md#the-scale-ladder',
    ].join('\n');
    const flagged = tsComments('probe.ts', probe).filter((c) => outsideRefs(c.text).length > 0);
    expect(flagged.map((c) => c.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(hashComments('x="#12 in a string"  # issue 3\n', false).map((c) => outsideRefs(c.text).length)).toEqual([1]);
    expect(hashComments('"""See DESIGN.md."""\n', true).map((c) => outsideRefs(c.text).length)).toEqual([1]);
    expect(docPointerProblems('docs/measurement.md#the-scale-ladder')).toEqual([]);
    expect(docPointerProblems('docs/measurement.md#no-such-heading')).toHaveLength(1);
    expect(docPointerProblems('docs/nosuch.md')).toHaveLength(1);
  });
});

describe('the Markdown pages stand on their own', () => {
  it.each([...PAGES, join(ROOT, 'README.md')].map(rel))('%s points at nothing outside the repository', (page) => {
    const found = proseLines(join(ROOT, page)).flatMap(({ line, text }) => outsideRefs(text).map((w) => `${page}:${line}: ${w}`));
    expect(found).toEqual([]);
  });

  it.each([...PAGES, join(ROOT, 'README.md')].map(rel))('%s: every relative link and docs/ pointer lands on a file and heading', (page) => {
    const path = join(ROOT, page);
    const problems: string[] = [];
    for (const { line, text } of proseLines(path)) {
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const [file = '', anchor] = target.split('#');
        const dest = file === '' ? path : resolve(dirname(path), file);
        if (!existsSync(dest)) problems.push(`${page}:${line}: ${target}: no such file`);
        else if (anchor !== undefined && dest.endsWith('.md') && !hasAnchor(dest, anchor))
          problems.push(`${page}:${line}: ${target}: no heading '#${anchor}'`);
      }
      for (const p of docPointerProblems(text)) problems.push(`${page}:${line}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  it.each([...PAGES.filter((p) => p.includes('/docs/')), join(ROOT, 'README.md')].map(rel))(
    '%s: every repository path it names exists',
    (page) => {
      const missing: string[] = [];
      for (const { line, text } of proseLines(join(ROOT, page))) {
        for (const m of text.matchAll(/`((?:src|harness|test|bench|scripts|fixtures|scenarios|docs|bin)\/[^`\s]*)`/g)) {
          const p = m[1]!.replace(/[.,:;]$/, '').split('#')[0]!;
          if (/[<>*…]|NAME/.test(p)) continue;
          if (!existsSync(join(ROOT, p))) missing.push(`${page}:${line}: ${p}`);
        }
      }
      expect(missing).toEqual([]);
    },
  );
});

describe('docs/cli.md covers the CLI', () => {
  it('has a section for every command and names every option', async () => {
    const ctx: CliContext = { io: { stdout: { write: () => true }, stderr: { write: () => true } }, exitCode: 0 };
    const program = new Command('cellbudget');
    for (const c of commands) (await c.load())(program, ctx);
    const page = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    const anchors = anchorsOf(join(ROOT, 'docs', 'cli.md'));
    const missing: string[] = [];
    for (const sub of program.commands) {
      if (!anchors.has(sub.name())) missing.push(`## ${sub.name()}`);
      for (const option of sub.options) {
        const flag = option.long ?? option.short ?? '';
        if (!page.includes(`\`${flag}`) && !page.includes(` ${flag} `) && !page.includes(`${flag}\``))
          missing.push(`${sub.name()} ${flag}`);
      }
    }
    expect(program.commands.length).toBeGreaterThanOrEqual(9);
    expect(missing).toEqual([]);
  });
});

it('the pages it checks are files', () => {
  for (const p of PAGES) expect(statSync(p).isFile()).toBe(true);
});
