/**
 * Packs streams onto upstream connections, up to `maxStreamsPerConnection` each (Binance: "A single
 * connection can listen to a maximum of 1024 streams") and, where the venue counts them, up to
 * `argCharsPerConnection` characters of stream names each (Bybit: 21,000), opening a connection when all
 * are full and closing one as soon as it carries nothing. Where the venue serves streams on several
 * endpoints (`Exchange.endpoints.routeOf`), a connection carries streams of one endpoint only.
 *
 * Which connection carries a stream is kept by the caller (the manager's stream registry, in the
 * stream's entry), not in a table here: `add` returns it and `remove` is given it back.
 */
import { type CloseReason, type ConnectionContext, UpstreamConnection } from './upstream-connection.js';

export class ConnectionPool {
  private readonly connections: UpstreamConnection[] = [];
  /** Closes started by `drop` and not finished yet, so `closeAll` can wait for them too. */
  private readonly closing = new Set<Promise<void>>();
  /** Characters of stream names each connection carries, kept only when the venue caps them. */
  private readonly chars = new Map<UpstreamConnection, number>();
  /** The endpoint of each connection, kept only when the venue has several. */
  private readonly routes = new Map<UpstreamConnection, string>();
  private nextId = 1;

  private readonly argCharsPerConnection: number | undefined;
  private readonly routeOf: ((stream: string) => string) | undefined;

  constructor(
    private readonly ctx: ConnectionContext,
    private readonly maxStreamsPerConnection: number,
  ) {
    this.argCharsPerConnection = ctx.options.exchange.limits.argCharsPerConnection;
    this.routeOf = ctx.options.exchange.endpoints.routeOf;
  }

  get size(): number {
    return this.connections.length;
  }

  all(): readonly UpstreamConnection[] {
    return this.connections;
  }

  /** Carries `stream` (not carried yet) on the first connection with room, or on a new one; returns it. */
  add(stream: string): UpstreamConnection {
    const cap = this.argCharsPerConnection;
    const route = this.routeOf?.(stream);
    let target = this.connections.find(
      (c) =>
        c.wanted.size < this.maxStreamsPerConnection &&
        c.state !== 'failed' &&
        c.state !== 'closed' &&
        (cap === undefined || (this.chars.get(c) ?? 0) + stream.length <= cap) &&
        (route === undefined || this.routes.get(c) === route),
    );
    if (target === undefined) {
      const { options } = this.ctx;
      const url =
        route === undefined
          ? options.streamUrl
          : options.exchange.endpoints.connectionUrl(options.url, route);
      target = new UpstreamConnection(`c${this.nextId++}`, this.ctx, undefined, url);
      this.connections.push(target);
      if (route !== undefined) this.routes.set(target, route);
    }
    if (cap !== undefined) this.chars.set(target, (this.chars.get(target) ?? 0) + stream.length);
    target.add(stream);
    return target;
  }

  /**
   * Stops carrying `stream` on `connection` (what `add` returned); a connection left empty closes. A
   * connection dropped already (failed for good, or all closed) carries nothing any more.
   */
  remove(stream: string, connection: UpstreamConnection): void {
    if (connection.state === 'closed') return;
    if (this.argCharsPerConnection !== undefined)
      this.chars.set(connection, (this.chars.get(connection) ?? 0) - stream.length);
    connection.remove(stream);
    if (connection.wanted.size === 0) void this.drop(connection, 'no_streams');
  }

  /** Removes a connection (empty, or failed for good) and closes it. */
  drop(connection: UpstreamConnection, reason: CloseReason): Promise<void> {
    const i = this.connections.indexOf(connection);
    if (i >= 0) this.connections.splice(i, 1);
    this.chars.delete(connection);
    this.routes.delete(connection);
    const closed = connection.close(reason);
    this.closing.add(closed);
    void closed.finally(() => this.closing.delete(closed));
    return closed;
  }

  /** Closes every connection; resolves once every socket, including those of connections dropped earlier, has closed. */
  async closeAll(reason: CloseReason): Promise<void> {
    for (const connection of [...this.connections]) void this.drop(connection, reason);
    await Promise.all([...this.closing]);
  }
}
