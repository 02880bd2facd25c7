/**
 * OpenMetrics rendering that leaves the Prometheus text untouched.
 *
 * prom-client renders OpenMetrics only from a registry created with that content type, and while doing so
 * it renames counters in place (strips `_total`), which would break every later Prometheus-format scrape.
 * So each OpenMetrics render goes through a throwaway registry of read-only views over the real metrics.
 */
import {
  type Metric,
  type MetricObjectWithValues,
  type MetricValue,
  type OpenMetricsContentType,
  Registry,
} from 'prom-client';

interface MetricView {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  get(): Promise<MetricObjectWithValues<MetricValue<string>>>;
}

/** Renders `registry` in the OpenMetrics 1.0 text format. */
export async function renderOpenMetrics(registry: Registry): Promise<string> {
  const view = new Registry<OpenMetricsContentType>();
  view.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const metric of registry.getMetricsAsArray() as unknown as Metric[]) {
    view.registerMetric(viewOf(metric) as unknown as Metric);
  }
  return view.metrics();
}

function viewOf(metric: Metric): MetricView {
  const source = metric as unknown as MetricView;
  const counter = source.type === 'counter';
  const strip = (name: string) => (counter ? name.replace(/_total$/, '') : name);
  return {
    name: strip(source.name),
    help: source.help,
    type: source.type,
    aggregator: source.aggregator,
    async get() {
      const value = await metric.get();
      return { ...value, name: strip(value.name) } as MetricObjectWithValues<MetricValue<string>>;
    },
  };
}
