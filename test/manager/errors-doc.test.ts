import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ErrorCodes } from '../../src/errors.js';

test('docs/errors.md lists exactly the codes of src/errors.ts', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(WS_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));
  const defined = new Set(Object.values(ErrorCodes));
  assert.deepEqual([...documented].sort(), [...defined].sort());
});
