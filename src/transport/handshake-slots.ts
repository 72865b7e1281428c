/**
 * A bound on the server-side TLS handshakes in progress at once, shared by the connections of a
 * listener; the others wait their turn, first come first served, within their TLS deadline.
 *
 * Why: a handshake in progress holds OpenSSL's state (the SSL object, the handshake buffers and
 * transcript, the key exchange) in malloc'd memory, ~40 KiB, and a server that is short of CPU
 * has every connection it accepted mid-handshake at once. bench/serve (200 clients, TLS layer)
 * measured the malloc heap growing by 3.7-11.9 MiB over idle without a bound, 1.8 MiB with 32
 * slots and 0.1-0.6 MiB with 16, at the same handshakes per second: the CPU was the limit, so
 * the waiting costs no throughput there. Over a slow network it can: a slot is held for the
 * handshake's round trips, so N slots allow at most about N / RTT handshakes a second.
 *
 * Waiting connections hold their socket and their ClientHello (in the kernel's buffer), nothing
 * of OpenSSL's.
 */
export class TlsHandshakeSlots {
  private inUse = 0;
  /** wake-up calls of the connections waiting, oldest first */
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`TLS handshake slots: a positive integer, not ${size}`);
  }

  /** Handshakes in progress now. */
  get active(): number {
    return this.inUse;
  }
  /** Connections waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Take a slot at once if one is free and nobody waits before us. */
  tryTake(): boolean {
    if (this.inUse >= this.size || this.waiting.length > 0) return false;
    this.inUse++;
    return true;
  }

  /** Join the queue; `wake` is called when the caller may be first with a free slot (it then calls takeIfFirst). */
  enqueue(wake: () => void): void {
    this.waiting.push(wake);
  }

  /** Take a slot if `wake`'s connection is first in the queue and a slot is free. */
  takeIfFirst(wake: () => void): boolean {
    if (this.waiting[0] !== wake || this.inUse >= this.size) return false;
    this.waiting.shift();
    this.inUse++;
    this.waiting[0]?.();
    return true;
  }

  /** Leave the queue (gave up: deadline, closed); the next one is told if it is now first. */
  leave(wake: () => void): void {
    const i = this.waiting.indexOf(wake);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    if (i === 0) this.waiting[0]?.();
  }

  /** A handshake ended (either way): its slot goes to the first waiting. */
  release(): void {
    this.inUse--;
    this.waiting[0]?.();
  }
}
