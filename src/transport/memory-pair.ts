import { Duplex } from 'node:stream';

/**
 * Two connected in-memory byte streams, what `simulate` runs the connector and the acceptor
 * over: what one end writes the other reads, in order, with the backpressure of a socket (a
 * write completes once the other end has room for it). Ending one end is the peer's EOF (a
 * FIN); destroying it ends the peer's reads too, as a closed connection does. Node's TLS runs
 * over either end (tls.connect({ socket }), new tls.TLSSocket(stream)), so a simulated
 * connection does a real TLS handshake and real record protection, only without a kernel.
 *
 * Node 22 has stream.duplexPair(); Node 20, our runtime, does not.
 */
export function memoryPair(): [Duplex, Duplex] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class MemoryEnd extends Duplex {
  peer!: MemoryEnd;
  /** our write waiting for the peer to read (the peer's buffer was full) */
  private blocked: (() => void) | null = null;
  /** the peer's EOF has been pushed to it */
  private eofSent = false;

  constructor() {
    // small chunks, as a socket delivers: the reader frames PDUs out of whatever arrives
    super({ allowHalfOpen: false });
  }

  override _read(): void {
    // the peer may write again
    const resume = this.peer.blocked;
    this.peer.blocked = null;
    resume?.();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (peer.destroyed || this.eofSent) {
      cb(Object.assign(new Error('write to a closed in-memory connection'), { code: 'EPIPE' }));
      return;
    }
    // a copy: the writer may reuse its buffer once the write has completed
    if (peer.push(Buffer.from(chunk))) cb();
    else this.blocked = () => cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.sendEof();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.sendEof();
    const resume = this.blocked;
    this.blocked = null;
    resume?.();
    cb(err);
  }

  private sendEof(): void {
    if (this.eofSent) return;
    this.eofSent = true;
    if (!this.peer.destroyed) this.peer.push(null);
  }
}
