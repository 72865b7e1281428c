import type { PduHint } from '../pdu/tpkt.js';

/**
 * The shape shared by the client (connector) and server (acceptor) state machines, in the
 * spirit of IronRDP's `Sequence`: no sockets, no timers. A driver (src/transport/driver.ts)
 * reads one PDU framed by `nextPduHint()`, calls `step()`, writes `output`, and handles the
 * pauses (a TLS upgrade) that need the network.
 */
export interface StepResult<E> {
  /** bytes to send to the peer, in order */
  output: Uint8Array[];
  /** what happened, for logs, transcripts and reports */
  events: E[];
}

/** A network round trip the machine cannot do itself; the driver does it and resumes the machine. */
export type Pause =
  /** the TLS handshake, in place on the same TCP connection (MS-RDPBCGR 5.4.5.1) */
  | { kind: 'tls-upgrade'; role: 'client' | 'server' };

export interface Sequence<E> {
  /** How to frame the next inbound PDU; null when the machine needs no input to step. */
  nextPduHint(): PduHint | null;
  /** Advance with one whole inbound PDU (or null when `nextPduHint()` is null). */
  step(input: Uint8Array | null): StepResult<E>;
  /** Set while the machine waits for the driver to do a network round trip. */
  readonly pause: Pause | null;
  /** True once the machine has reached a terminal state (success or failure). */
  readonly done: boolean;
}
