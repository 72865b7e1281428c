import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { DecodeError } from '../pdu/errors.js';
import type { PduHint } from '../pdu/tpkt.js';
import { TransportError, describe, fromSocketError, quietTransportError } from './errors.js';
import type { TlsHandshakeSlots } from './handshake-slots.js';
import {
  clientConnectOptions,
  reasonOf,
  serverContextOptions,
  tlsError,
  tlsInfoOf,
  type TlsClientOptions,
  type TlsInfo,
  type TlsServerOptions,
} from './tls-info.js';

export type { TlsClientOptions, TlsInfo, TlsServerOptions } from './tls-info.js';

/**
 * The largest PDU we read by default: a TPKT length is 16 bits, and a CredSSP TSRequest or a
 * licensing PDU stays well below; a little headroom for the fast-path and future framings.
 */
export const DEFAULT_MAX_PDU_SIZE = 64 * 1024 + 1024;
/** How long a write may wait for the kernel to take the bytes. */
export const DEFAULT_WRITE_TIMEOUT_MS = 10_000;
/** How long close() waits for the peer's FIN before destroying the socket. */
export const DEFAULT_CLOSE_GRACE_MS = 1_000;

export interface ConnectOptions {
  /** covers the DNS lookup and the TCP handshake */
  timeoutMs: number;
  /** phase named in errors; 'connect' by default */
  phase?: string;
}

export interface ReadOptions {
  /** one deadline for the whole PDU, however many chunks it takes */
  timeoutMs: number;
  /** a PDU declaring more than this is 'oversized' (default DEFAULT_MAX_PDU_SIZE) */
  maxSize?: number;
  /** phase named in errors; the hint's name by default */
  phase?: string;
}

export interface WriteOptions {
  timeoutMs?: number;
  phase?: string;
}

const EMPTY = Buffer.alloc(0);

/**
 * Server secure contexts by options object: a listener passes the same options for every
 * connection, and parsing the key and certificate again each time was the largest cost of a
 * TLS handshake in bench/serve (about 2 ms of 7).
 */
const secureContexts = new WeakMap<TlsServerOptions, tls.SecureContext>();
/**
 * Our own certificate's subjectPublicKey by secure context, read at its first handshake: the
 * server-side TlsInfo needs it (CredSSP binds to it), and reading it from getCertificate() for
 * every connection built the whole certificate object with its fingerprints (~4 KiB allocated
 * per TLS handshake, sampled in bench/serve).
 */
const ownKeys = new WeakMap<tls.SecureContext, Buffer>();
function serverSecureContext(opts: TlsServerOptions): tls.SecureContext {
  let ctx = secureContexts.get(opts);
  if (!ctx) {
    ctx = tls.createSecureContext(serverContextOptions(opts));
    secureContexts.set(opts, ctx);
  }
  return ctx;
}
const ignore = (): void => {};

/**
 * A TCP connection (later TLS over it) read one framed PDU at a time.
 *
 * The socket is used in paused mode: bytes stay in the stream (backpressure to the peer) until
 * a read pulls them, so a peer cannot make us buffer more than a PDU and a stream chunk. Four
 * listeners ('readable', 'end', 'error', 'close') are attached once per stream and removed on
 * TLS upgrade; a read only installs a waiter and a timer, both cleared when it settles. An
 * error that arrives while no read is pending is stored and thrown by the next read or write.
 */
export class RdpSocket {
  /** the stream read and written: the raw one, then the TLS socket over it */
  private sock: Duplex;
  /** a TCP socket, or one end of transport/memory-pair.ts (simulate) */
  private readonly raw: Duplex;
  private buf: Buffer = EMPTY;
  private failure: unknown = null;
  private ended = false;
  private closed = false;
  private busy = false;
  /** the pending read's resolver (true: its deadline passed) and deadline timer */
  private waiter: ((timedOut: boolean) => void) | null = null;
  private waitTimer: NodeJS.Timeout | null = null;
  private tlsInfo: TlsInfo | null = null;

  private readonly onReadable = (): void => this.notify();
  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (err: Error): void => {
    this.failure ??= err;
    this.notify();
  };
  private readonly onClose = (): void => {
    this.closed = true;
    this.notify();
  };
  private readonly onWaitTimeout = (): void => {
    this.waitTimer = null;
    this.settleWait(true);
  };

