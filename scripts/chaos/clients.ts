/**
 * Raw `ws` clients of the gateways, each on one trade or aggTrade stream, that record what they
 * receive: the exchange's id of every event (trade `t`, aggTrade `a`) and when it arrived. A client
 * whose gateway goes away reconnects at once to the next gateway, as behind a load balancer.
 */
import WebSocket from 'ws';

export interface StreamClient {
  readonly stream: string;
  /** Exchange ids in delivery order; `connectionStarts[i]` is the index of the first id of connection i. */
  readonly ids: number[];
  readonly connectionStarts: number[];
  /** Arrival time (ms) of every event, parallel to `ids`. */
  readonly arrivals: number[];
  /** Unparseable or id-less messages (the harness counts them rather than guessing). */
  readonly malformed: number;
  close(): Promise<void>;
}

const RECONNECT_DELAY_MS = 100;

export function openStreamClient(
  gatewayWsUrls: readonly string[],
  first: number,
  stream: string,
): StreamClient {
  const key = stream.endsWith('@aggTrade') ? '"a":' : '"t":';
  const ids: number[] = [];
  const arrivals: number[] = [];
  const connectionStarts: number[] = [];
  let malformed = 0;
  let closed = false;
  let ws: WebSocket | undefined;
  let gateway = first;
  let timer: NodeJS.Timeout | undefined;

  const connect = () => {
    const url = `${gatewayWsUrls[gateway % gatewayWsUrls.length]}/ws/${stream}`;
    const socket = new WebSocket(url);
    ws = socket;
    let opened = false;
    socket.on('open', () => {
      opened = true;
      connectionStarts.push(ids.length);
    });
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      // The id is a plain integer right after its key: read it without parsing the whole event.
      const at = text.indexOf(key);
      const id =
        at === -1 ? Number.NaN : Number.parseInt(text.slice(at + key.length, at + key.length + 20), 10);
      if (!Number.isSafeInteger(id)) {
        malformed++;
        return;
      }
      ids.push(id);
      arrivals.push(Date.now());
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (closed) return;
      // A refused or dropped connection tries the next gateway; a failed attempt waits a little more.
      gateway++;
      timer = setTimeout(connect, opened ? 0 : RECONNECT_DELAY_MS);
    });
  };
  connect();
  return {
    stream,
    ids,
    arrivals,
    connectionStarts,
    get malformed() {
      return malformed;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      const socket = ws;
      if (socket === undefined || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.terminate();
      });
    },
  };
}
