/**
 * The simulator of bench/gateway.bench.ts in a process of its own, so that producing events (cheap at
 * rate 'max', timer-driven at a numeric rate) costs neither the floor nor the gateway any CPU, and both
 * sides read an upstream that behaves identically.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SIMULATOR_ENTRY = fileURLToPath(new URL('../src/simulator/index.ts', import.meta.url));

/** A running simulator child process. */
export interface SimulatorProcess {
  /** WebSocket base URL (`ws://127.0.0.1:<port>`). */
  readonly url: string;
  /** Ends the child (closing stdin asks it to close the simulator) and waits for it to exit. */
  close(): Promise<void>;
}

/** Starts `startSimulator(options)` in a child process; it exits when this process's stdin pipe closes. */
export async function startSimulatorProcess(options: {
  rate: number | 'max';
  seed?: number;
}): Promise<SimulatorProcess> {
  const script = `
    import { startSimulator } from ${JSON.stringify(SIMULATOR_ENTRY)};
    const sim = await startSimulator(${JSON.stringify(options)});
    console.log(JSON.stringify({ url: sim.url }));
    process.stdin.on('end', () => sim.close().then(() => process.exit(0)));
    process.stdin.resume();
  `;
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once('exit', (code) => reject(new Error(`simulator process exited with ${code}`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    async close() {
      child.stdin?.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}
