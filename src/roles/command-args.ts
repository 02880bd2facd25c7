/**
 * The argument rule every long-running command shares: settings come from environment variables, so
 * the only argument is `--help`. Returns true when the command should not start (help printed, or an
 * unknown argument reported with exit code 2).
 */
export function handledArguments(command: string, argv: string[], usage: string): boolean {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return true;
  }
  const unknown = argv.find((a) => a.length > 0);
  if (unknown === undefined) return false;
  process.stderr.write(
    `ws-manager ${command}: unknown argument ${JSON.stringify(unknown)} (settings come from environment variables; see --help)\n`,
  );
  process.exitCode = 2;
  return true;
}
