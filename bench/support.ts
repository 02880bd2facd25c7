/** What the benchmarks share: the median and percentiles they report, and a forked child's next message. */
import type { ChildProcess } from 'node:child_process';

/** The median (the mean of the two middle values for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The nearest-rank `p`th percentile of values sorted ascending; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The next IPC message of a forked child; rejects if the child closes first. */
export function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    // 'close', not 'exit': a large result may still be in the IPC pipe when 'exit' fires.
    const onClose = (code: number | null) => reject(new Error(`client process exited with ${code}`));
    child.once('close', onClose);
    child.once('message', (m) => {
      child.off('close', onClose);
      resolve(m as T);
    });
  });
}
