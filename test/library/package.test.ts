/**
 * The package as a user gets it: `npm pack`, unpacked into a fresh project's node_modules with only the
 * runtime dependencies beside it (no @types/ws), then a strict `tsc` (skipLibCheck: false) over code
 * using the API, the README example run against a local simulator, and `ws-manager --version`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

let project: string;
let files: string[];

before(async () => {
  project = mkdtempSync(join(tmpdir(), 'ws-manager-consumer-'));
  // `npm pack` runs the build (prepare) and lists the tarball's files as JSON.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  files = packed[0]!.files.map((f) => f.path);
  const installed = join(project, 'node_modules', 'ws-manager');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(project, packed[0]!.filename), '-C', installed, '--strip-components=1']);
  for (const dep of Object.keys(pkg.dependencies)) {
    const target = join(project, 'node_modules', dep);
    mkdirSync(dirname(target), { recursive: true }); // a scoped name (@scope/pkg) needs its scope folder
    symlinkSync(realpathSync(join(root, 'node_modules', dep)), target);
  }
  mkdirSync(join(project, 'node_modules', '@types'));
  symlinkSync(
    realpathSync(join(root, 'node_modules/@types/node')),
    join(project, 'node_modules/@types/node'),
  );
  writeFileSync(join(project, 'package.json'), '{"name":"consumer","private":true}\n');
});
after(() => rmSync(project, { recursive: true, force: true }));

describe('the packed library', () => {
  it('carries the build, README, LICENSE and docs, and no tests, benches or manifests', () => {
    for (const f of [
      'LICENSE',
      'README.md',
      'package.json',
      'docs/manager.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
    ]) {
      assert.ok(files.includes(f), f);
    }
    const stray = files.filter(
      (f) => !/^(dist\/src\/|docs\/[^/]+\.(md|png)$|README\.md$|LICENSE$|package\.json$)/.test(f),
    );
    assert.deepEqual(stray, []);
  });

  it('type-checks strictly in a consumer without @types/ws, with payload types from stream names', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          types: ['node'],
        },
        files: ['typed.mts'],
      }),
    );
    writeFileSync(
      join(project, 'typed.mts'),
      [
        "import { createLogger, type KlineEvent, startGateway, startSimulator, WSManager } from 'ws-manager';",
        "const manager = new WSManager({ url: 'ws://127.0.0.1:1', logger: createLogger({ level: 'warn' }) });",
        "manager.subscribe('btcusdt@trade', (t) => t.p.length);",
        "manager.subscribe('btcusdt@kline_1m', { next: (k: KlineEvent) => k.k.x });",
        'void [startGateway, startSimulator];',
        '',
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', project]).catch((e: { stdout: string }) => e);
    assert.equal(result.stdout, '', result.stdout);
  });

  it('prints its version', async () => {
    const bin = join(project, 'node_modules', 'ws-manager', 'dist', 'src', 'cli.js');
    const { stdout } = await run(process.execPath, [bin, '--version']);
    assert.equal(stdout, `${pkg.version}\n`);
  });

  describe('the README example', () => {
    let sim: Simulator;
    before(async () => {
      sim = await startSimulator({ host: '127.0.0.1', port: 0, rate: 20 });
    });
    after(() => sim.close());

    it('runs as written against a simulator and ends by itself', async () => {
      const readme = readFileSync(join(root, 'README.md'), 'utf8');
      const section = readme.slice(readme.indexOf('## Using the library'));
      const example = /```js\n([\s\S]*?)```/.exec(section)?.[1];
      assert.ok(example, 'a js example in the library section');
      writeFileSync(join(project, 'main.mjs'), example);
      const { stdout } = await run(process.execPath, ['main.mjs'], {
        cwd: project,
        env: { PATH: process.env['PATH'] ?? '', UPSTREAM_URL: sim.url },
        timeout: 30_000,
      });
      const trades = stdout.split('\n').filter((l) => /^trade \d+: [\d.]+ at [\d.]+$/.test(l));
      assert.equal(trades.length, 5, stdout);
    });
  });
});
