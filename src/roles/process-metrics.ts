/**
 * The process metrics of a role's registry: prom-client's defaults, less those whose scrape costs the
 * event loop time in proportion to the process's sockets or to its event-loop histogram, which a
 * gateway holding thousands of clients cannot afford on every scrape.
 *
 * Measured in one process holding 18,000 sockets (9,000 loopback connections), per scrape, all on the
 * event loop: listing /proc/self/fd for `process_open_fds` 39 ms, `process._getActiveHandles()` for
 * `nodejs_active_handles` 8.5 ms, `process.getActiveResourcesInfo()` for `nodejs_active_resources`
 * 3.2 ms; prom-client's default registry took 68 ms a scrape there. With few sockets, the standard
 * deviation of the event-loop histogram alone took about 0.47 ms (Node walks every bucket up to the
 * largest delay recorded), half of a 10,000-stream scrape's cost.
 *
 * So:
 * - `process_open_fds` reads the size the kernel reports for /proc/self/fd (its count of open files,
 *   Linux 6.2 and later), and lists the directory off the event loop on kernels that report 0;
 * - the event-loop family keeps its names, read from a histogram of this module, without
 *   `nodejs_eventloop_lag_stddev_seconds`;
 * - the active handles, requests and resources families are not exported: `ws_gateway_clients`,
 *   `ws_manager_active_connections` and `process_open_fds` say what they would, at no cost per socket.
 */
import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

const FD_DIRECTORY = '/proc/self/fd';

/** prom-client defaults this module leaves out or replaces (both spellings of the active-* families). */
const LEFT_OUT = [
  'process_open_fds',
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
] as const;

/** The histogram's sampling period, prom-client's default. */
const LOOP_RESOLUTION_MS = 10;

/**
 * prom-client's own event-loop histogram keeps sampling once its gauges are removed (it has no off
 * switch); it is read by nothing, so it samples once a minute instead of every 10 ms.
 */
const UNREAD_HISTOGRAM_RESOLUTION_MS = 60_000;

/** A registry with the process metrics described above. */
export function processMetricsRegistry(registry: Registry = new Registry()): Registry {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: UNREAD_HISTOGRAM_RESOLUTION_MS });
  for (const name of LEFT_OUT) registry.removeSingleMetric(name);
  addOpenFilesGauge(registry);
  addEventLoopGauges(registry);
  return registry;
}

function addOpenFilesGauge(registry: Registry): void {
  new Gauge({
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    registers: [registry],
    // The size is read at once (a scrape that waited a turn for it would wait on the turns' other
    // work too); only where it is 0 does the listing go off the event loop.
    collect() {
      const size = openFilesSize();
      if (size === undefined) return;
      if (size > 0) {
        this.set(size);
        return;
      }
      return readdir(FD_DIRECTORY).then(
        // The listing includes the descriptor it reads the directory with.
        (names) => this.set(names.length - 1),
        () => undefined,
      );
    },
  });
}

/** The size the kernel gives /proc/self/fd (its open files; 0 before Linux 6.2), or undefined without /proc. */
function openFilesSize(): number | undefined {
  try {
    return statSync(FD_DIRECTORY).size;
  } catch {
    return undefined;
  }
}

function addEventLoopGauges(registry: Registry): void {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  histogram.enable();
  // Registered first: a scrape reads the gauges in registration order, and this one's collect sets the
  // others from the histogram since the previous scrape, then starts the next window. The lag itself is
  // the time until this turn's immediate runs, set for the next scrape.
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers: [registry],
    collect() {
      const start = process.hrtime.bigint();
      setImmediate(() => this.set(Number(process.hrtime.bigint() - start) / 1e9));
      if (histogram.count === 0) return;
      for (const [gauge, read] of readings) gauge.set(read(histogram) / 1e9);
      histogram.reset();
    },
  });
  const readings = LOOP_READINGS.map(
    ([suffix, help, read]) =>
      [
        new Gauge({ name: `nodejs_eventloop_lag_${suffix}_seconds`, help, registers: [registry] }),
        read,
      ] as const,
  );
}

/** The event-loop family's gauges: name suffix, help, and the histogram reading in nanoseconds. */
const LOOP_READINGS: ReadonlyArray<readonly [string, string, (h: IntervalHistogram) => number]> = [
  ['min', 'The minimum recorded event loop delay.', (h) => h.min],
  ['max', 'The maximum recorded event loop delay.', (h) => h.max],
  ['mean', 'The mean of the recorded event loop delays.', (h) => h.mean],
  ['p50', 'The 50th percentile of the recorded event loop delays.', (h) => h.percentile(50)],
  ['p90', 'The 90th percentile of the recorded event loop delays.', (h) => h.percentile(90)],
  ['p99', 'The 99th percentile of the recorded event loop delays.', (h) => h.percentile(99)],
];
