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

/** Corks a WebSocket's socket until the current operation and its microtasks have finished. */
export class TurnCork {
  private corked: Socket | undefined;
  private readonly release = (): void => {
    const socket = this.corked;
    this.corked = undefined;
    socket?.uncork();
  };

  constructor(private readonly ws: WebSocket) {}

  /** Call before a send: the first call in a turn corks, and the socket is uncorked on the next tick. */
  hold(): void {
    if (this.corked !== undefined) return;
    const socket = tcpSocketOf(this.ws);
    if (socket === undefined) return;
    socket.cork();
    this.corked = socket;
    process.nextTick(this.release);
  }
}
