/** The environment-variable section of `ws-manager --help`, generated from the VARIABLES table. */
import { VARIABLES } from './variables.js';

/** Renders every variable with its default and meaning, one block per variable. */
export function configUsage(): string {
  const width = Math.max(...VARIABLES.map((v) => v.env.length)) + 2;
  const lines: string[] = [
    'Environment variables (validated at start; a bad or empty value stops the process, unset means default):',
    '',
  ];
  for (const v of VARIABLES) {
    lines.push(`  ${v.env.padEnd(width)}${v.description}`);
    lines.push(`  ${''.padEnd(width)}default: ${formatDefault(v.default)}; expected: ${v.expected}`);
  }
  return lines.join('\n');
}

/** How a default is shown in `--help` and docs/configuration.md. */
export function formatDefault(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
