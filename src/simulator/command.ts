/** `ws-manager simulate`: runs the simulator in the foreground until SIGINT or SIGTERM. */
import { parseArgs } from 'node:util';
import { ConfigError, InvalidArgumentError } from '../core/errors.js';
import { isStreamSymbol } from '../exchange/binance/streams.js';
import { DEFAULT_RATE, DEFAULT_SEED, DEFAULT_SYMBOLS, MAX_NUMERIC_RATE } from './options.js';
import { startSimulator } from './simulator.js';
import type { SimulatorOptions } from './types.js';

export const DEFAULT_CLI_PORT = 9443;

export const simulateUsage = `Usage: ws-manager simulate [options]

Runs the Binance-compatible market-data simulator with fault injection in the foreground.

Options:
  --port <n>          port for WebSocket and control API, 0 = any free port (default ${DEFAULT_CLI_PORT})
  --host <address>    address to listen on (default 127.0.0.1)
  --symbols <a,b,..>  lowercase symbols of !miniTicker@arr (default ${DEFAULT_SYMBOLS.join(',')})
  --rate <n|max>      events per second per stream, or max = as fast as sockets drain (default ${DEFAULT_RATE})
  --seed <n>          seed of the deterministic data (default ${DEFAULT_SEED})
  -h, --help          show this help

WebSocket paths: /ws/<stream>, /ws, /stream?streams=<a>/<b>, /stream
Control API:     GET /stats, POST /faults/{drop,stall,refuse,malformed,latency,shutdown}
`;

/** Hooks for running the command in-process (tests); the CLI uses the defaults. */
export interface SimulateCommandIo {
  /** Receives each printed line. @default console.log */
  print?: (line: string) => void;
  /** Stops the simulator when aborted, as SIGINT/SIGTERM do. */
  signal?: AbortSignal;
}

function fail(message: string): never {
  throw new ConfigError(`ws-manager simulate: ${message}`);
}

function integerFlag(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    fail(`--${name} must be an integer from ${min} to ${max}, received "${text}"`);
  }
  return value;
}

/** Turns command-line flags into simulator options; throws ConfigError with a self-contained message. */
export function parseSimulateArgs(argv: string[]): SimulatorOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        symbols: { type: 'string' },
        rate: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    fail((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  if (values['help'] === true) return 'help';
  const options: SimulatorOptions = { port: DEFAULT_CLI_PORT };
  const { port, host, symbols, rate, seed } = values as Record<string, string | undefined>;
  if (port !== undefined) options.port = integerFlag('port', port, 0, 65_535);
  if (host !== undefined) {
    if (host === '') fail('--host must not be empty');
    options.host = host;
  }
  if (symbols !== undefined) {
    const list = symbols.split(',').map((s) => s.trim());
    const bad = list.find((s) => !isStreamSymbol(s));
    if (bad !== undefined) fail(`--symbols must be lowercase symbols separated by commas, received "${bad}"`);
    options.symbols = list;
  }
  if (rate !== undefined) {
    const n = Number(rate);
    if (rate !== 'max' && !(rate.trim() !== '' && n > 0 && n <= MAX_NUMERIC_RATE)) {
      fail(`--rate must be a number above 0 and at most ${MAX_NUMERIC_RATE}, or "max", received "${rate}"`);
    }
    options.rate = rate === 'max' ? 'max' : n;
  }
  if (seed !== undefined) options.seed = integerFlag('seed', seed, 0, 0xffff_ffff);
  return options;
}

/** Starts the simulator, prints where it listens, and resolves once it stopped on SIGINT, SIGTERM or `io.signal`. */
export async function simulateCommand(argv: string[], io: SimulateCommandIo = {}): Promise<void> {
  const print = io.print ?? ((line: string) => console.log(line));
  const parsed = parseSimulateArgs(argv);
  if (parsed === 'help') {
    print(simulateUsage);
    return;
  }
  const simulator = await startSimulator(parsed).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${parsed.host ?? '127.0.0.1'}:${parsed.port}`;
    if (code === 'EADDRINUSE') fail(`port ${parsed.port} is already in use on ${where.split(':')[0]}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') fail(`cannot listen on ${where} (${code})`);
    if (error instanceof InvalidArgumentError) fail(error.message);
    throw error;
  });
  print(`ws-manager simulator listening on ${simulator.url}`);
  print(`  WebSocket:   ${simulator.url}/ws/<stream>  ${simulator.url}/stream?streams=<a>/<b>`);
  print(`  Control API: ${simulator.httpUrl}/stats  (POST ${simulator.httpUrl}/faults/...)`);
  print(
    `  symbols ${(parsed.symbols ?? DEFAULT_SYMBOLS).join(',')}, rate ${parsed.rate ?? DEFAULT_RATE}` +
      `${parsed.rate === 'max' ? '' : '/s per stream'}, seed ${parsed.seed ?? DEFAULT_SEED}; Ctrl-C stops it`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  await simulator.close();
  print('ws-manager simulator stopped');
}
