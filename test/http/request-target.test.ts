/** The one parser of request targets, which the router, the upgrade paths and the simulator share. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestTarget } from '../../src/http/request-target.js';

describe('parseRequestTarget', () => {
  it('reads an origin-form target against a fixed origin, so `//x` is a path and never a host', () => {
    const cases: [string, string, string][] = [
      ['/', '/', ''],
      ['/api/ws/metrics?format=prometheus', '/api/ws/metrics', '?format=prometheus'],
      ['//api/ws/metrics', '//api/ws/metrics', ''],
      ['//x', '//x', ''],
      ['/ws/btcusdt%40trade', '/ws/btcusdt%40trade', ''],
      ['/stream?streams=a/b', '/stream', '?streams=a/b'],
      ['/stream/', '/stream/', ''],
    ];
    for (const [target, pathname, search] of cases) {
      const url = parseRequestTarget(target);
      assert.deepEqual([url?.pathname, url?.search], [pathname, search], target);
    }
    assert.equal(parseRequestTarget(undefined)?.pathname, '/');
  });

  it('reads an absolute-form target as it is', () => {
    const url = parseRequestTarget('http://example.com:8080/api/v3/ping?x=1');
    assert.deepEqual([url?.host, url?.pathname, url?.search], ['example.com:8080', '/api/v3/ping', '?x=1']);
  });

  it('answers undefined for a target that is not a URL', () => {
    for (const target of ['', '*', 'ws', 'http://[/ws'])
      assert.equal(parseRequestTarget(target), undefined, target);
  });
});
