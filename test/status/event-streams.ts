/** Status page event streams held open from addresses of their own, for the slot tests. */
import { type IncomingMessage, request } from 'node:http';

/** An event stream opened from an address of its own: held unread if served, else the refusal. */
export type Opened =
  | { readonly status: 200; readonly res: IncomingMessage }
  | { readonly status: number; readonly headers: IncomingMessage['headers']; readonly body: string };

/**
 * Opens an event stream from `from`. A served one is never read: its response is paused once the head
 * arrived, so the socket stops reading as soon as its buffers fill.
 */
export function openEvents(base: string, from: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api/ws/status/events`, { agent: false, localAddress: from }, (res) => {
      if (res.statusCode === 200) {
        res.pause();
        resolve({ status: 200, res });
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens and holds an event stream from `from`; rejects when it is refused. */
export async function holdEvents(base: string, from: string): Promise<IncomingMessage> {
  const opened = await openEvents(base, from);
  if ('res' in opened) return opened.res;
  throw new Error(`refused with ${opened.status}`);
}