  private constructor(sock: Duplex) {
    this.raw = sock;
    this.sock = sock;
    if (sock instanceof net.Socket) sock.setNoDelay(true);
    this.attach(sock);
  }

  /** Open a TCP connection; DNS and connect errors and the timeout become TransportErrors. */
  static connect(host: string, port: number, opts: ConnectOptions): Promise<RdpSocket> {
    const phase = opts.phase ?? 'connect';
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const finish = (err: TransportError | null): void => {
        clearTimeout(timer);
        sock.off('connect', onConnect);
        sock.off('error', onError);
        if (err) {
          sock.on('error', ignore);
          sock.destroy();
          reject(err);
        } else {
          resolve(new RdpSocket(sock));
        }
      };
      const onConnect = (): void => finish(null);
      const onError = (err: Error): void => finish(fromSocketError(err, phase));
      const timer = setTimeout(
        () => finish(new TransportError('timeout', phase, `no connection to ${host}:${port} within ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
      sock.once('connect', onConnect);
      sock.once('error', onError);
    });
  }

  /** Wrap a connected socket (one a net.Server accepted). */
  static fromSocket(sock: net.Socket): RdpSocket {
    return new RdpSocket(sock);
  }

  /**
   * Wrap any byte stream, e.g. one end of an in-memory pair (transport/memory-pair.ts): the
   * same reads, deadlines and TLS upgrade as over TCP, Node's TLS running over the stream.
   */
  static fromStream(stream: Duplex): RdpSocket {
    return new RdpSocket(stream);
  }

  get remoteAddress(): string | undefined {
    return this.raw instanceof net.Socket ? this.raw.remoteAddress : undefined;
  }
  get remotePort(): number | undefined {
    return this.raw instanceof net.Socket ? this.raw.remotePort : undefined;
  }
  /** Set once upgradeToTls / upgradeToTlsServer has succeeded. */
  get tls(): TlsInfo | null {
    return this.tlsInfo;
  }
  /** Bytes received but not yet returned by a read. */
  get bufferedLength(): number {
    return this.buf.length;
  }
  /** A copy of the bytes received but not yet read (what a peer that is not RDP sent us). */
  peekBuffered(): Buffer {
    return Buffer.from(this.buf);
  }

  /**
   * Read exactly one PDU framed by `hint`; bytes after it stay buffered for the next read.
   * Errors: 'malformed' (the hint threw; `cause` is its DecodeError), 'oversized' (declared size
   * above maxSize, thrown as soon as the size is known), 'closed' (EOF before the PDU ended,
   * with `bytesBuffered`), 'timeout', and a stored socket error ('reset', ...).
   */
  async readPdu(hint: PduHint, opts: ReadOptions): Promise<Buffer> {
    const phase = opts.phase ?? hint.name;
    const maxSize = opts.maxSize ?? DEFAULT_MAX_PDU_SIZE;
    const deadline = Date.now() + opts.timeoutMs;
    this.enter();
    try {
      for (;;) {
        this.pull(maxSize);
        const size = this.frame(hint, phase);
        if (size !== null) {
          if (size > maxSize) {
            throw new TransportError('oversized', phase, `${hint.name} declares ${size} bytes, above the limit of ${maxSize}`, {
              bytesBuffered: this.buf.length,
            });
          }
          if (this.buf.length >= size) return this.take(size);
        } else if (this.buf.length > maxSize) {
          throw new TransportError('oversized', phase, `${hint.name} still unframed after ${this.buf.length} bytes, above the limit of ${maxSize}`, {
            bytesBuffered: this.buf.length,
          });
        }
        this.throwIfDead(phase, size === null ? `while framing ${hint.name}` : `${size} bytes of ${hint.name} expected`);
        if (await this.waitForActivity(deadline)) {
          const detail =
            size === null
              ? `no complete ${hint.name} header within ${opts.timeoutMs} ms (${this.buf.length} bytes buffered)`
              : `${hint.name} incomplete after ${opts.timeoutMs} ms (${this.buf.length} of ${size} bytes)`;
          throw new TransportError('timeout', phase, detail, { bytesBuffered: this.buf.length });
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /**
   * Whatever bytes are available (buffered, or the first that arrive within the timeout), at
   * most maxBytes. For looking at what a non-RDP peer sent; returns an empty buffer on EOF.
   */
  async readAvailable(opts: { timeoutMs: number; maxBytes?: number; phase?: string }): Promise<Buffer> {
    const phase = opts.phase ?? 'read';
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_PDU_SIZE;
    const deadline = Date.now() + opts.timeoutMs;
    this.enter();
    try {
      for (;;) {
        this.pull(maxBytes);
        if (this.buf.length > 0) return this.take(Math.min(maxBytes, this.buf.length));
        if (this.ended) return EMPTY;
        this.throwIfDead(phase, 'while waiting for bytes');
        if (await this.waitForActivity(deadline)) {
          throw new TransportError('timeout', phase, `no bytes within ${opts.timeoutMs} ms`, { bytesBuffered: this.buf.length });
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /**
   * Send bytes; resolves once the stream has handed them on (backpressure), within a timeout.
   * The timer is armed only when the bytes are still queued after the call: on a TCP socket an
   * empty queue means the kernel took them already and the callback is a tick away (most writes
   * of a handshake), so no timer is made for them.
   */
  write(bytes: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    const phase = opts.phase ?? 'write';
    if (this.failure) return Promise.reject(fromSocketError(this.failure, phase));
    const sock = this.sock;
    if (this.closed || sock.destroyed || !sock.writable) {
      return Promise.reject(new TransportError('closed', phase, 'cannot write: the connection is closed'));
    }
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      sock.write(bytes, (err) => {
        settled = true;
        if (timer) clearTimeout(timer);
        if (err) reject(fromSocketError(err, phase));
        else resolve();
      });
      if (!settled && sock.writableLength > 0) {
        const timeoutMs = opts.timeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
        timer = setTimeout(() => reject(new TransportError('timeout', phase, `the peer did not take ${bytes.length} bytes within ${timeoutMs} ms`)), timeoutMs);
      }
    });
  }

  /** The TLS handshake as a client, in place on this connection (MS-RDPBCGR 5.4.5.1). */
  async upgradeToTls(opts: TlsClientOptions): Promise<TlsInfo> {
    const phase = opts.phase ?? 'tls';
    this.beforeUpgrade(phase);
    let sock: tls.TLSSocket;
    // our listeners off the raw stream first: over a stream that is not a TCP socket (simulate's
    // in-memory pair) Node's TLS reads it through 'data' events, and a 'readable' listener still
    // attached would put the stream in a mode where bytes that came before the handshake are lost
    this.releaseRaw();
    try {
      sock = tls.connect(clientConnectOptions(this.raw, opts));
    } catch (err) {
      // a bad option (an unknown cipher list): nothing was sent yet
      throw new TransportError('tls', phase, `cannot start tls: ${describe(err)}`, { cause: err, ...reasonOf(err) });
    }
    return this.handshake(sock, 'secureConnect', 'client', opts.timeoutMs, phase);
  }

  /**
   * The TLS handshake as a server, for the acceptor. With `handshakeSlots`, first a turn among
   * the listener's connections ('timeout' if none comes within timeoutMs, 'closed' if the peer
   * goes meanwhile); the handshake then has what is left of timeoutMs.
   */
  async upgradeToTlsServer(opts: TlsServerOptions): Promise<TlsInfo> {
    const phase = opts.phase ?? 'tls';
    this.beforeUpgrade(phase);
    const slots = opts.handshakeSlots;
    let timeoutMs = opts.timeoutMs;
    if (slots && !slots.tryTake()) {
      const deadline = Date.now() + opts.timeoutMs;
      await this.waitForSlot(slots, deadline, opts.timeoutMs, phase);
      timeoutMs = Math.max(1, deadline - Date.now());
    }
    try {
      let sock: tls.TLSSocket;
      let secureContext: tls.SecureContext;
      try {
        secureContext = serverSecureContext(opts);
        this.releaseRaw(); // as in upgradeToTls
        sock = new tls.TLSSocket(this.raw, { isServer: true, secureContext, requestCert: false });
      } catch (err) {
        throw new TransportError('tls', phase, `cannot start tls: ${describe(err)}`, { cause: err, ...reasonOf(err) });
      }
      return await this.handshake(sock, 'secure', 'server', timeoutMs, phase, secureContext);
    } finally {
      slots?.release();
    }
  }

  /**
   * End gracefully (TLS close_notify, then FIN); destroy if the peer has not closed within the
   * grace period. Unread bytes are discarded. Resolves once the socket is closed.
   */
  close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    const sock = this.sock;
    if (this.closed || sock.destroyed) {
      this.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.destroy(), graceMs);
      // a TCP socket keeps the process alive by itself; an in-memory stream has only this timer
      if (this.raw instanceof net.Socket) timer.unref();
      sock.once('close', () => {
        clearTimeout(timer);
        if (this.raw !== sock) this.raw.destroy();
        resolve();
      });
      // discard what the peer still sends, so its FIN reaches us
      sock.off('readable', this.onReadable);
      sock.resume();
      sock.end();
    });
  }

  /** Close at once (RST if bytes are unread). */
  destroy(): void {
    this.sock.destroy();
    if (this.raw !== this.sock) this.raw.destroy();
    this.notify();
  }

  // --- internals ---

  private attach(sock: Duplex): void {
    sock.on('readable', this.onReadable);
    sock.on('end', this.onEnd);
    sock.on('error', this.onError);
    sock.on('close', this.onClose);
  }

  private detach(sock: Duplex): void {
    sock.off('readable', this.onReadable);
    sock.off('end', this.onEnd);
    sock.off('error', this.onError);
    sock.off('close', this.onClose);
  }

  private enter(): void {
    if (this.busy) throw new Error('RdpSocket: another read or upgrade is in progress');
    this.busy = true;
  }

  private notify(): void {
    this.settleWait(false);
  }

  private settleWait(timedOut: boolean): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = null;
    if (this.waitTimer) {
      clearTimeout(this.waitTimer);
      this.waitTimer = null;
    }
    waiter(timedOut);
  }

  /** Move bytes from the stream into our buffer, stopping once it holds more than `limit`. */
  private pull(limit: number): void {
    while (this.buf.length <= limit) {
      const chunk: Buffer | null = this.sock.read();
      if (chunk === null) return;
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    }
  }

  /** The hint's answer, a thrown DecodeError becoming 'malformed'. */
  private frame(hint: PduHint, phase: string): number | null {
    let size: number | null;
    try {
      size = hint.findSize(this.buf);
    } catch (err) {
      if (err instanceof DecodeError) {
        throw new TransportError('malformed', phase, `cannot frame ${hint.name}: ${err.message}`, {
          cause: err,
          bytesBuffered: this.buf.length,
        });
      }
      throw err;
    }
    if (size !== null && (!Number.isSafeInteger(size) || size < 1)) {
      throw new TransportError('malformed', phase, `${hint.name} hint returned an invalid size ${size}`, {
        bytesBuffered: this.buf.length,
      });
    }
    return size;
  }

  /**
   * The first n buffered bytes, without a copy: a PDU that is a whole stream chunk (the usual
   * case) is that chunk; otherwise a view of it. Stream chunks are buffers of their own (never
   * slices of Node's 8 KiB pool), so a PDU kept for long holds at most its own chunk. A copy
   * into the pool, as before, allocated on every read and let a PDU kept for the connection's
   * life pin a whole pool slab.
   */
  private take(n: number): Buffer {
    const buf = this.buf;
    if (n === buf.length) {
      this.buf = EMPTY;
      return buf;
    }
    this.buf = buf.subarray(n);
    return buf.subarray(0, n);
  }

  /**
   * Throw the stored error, or 'closed' after EOF or a local close. 'closed' is how most
   * connections of a server end (the client hangs up between PDUs): it carries no stack trace,
   * which would only show this file and cost more than the rest of the error (quietTransportError).
   */
  private throwIfDead(phase: string, what: string): void {
    if (this.failure) throw fromSocketError(this.failure, phase);
    if (this.ended || this.sock.readableEnded) {
      throw quietTransportError('closed', phase, `the peer closed the connection ${what} (${this.buf.length} bytes buffered)`, {
        bytesBuffered: this.buf.length,
      });
    }
    if (this.closed || this.sock.destroyed) {
      throw quietTransportError('closed', phase, `the connection is closed ${what} (${this.buf.length} bytes buffered)`, {
        bytesBuffered: this.buf.length,
      });
    }
  }

  /** Wait for any socket event: resolves false then, or true once `deadline` has passed. */
  private waitForActivity(deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.waitTimer = setTimeout(this.onWaitTimeout, Math.max(0, deadline - Date.now()));
    });
  }

  /** Queue for a handshake slot until it is this connection's turn; throws at the deadline or when the connection dies. */
  private async waitForSlot(slots: TlsHandshakeSlots, deadline: number, timeoutMs: number, phase: string): Promise<void> {
    const wake = (): void => this.settleWait(false);
    slots.enqueue(wake);
    this.busy = true;
    try {
      for (;;) {
        if (slots.takeIfFirst(wake)) return;
        this.throwIfDead(phase, 'while waiting for a tls handshake slot');
        if (await this.waitForActivity(deadline)) {
          throw new TransportError('timeout', phase, `no tls handshake slot within ${timeoutMs} ms (${slots.size} handshakes in progress, ${slots.queued} waiting)`);
        }
      }
    } finally {
      this.busy = false;
      slots.leave(wake); // nothing if the slot was taken
    }
  }

  /** Hand the raw stream over to TLS: our listeners off, and its errors (the TLS socket sees them too) never unhandled. */
  private releaseRaw(): void {
    this.detach(this.raw);
    this.raw.on('error', ignore);
  }

  private beforeUpgrade(phase: string): void {
    if (this.sock !== this.raw) throw new Error('RdpSocket: already upgraded to tls');
    if (this.busy) throw new Error('RdpSocket: cannot upgrade while a read is in progress');
    // Bytes we pulled but nobody read: the peer sent something before the handshake. Bytes
    // still in the stream (a ClientHello that came in before the server role upgrades) are left
    // there: the TLS socket reads them as its first input.
    if (this.buf.length > 0) {
      throw new TransportError('malformed', phase, `${this.buf.length} unexpected bytes received before the tls handshake`, {
        bytesBuffered: this.buf.length,
      });
    }
    this.throwIfDead(phase, 'before the tls handshake');
  }

  /** Hand the raw socket to `sock`, wait for the handshake, keep the TLS socket on success. */
  private async handshake(
    sock: tls.TLSSocket,
    doneEvent: 'secureConnect' | 'secure',
    role: 'client' | 'server',
    timeoutMs: number,
    phase: string,
    secureContext?: tls.SecureContext,
  ): Promise<TlsInfo> {
    this.busy = true;
    this.sock = sock;
    this.attach(sock);
    try {
      await new Promise<void>((resolve, reject) => {
        const finish = (err: TransportError | null): void => {
          clearTimeout(timer);
          sock.off(doneEvent, onDone);
          sock.off('error', onError);
          sock.off('close', onClose);
          if (err) reject(err);
          else resolve();
        };
        const onDone = (): void => finish(null);
        const onError = (err: Error): void => finish(tlsError(err, phase));
        const onClose = (): void =>
          finish(new TransportError('tls', phase, 'tls handshake failed: the connection closed during the handshake', {
            reason: 'connection closed during handshake',
          }));
        const timer = setTimeout(
          () => finish(new TransportError('timeout', phase, `tls handshake not finished within ${timeoutMs} ms`)),
          timeoutMs,
        );
        sock.once(doneEvent, onDone);
        sock.once('error', onError);
        sock.once('close', onClose);
      });
      const ownKey = secureContext ? ownKeys.get(secureContext) : undefined;
      this.tlsInfo = tlsInfoOf(sock, role, ownKey);
      if (secureContext && !ownKey) ownKeys.set(secureContext, Buffer.from(this.tlsInfo.serverPublicKey)); // a copy: the connection may change its own
      return this.tlsInfo;
    } catch (err) {
      this.failure ??= err;
      this.destroy();
      throw err instanceof TransportError ? err : new TransportError('tls', phase, `tls handshake failed: ${describe(err)}`, { cause: err });
    } finally {
      this.busy = false;
    }
  }
}
