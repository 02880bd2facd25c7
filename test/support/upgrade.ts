/** How a server answers a WebSocket upgrade, seen by a real `ws` client. */
import WebSocket from 'ws';

export interface UpgradeAnswer {
  /** 101 when the upgrade was accepted, else the refusal's HTTP status. */
  readonly status: number;
  /** The refusal's `Retry-After` header, if any. */
  readonly retryAfter: string | undefined;
}

/** Opens an upgrade to `url` (with `headers`, e.g. an Origin) and closes it again once answered. */
export function upgradeRefusal(url: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (req, res) => {
      const header = res.headers['retry-after'];
      resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(header) ? header[0] : header });
      req.destroy();
    });
    ws.on('open', () => {
      resolve({ status: 101, retryAfter: undefined });
      ws.terminate();
    });
    ws.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** The HTTP status an upgrade to `url` gets: 101 when accepted. */
export async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return (await upgradeRefusal(url, headers)).status;
}
