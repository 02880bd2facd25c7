/**
 * The REST base URL that publishes the history of a market-data WebSocket endpoint, so gaps can be
 * refilled from it. Binance spot streams (`stream.binance.com`, any port) pair with `api.binance.com`,
 * the market-data-only `data-stream.binance.vision` with `data-api.binance.vision`, the testnet with
 * itself; a plain `ws://` endpoint (the simulator, a local gateway) serves REST on the same host and port.
 */
const KNOWN: Readonly<Record<string, string>> = {
  'stream.binance.com': 'https://api.binance.com',
  'data-stream.binance.vision': 'https://data-api.binance.vision',
  'testnet.binance.vision': 'https://testnet.binance.vision',
  'stream.testnet.binance.vision': 'https://testnet.binance.vision',
};

/** The REST base for a WebSocket base URL, or undefined when none is known. */
export function restBaseFor(wsUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(wsUrl);
  } catch {
    return undefined;
  }
  const known = KNOWN[url.hostname];
  if (known !== undefined) return known;
  if (url.protocol === 'ws:') return `http://${url.host}`;
  return undefined;
}
