/**
 * The source tree's layering, checked on every run: lower layers never import the roles above them,
 * the gateway and the clustered mode do not import each other, the HTTP kit knows no feature, and only
 * the named wiring places name a venue's modules.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every relative import of every source file, as folder-relative paths (`gateway/x.ts` → `core/log.ts`). */
function imports(): { from: string; to: string }[] {
  const edges: { from: string; to: string }[] = [];
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const from = relative(src, file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(
      /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g,
    )) {
      if (spec === undefined) continue;
      edges.push({ from, to: relative(src, resolve(dirname(file), spec)) });
    }
  }
  return edges;
}

const edges = imports();
const top = (path: string): string => path.split('/')[0] ?? path;

function offending(fromFolders: readonly string[], toFolders: readonly string[]): string[] {
  return edges
    .filter((e) => fromFolders.includes(top(e.from)) && toFolders.includes(top(e.to)))
    .map((e) => `${e.from} → ${e.to}`);
}

test('the gateway and the clustered mode do not import each other', () => {
  assert.deepEqual(offending(['gateway'], ['cluster']), []);
  assert.deepEqual(offending(['cluster'], ['gateway']), []);
});

test('nothing below roles/ and cli.ts imports a role (gateway/, cluster/, roles/)', () => {
  const below = ['core', 'http', 'limits', 'exchange', 'manager', 'legacy', 'metrics', 'config', 'simulator'];
  assert.deepEqual(offending(below, ['gateway', 'cluster', 'roles']), []);
});

test('the HTTP kit and the core import no feature', () => {
  assert.deepEqual(
    offending(
      ['http', 'core', 'limits'],
      ['gateway', 'cluster', 'manager', 'legacy', 'exchange', 'simulator'],
    ),
    [],
  );
});

test("a venue's modules are named only by the exchange folder, the simulator and the wiring places", () => {
  const wiring = [
    'index.ts', // the package's exports: the Binance adapter and its payload types
    'manager/default-exchange.ts', // the adapter WSManager, the legacy source and the NATS source default to
    'gateway/start-gateway.ts', // the dialect the gateway serves
    'roles/start-ingest.ts', // the dialect of an ingest node's HTTP side
    'config/variables.ts', // the venue limits the gateway's client limits default to
  ];
  const naming = edges
    .filter((e) => e.to.startsWith('exchange/binance/'))
    .map((e) => e.from)
    .filter(
      (from) => !from.startsWith('exchange/') && !from.startsWith('simulator/') && !wiring.includes(from),
    );
  assert.deepEqual([...new Set(naming)], []);
});
