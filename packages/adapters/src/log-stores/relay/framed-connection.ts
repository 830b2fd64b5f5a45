import type { Socket } from 'node:net';
import { LogStoreError } from '@ordo/core';
import { encodeFrame, FrameDecoder, type FrameLimits } from './frame-codec.js';
import { parseRelayMessage, type RelayMessage } from './relay-messages.js';

export interface FramedConnectionLimits extends FrameLimits {
  /**
   * The most bytes a connection may hold unsent. A peer that reads slower than the leader
   * appends would otherwise make it buffer without bound; past this the connection closes and
   * the peer settles what it had pending like any broken link.
   */
  readonly writeBufferBytesMax: number;
}

export interface FramedConnectionEvents {
  /** Each message of a well-formed frame, in order, until the connection closes. */
  readonly onMessage: (message: RelayMessage) => void;
  /** Once, when the connection closed: with the reason, or undefined when it closed in order. */
  readonly onClose: (reason: Error | undefined) => void;
}

/**
 * A TCP connection of the relay, carrying framed messages both ways. Whatever breaks it (the
 * peer, a socket error, a malformed or oversized frame, a handler that throws, a full write
 * buffer) closes it for good and reports the reason once: after `onClose` no message of it is
 * ever handed on, which is what lets a leader promise that commits it did not see from a
 * closed link will never be admitted.
 */
export class FramedConnection {
  private readonly decoder: FrameDecoder;
  private closedReason: { error: Error | undefined } | undefined;
  /** Frames waiting for `flushTimer` or the next frame sent at once, and their bytes. */
  private deferred: Buffer[] = [];
  private deferredBytes = 0;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** When a frame last arrived, from `Date.now()`. */
  lastHeardAt = Date.now();

  constructor(
    readonly socket: Socket,
    private readonly limits: FramedConnectionLimits,
    private readonly events: FramedConnectionEvents,
  ) {
    this.decoder = new FrameDecoder(limits);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1_000);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', (error) => this.close(new LogStoreError({ store: limits.store, message: `relay connection failed: ${error.message}`, cause: error })));
    socket.on('close', () => this.close(undefined));
    socket.on('end', () => this.close(undefined));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Sends one message. Throws `LogStoreError` ('not-written') when it is too large to frame. */
  send(message: RelayMessage): void {
    this.sendFrame(encodeFrame(message, this.limits));
  }

  /**
   * Sends a frame encoded once for many connections, after the deferred ones. Dropped when the
   * connection is closed.
   */
  sendFrame(frame: Buffer): void {
    if (this.closed || !this.fits(frame.length)) return;
    if (this.deferred.length === 0) {
      this.socket.write(frame);
      return;
    }
    this.deferred.push(frame);
    this.deferredBytes += frame.length;
    this.flush();
  }

  /**
   * Sends a frame within `delayMs`, together with the frames deferred meanwhile and before the
   * next frame sent at once: one write and one wake-up of the peer for several frames, in order.
   */
  defer(frame: Buffer, delayMs: number): void {
    if (this.closed) return;
    this.deferred.push(frame);
    this.deferredBytes += frame.length;
    if (!this.fits(0)) return;
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), delayMs);
      this.flushTimer.unref?.();
    }
  }

  /** Closes the connection (idempotent); `reason` says why, when it is a failure. */
  close(reason?: Error): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = { error: reason };
    this.dropDeferred();
    this.socket.destroy();
    this.events.onClose(reason);
  }

  private flush(): void {
    const frames = this.deferred;
    this.dropDeferred();
    if (this.closed || frames.length === 0) return;
    this.socket.cork();
    for (const frame of frames) this.socket.write(frame);
    this.socket.uncork();
  }

  private dropDeferred(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.deferred = [];
    this.deferredBytes = 0;
  }

  /** False, and the connection closes, when `bytes` more would pass writeBufferBytesMax. */
  private fits(bytes: number): boolean {
    if (this.socket.writableLength + this.deferredBytes + bytes <= this.limits.writeBufferBytesMax) return true;
    this.close(new LogStoreError({ store: this.limits.store, message: `relay peer does not read: more than writeBufferBytesMax (${this.limits.writeBufferBytesMax}) bytes wait to be sent` }));
    return false;
  }

  private received(chunk: Buffer): void {
    if (this.closed) return;
    this.lastHeardAt = Date.now();
    try {
      for (const value of this.decoder.push(chunk)) {
        if (this.closed) return;
        this.events.onMessage(parseRelayMessage(value, this.limits.store));
      }
    } catch (error) {
      this.close(error instanceof Error ? error : new LogStoreError({ store: this.limits.store, message: String(error) }));
    }
  }
}
