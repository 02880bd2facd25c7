import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { parseSimulateArgs, simulateCommand, simulateUsage } from '../../src/simulator/command.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait-for.js';
import { connect } from './helpers.js';

describe('ws-manager simulate', () => {
  it('prints where it listens, serves streams, and stops on SIGTERM', async () => {
    const lines: string[] = [];
    const running = simulateCommand(
      ['--port', '0', '--symbols', 'btcusdt,ethusdt', '--rate', '20', '--seed', '3'],
      {
        print: (line) => lines.push(line),
      },
    );
    await waitFor('the start-up lines', () => lines.length >= 4, 5000);
    const url = /listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(lines[0]!)?.[1];
    assert.ok(url, lines[0]);
    assert.match(lines[2]!, /http:\/\/127\.0\.0\.1:\d+\/stats/);
    assert.match(lines[3]!, /symbols btcusdt,ethusdt, rate 20\/s per stream, seed 3/);
    const c = await connect(`${url}/ws/ethusdt@trade`);
    await c.next((m) => m['s'] === 'ETHUSDT');
    // The listener the command installed handles the signal; the test process is not signalled.
    process.emit('SIGTERM', 'SIGTERM');
    await running;
    assert.equal(lines.at(-1), 'ws-manager simulator stopped');
    assert.equal((await c.done).code, 1001);
    assert.equal(process.listenerCount('SIGTERM'), 0);
  });

  it('stops when its abort signal fires', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const running = simulateCommand(['--port', '0', '--rate', 'max'], {
      print: (l) => lines.push(l),
      signal: controller.signal,
    });
    await waitFor('the start-up lines', () => lines.length >= 4);
    assert.match(lines[3]!, /rate max, seed 1/);
    controller.abort();
    await running;
    assert.equal(process.listenerCount('SIGINT'), 0);
  });

  it('prints the usage for --help', async () => {
    const lines: string[] = [];
    await simulateCommand(['--help'], { print: (l) => lines.push(l) });
    assert.deepEqual(lines, [simulateUsage]);
    assert.match(simulateUsage, /--port <n>/);
  });

  it('rejects bad flags with a one-line ConfigError naming the flag and value', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--port', 'abc'], /^ws-manager simulate: --port must be an integer from 0 to 65535, received "abc"$/],
      [['--port', '70000'], /--port must be an integer/],
      [
        ['--rate', 'fast'],
        /^ws-manager simulate: --rate must be a number above 0 .* or "max", received "fast"$/,
      ],
      [['--rate', '0'], /--rate must be/],
      [
        ['--symbols', 'btcusdt,ETHUSDT'],
        /--symbols must be lowercase symbols separated by commas, received "ETHUSDT"$/,
      ],
      [['--seed', '1.5'], /--seed must be an integer/],
      [['--colour', 'red'], /^ws-manager simulate: Unknown option '--colour'/],
      [['serve'], /^ws-manager simulate: Unexpected argument 'serve'/],
      [['--port'], /^ws-manager simulate: Option '--port <value>' argument missing/],
    ];
    for (const [argv, message] of cases) {
      await assert.rejects(simulateCommand(argv, { print: () => {} }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.code, 'WS_ERR_INVALID_CONFIG');
        assert.match(error.message, message);
        assert.equal(error.message.includes('\n'), false);
        return true;
      });
    }
    assert.deepEqual(parseSimulateArgs([]), { port: 9443 });
  });

  it('reports a port that is already taken', async () => {
    const taken = await startSimulator();
    try {
      await assert.rejects(simulateCommand(['--port', String(taken.port)], { print: () => {} }), {
        name: 'ConfigError',
        message: `ws-manager simulate: port ${taken.port} is already in use on 127.0.0.1`,
      });
    } finally {
      await taken.close();
    }
  });
});
