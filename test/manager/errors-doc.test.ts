import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  describeValue,
  ErrorCodes,
  InvalidArgumentError,
  invalidStreamError,
  StreamError,
  WsManagerError,
} from '../../src/core/errors.js';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

test('docs/errors.md lists exactly the codes of src/core/errors.ts', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(WS_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));
  const defined = new Set(Object.values(ErrorCodes));
  assert.deepEqual([...documented].sort(), [...defined].sort());
});

/** The codes the `ws` library gives its own errors (same prefix): the gateway matches on one of them. */
function wsLibraryCodes(): Set<string> {
  const lib = fileURLToPath(new URL('../../node_modules/ws/lib/', import.meta.url));
  const codes = new Set<string>();
  for (const file of readdirSync(lib)) {
    for (const m of readFileSync(join(lib, file), 'utf8').matchAll(/WS_ERR_[A-Z_]+/g)) codes.add(m[0]);
  }
  return codes;
}

test('codes are written only in src/core/errors.ts; comments name only documented codes', () => {
  const ours = new Set<string>(Object.values(ErrorCodes));
  const theirs = wsLibraryCodes();
  const strays: string[] = [];
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    if (path === join(src, 'core', 'errors.ts')) continue;
    for (const [, quote, code] of readFileSync(path, 'utf8').matchAll(/(['"`])(WS_ERR_[A-Z_]*)\1/g)) {
      // A literal must be one of ws's codes (ours are written as ErrorCodes.X); a comment must name ours.
      const known = quote === '`' ? ours.has(code!) : theirs.has(code!) && !ours.has(code!);
      if (!known) strays.push(`${path.slice(src.length)}: ${quote}${code}${quote}`);
    }
  }
  assert.deepEqual(strays, []);
});

test('every coded error is a WsManagerError; InvalidArgumentError stays a TypeError', () => {
  const argument = invalidStreamError('BTCUSDT@trade');
  const stream = new StreamError(ErrorCodes.DESTROYED, 'btcusdt@trade', 'destroyed');
  const config = new ConfigError('PORT=x is not valid: expected an integer');
  for (const error of [argument, stream, config]) assert.ok(error instanceof WsManagerError, error.name);
  assert.ok(argument instanceof TypeError && argument instanceof InvalidArgumentError);
  assert.equal(argument.code, ErrorCodes.INVALID_STREAM);
  assert.equal(config.code, ErrorCodes.INVALID_CONFIG);
  assert.ok(!(new TypeError('plain') instanceof WsManagerError));
  assert.ok(!(stream instanceof ConfigError), 'subclasses keep the ordinary instanceof');
  assert.ok(!(argument instanceof StreamError));
});

test('describeValue quotes a value on one short line', () => {
  assert.equal(describeValue('x'), '"x"');
  assert.equal(describeValue(1.5), '1.5');
  assert.equal(describeValue(undefined), 'undefined');
  assert.equal(
    describeValue(() => {}),
    'a function',
  );
  assert.equal(describeValue({ a: [1] }), '{"a":[1]}');
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  assert.equal(describeValue(cyclic), '[object Object]');
  const long = describeValue('y'.repeat(500));
  assert.equal(long.length, 121);
  assert.ok(long.endsWith('…'));
});
