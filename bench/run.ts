/**
 * `npm run bench`: runs every bench/*.bench.ts but the soak in its own process, one after another (so
 * they do not compete for the two cores), prints their reports and writes them to docs/benchmarks.md.
 * `npm run bench -- <names>` runs only the benches whose file names contain one of the names.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  // The soak holds tens of thousands of sockets for minutes: it runs only when named (`npm run bench -- soak`).
  .filter((f) => (only.length === 0 ? !f.startsWith('soak') : only.some((o) => f.includes(o))))
  .sort();

const sections: string[] = [];
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, file)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(res.stdout ?? '');
  if (res.status !== 0) {
    failed++;
    process.stdout.write(`!! ${file} exited with ${res.status ?? res.signal}\n`);
  }
  sections.push(`## ${file}\n\n\`\`\`\n${(res.stdout ?? '').trim()}\n\`\`\`\n`);
}

if (only.length === 0) {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  const header =
    `# Benchmarks\n\nWritten by \`npm run bench\` on ${new Date().toISOString()}: ` +
    `node ${process.version}, ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB.\n` +
    'Every ratio compares with a baseline measured in the same run.\n\n';
  writeFileSync(join(here, '..', 'docs', 'benchmarks.md'), header + sections.join('\n'));
}
process.exitCode = failed ? 1 : 0;
