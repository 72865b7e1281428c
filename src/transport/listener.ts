import net from 'node:net';
import type { Sequence } from '../connector/sequence.js';
import { runSequence, type DriverOptions, type RunResult } from './driver.js';
import { TlsHandshakeSlots } from './handshake-slots.js';
import { RdpSocket } from './socket.js';

/**
 * A TCP listener that runs one sans-IO server sequence (the acceptor) per connection, with the
 * pre-authentication limits a server needs (the reason NLA exists): a cap on concurrent
 * connections, a deadline for the whole handshake, a deadline per read and a cap on PDU size
 * before anything is allocated. Loopback by default.
 */
export interface ListenOptions {
  host: string;
  /** one port, or 0 for any free port */
  port: number;
  maxConnections: number;
  /** the whole connection, from accept to the end of the sequence */
  handshakeTimeoutMs: number;
  readTimeoutMs: number;
  maxPduSize: number;
  /**
   * TLS handshakes in progress at once (TlsHandshakeSlots); the other connections wait their
   * turn within the read deadline. None: no bound.
   */
  maxTlsHandshakes?: number;
  /** server certificate and key (PEM) for TLS upgrades */
  tls: { key: string | Buffer; cert: string | Buffer; minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; ciphers?: string };
}

export interface ConnectionEnd<E, S extends Sequence<E>> {
  sequence: S;
  run: RunResult<E> | null;
  remote: string;
  /** why the listener itself ended it: over the connection cap, past the deadline */
  cutOff?: 'over-capacity' | 'deadline';
  error?: unknown;
}

export interface Listening {
  port: number;
  host: string;
  /** connections being served now */
  readonly active: number;
  close(): Promise<void>;
}

const ignore = (): void => {};

/** What the handshake deadline needs of a connection. */
interface Connection {
  sock: RdpSocket;
  cutOff: 'deadline' | undefined;
}

function cutAtDeadline(conn: Connection): void {
  conn.cutOff = 'deadline';
  conn.sock.destroy();
}

export function listenSequences<E, S extends Sequence<E>>(
  opts: ListenOptions,
  makeSequence: () => S,
  onEnd: (end: ConnectionEnd<E, S>) => void,
): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  let active = 0;
  // one options object for every connection, so the TLS context is built once (socket.ts); the
  // driver's options too: nothing per connection but the socket, the sequence and one timer
  const tlsOptions = {
    role: 'server' as const,
    timeoutMs: opts.readTimeoutMs,
    ...opts.tls,
    ...(opts.maxTlsHandshakes !== undefined ? { handshakeSlots: new TlsHandshakeSlots(opts.maxTlsHandshakes) } : {}),
  };
  const driverOptions: DriverOptions<E> = {
    readTimeoutMs: opts.readTimeoutMs,
    maxPduSize: opts.maxPduSize,
    tls: () => tlsOptions,
    record: false, // onEnd looks at the sequence and at how the run ended, never at its events
  };
  const serveConnection = async (raw: net.Socket, remote: string): Promise<void> => {
    active++;
    sockets.add(raw);
    const sock = RdpSocket.fromSocket(raw);
    const sequence = makeSequence();
    const conn: Connection = { sock, cutOff: undefined };
    const deadline = setTimeout(cutAtDeadline, opts.handshakeTimeoutMs, conn);
    deadline.unref();
    let end: ConnectionEnd<E, S>;
    try {
      end = { sequence, run: await runSequence(sequence, sock, driverOptions), remote };
    } catch (error) {
      end = { sequence, run: null, remote, error };
    }
    if (conn.cutOff) end.cutOff = conn.cutOff;
    try {
      onEnd(end);
    } finally {
      clearTimeout(deadline);
      active--;
      sockets.delete(raw);
      void sock.close(250);
    }
  };
  const server = net.createServer({ pauseOnConnect: false }, (raw) => {
    raw.on('error', ignore);
    const remote = `${raw.remoteAddress}:${raw.remotePort}`;
    if (active >= opts.maxConnections) {
      raw.destroy();
      onEnd({ sequence: makeSequence(), run: null, remote, cutOff: 'over-capacity' });
      return;
    }
    void serveConnection(raw, remote);
  });
  server.maxConnections = opts.maxConnections * 2; // Node's backstop; ours answers first
  // connections Node itself drops past that backstop (sockets still closing count) are logged too
  server.on('drop', (d?: { remoteAddress?: string; remotePort?: number }) => {
    onEnd({ sequence: makeSequence(), run: null, remote: `${d?.remoteAddress}:${d?.remotePort}`, cutOff: 'over-capacity' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      const addr = server.address() as net.AddressInfo;
      resolve({
        port: addr.port,
        host: opts.host,
        get active() {
          return active;
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
