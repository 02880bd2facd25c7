#!/usr/bin/env node
/**
 * `ws-manager serve | simulate | ingest | --help`: the one executable of the project.
 * Without a command it serves, so `node dist/src/cli.js` alone starts the gateway.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './core/errors.js';
import { ingestCommand } from './roles/ingest-command.js';
import { serveCommand, serveUsage } from './roles/serve-command.js';
import { simulateCommand, simulateUsage } from './simulator/command.js';

const usage = `Usage: ws-manager <command> [options]

Commands:
  --version  print the version
  serve      run the gateway (default); configured by environment variables, listed below
  simulate   run the Binance-compatible market simulator alone (ws-manager simulate --help)
  ingest     run an ingest node of the clustered mode, publishing to NATS_URL (ws-manager ingest --help)

${serveUsage}`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'serve':
      return serveCommand(rest);
    case 'simulate':
      try {
        return await simulateCommand(rest);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`${error.message}\n\n${simulateUsage}`);
        process.exitCode = 2;
        return;
      }
    case '--version':
    case '-v':
      process.stdout.write(`${packageVersion()}\n`);
      return;
    case 'ingest':
      return ingestCommand(rest);
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(usage);
      return;
    default:
      process.stderr.write(`ws-manager: unknown command ${JSON.stringify(command)}\n\n${usage}`);
      process.exitCode = 2;
  }
}

/** The version in package.json: one level up from src/cli.ts, two from the built dist/src/cli.js. */
function packageVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'ws-manager' && typeof pkg.version === 'string') return pkg.version;
    } catch {}
  }
  return 'unknown';
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Anything reaching here is a defect, not a user error: say so in one line, keep the detail for logs.
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`ws-manager: unexpected failure: ${detail}\n`);
  process.exitCode = 1;
});
