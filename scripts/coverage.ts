/**
 * Runs a test command with V8 coverage on, then prints the line and function coverage of src/ and
 * fails when either is below its floor:
 *
 *   node --import tsx scripts/coverage.ts node --import tsx --test test/*\/*.test.ts
 *
 * Every process the tests start (gateway children, cluster nodes) writes its coverage too, as long as
 * it inherits the environment. V8 counts in the code tsx produced, so each count is carried back to
 * the TypeScript line through the source map Node keeps beside the coverage: a line is covered when
 * code mapped to it ran, a function when it was called. Files under src/ that no test loads are named
 * but not counted, as their executable lines are unknown without loading them. A failing test run
 * keeps its exit status; the floor is judged only for a passing one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Percent floors, below what the suite reaches, so a change that drops coverage is noticed. The
 * manager's tests alone reach 86 % of lines and 89 % of functions of the files they load.
 */
const FLOORS = { lines: 75, functions: 75 };

const root = resolve(import.meta.dirname, '..');
const srcPrefix = `${pathToFileURL(join(root, 'src')).href}/`;

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  url: string;
  functions: Array<{ functionName: string; ranges: Range[] }>;
}
interface SourceMapEntry {
  lineLengths: number[];
  data: { mappings: string };
}
interface CoverageFile {
  result: ScriptCoverage[];
  'source-map-cache'?: Record<string, SourceMapEntry>;
}

/** One mapping of generated code to a source line: generated offset, original line (0-based). */
interface Segment {
  offset: number;
  line: number;
}

interface FileTally {
  /** Original lines with code mapped to them, and whether any of it ran. */
  lines: Map<number, boolean>;
  /** Functions by the position they start at, and whether any process called them. */
  functions: Map<string, boolean>;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

/** Decodes a source map's mappings into segments ordered by generated offset. */
function segments(entry: SourceMapEntry): Segment[] {
  const out: Segment[] = [];
  let lineStart = 0;
  let originalLine = 0;
  const fields = [0, 0, 0, 0, 0];
  const lines = entry.data.mappings.split(';');
  for (let g = 0; g < lines.length; g++) {
    fields[0] = 0;
    for (const group of lines[g]!.split(',')) {
      if (group === '') continue;
      let field = 0;
      let value = 0;
      let shift = 0;
      for (const c of group) {
        const digit = DIGIT.get(c) ?? 0;
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
          continue;
        }
        fields[field] = (fields[field] ?? 0) + (value & 1 ? -(value >>> 1) : value >>> 1);
        field++;
        value = 0;
        shift = 0;
      }
      // A segment of one field maps to no source.
      if (field < 4) continue;
      originalLine = fields[2]!;
      out.push({ offset: lineStart + fields[0]!, line: originalLine });
    }
    lineStart += (entry.lineLengths[g] ?? 0) + 1;
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/** The original line of the first segment at or after `offset`. */
function lineAt(segs: Segment[], offset: number): number | undefined {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (segs[mid]!.offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return segs[lo]?.line;
}

function tally(script: ScriptCoverage, segs: Segment[], file: FileTally): void {
  // V8's ranges nest: the innermost one holding an offset gives its count. Ordered by start (the
  // enclosing range first), a stack of the open ranges has the innermost on top.
  const ranges = script.functions
    .flatMap((f) => f.ranges)
    .sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  const open: Range[] = [];
  let next = 0;
  for (const seg of segs) {
    while (next < ranges.length && ranges[next]!.startOffset <= seg.offset) open.push(ranges[next++]!);
    while (open.length > 0 && open[open.length - 1]!.endOffset <= seg.offset) open.pop();
    const ran = (open[open.length - 1]?.count ?? 0) > 0;
    file.lines.set(seg.line, (file.lines.get(seg.line) ?? false) || ran);
  }
  for (const f of script.functions) {
    const whole = f.ranges[0];
    // The module's own top-level function covers the whole file; it is not one of the file's functions.
    if (whole === undefined || whole.startOffset === 0) continue;
    const line = lineAt(segs, whole.startOffset);
    if (line === undefined) continue;
    const key = `${line}:${f.functionName}`;
    file.functions.set(key, (file.functions.get(key) ?? false) || whole.count > 0);
  }
}

function report(dir: string): boolean {
  const files = new Map<string, FileTally>();
  const decoded = new Map<string, Segment[]>();
  for (const name of readdirSync(dir)) {
    let coverage: CoverageFile;
    try {
      coverage = JSON.parse(readFileSync(join(dir, name), 'utf8')) as CoverageFile;
    } catch {
      // A process killed while writing its coverage leaves a partial file: its counts are lost.
      continue;
    }
    const maps = coverage['source-map-cache'] ?? {};
    for (const script of coverage.result) {
      if (!script.url.startsWith(srcPrefix)) continue;
      const map = maps[script.url];
      if (map === undefined) continue;
      const cacheKey = `${script.url}\n${map.data.mappings}`;
      const segs = decoded.get(cacheKey) ?? segments(map);
      decoded.set(cacheKey, segs);
      const file = files.get(script.url) ?? { lines: new Map(), functions: new Map() };
      files.set(script.url, file);
      tally(script, segs, file);
    }
  }
  const count = (pick: (f: FileTally) => Map<unknown, boolean>) => {
    let total = 0;
    let covered = 0;
    for (const f of files.values())
      for (const ran of pick(f).values()) {
        total++;
        if (ran) covered++;
      }
    return { total, covered, percent: total === 0 ? 0 : (100 * covered) / total };
  };
  const lines = count((f) => f.lines);
  const functions = count((f) => f.functions);
  const loaded = new Set([...files.keys()].map((url) => relative(root, new URL(url).pathname)));
  const unloaded = (readdirSync(join(root, 'src'), { recursive: true }) as string[])
    .map((p) => join('src', p))
    .filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts') && !loaded.has(p));
  const fmt = (m: typeof lines) => `${m.percent.toFixed(2)} % (${m.covered}/${m.total})`;
  console.log(`coverage of src/ (${loaded.size} files): lines ${fmt(lines)}, functions ${fmt(functions)}`);
  // Type-only modules are erased by the compiler, so they are listed here too.
  if (unloaded.length > 0) console.log(`src files no test ran: ${unloaded.sort().join(', ')}`);
  let ok = true;
  for (const [name, m] of [
    ['lines', lines],
    ['functions', functions],
  ] as const) {
    if (m.percent < FLOORS[name]) {
      console.error(`coverage of ${name} ${m.percent.toFixed(2)} % is below the floor of ${FLOORS[name]} %`);
      ok = false;
    }
  }
  return ok;
}

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  console.error('usage: coverage.ts <test command> [args...]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'ws-manager-coverage-'));
try {
  const run = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, NODE_V8_COVERAGE: dir } });
  const covered = report(dir);
  // A failing test run keeps its own exit status; the floor is judged only for a passing one.
  process.exitCode = run.status !== 0 ? (run.status ?? 1) : covered ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
