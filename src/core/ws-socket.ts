/**
 * Write batching for `ws` connections. A server that sends many small frames per event-loop turn pays
 * one write system call per frame; corking the TCP socket under the WebSocket for the rest of the turn
 * sends the whole burst in one. `ws` keeps that socket in a private field, so access is guarded: when
 * the field is missing, frames are simply written one by one.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** The TCP socket under a WebSocket, or undefined when `ws` does not expose it. */
export function tcpSocketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

/**
 * Corks the sockets written to in one turn and uncorks them all on the next tick: one list and one
 * `nextTick` for every client of a server, instead of a callback per client per turn.
 */
export class TurnCorks {
  private corked: Socket[] = [];
  private readonly release = (): void => {
    const sockets = this.corked;
    this.corked = [];
    for (const socket of sockets) socket.uncork();
  };

  /** Call before a send: the first call in a turn corks the socket, uncorked on the next tick. */
  hold(ws: WebSocket): void {
    const socket = tcpSocketOf(ws);
    // `ws` corks and uncorks within one call, so a socket corked now was corked here this turn.
    if (socket === undefined || socket.writableCorked > 0) return;
    socket.cork();
    if (this.corked.push(socket) === 1) process.nextTick(this.release);
  }
}
