import { randomBytes } from 'node:crypto';
import { ClientConnector, type ConnectorConfig, type ConnectorResult } from '../connector/connector.js';
import { loadCredsspClient } from '../connector/credssp-loader.js';
import { PROTOCOL } from '../pdu/nego.js';
import type { ConnectorError } from '../connector/errors.js';
import { DecodeError } from '../pdu/errors.js';
import { runSequence, type TranscriptEntry } from '../transport/driver.js';
import { TransportError } from '../transport/errors.js';
import { RdpSocket, type TlsClientOptions } from '../transport/socket.js';
import type { TlsInfo } from '../transport/tls-info.js';
import type { AttemptError } from './posture.js';

/**
 * One connection attempt: the real connector over a real socket, with timeouts on the
 * connect, every read and the TLS handshake; the socket is always closed at the end.
 */
export interface AttemptSpec {
  /** what this attempt asks, for logs (e.g. "protocol SSL", "method 40BIT", "TLSv1.2") */
  label: string;
  config: Omit<ConnectorConfig, 'cookie'>;
  tls?: Pick<TlsClientOptions, 'minVersion' | 'maxVersion' | 'ciphers'>;
}

export interface AttemptOutcome {
  spec: AttemptSpec;
  /** where the connector got to; with a `connectorError` this is the partial result */
  result?: ConnectorResult;
  connectorError?: ConnectorError;
  transportError?: TransportError;
  /** the connector state when a transport error ended the attempt */
  stoppedIn?: string;
  tls: TlsInfo | null;
  transcript: TranscriptEntry[];
  durationMs: number;
  /** wall-clock time (ms since the epoch) when the attempt ended, for clock-skew estimates */
  finishedAt: number;
}

export interface AttemptTarget {
  host: string;
  port: number;
  timeoutMs: number;
  /** graceful closes still under way (each ends within CLOSE_GRACE_MS) */
  closing?: Promise<void>[];
  /** waits for this connection's turn to connect (see `connectPacer`) */
  pace?: () => Promise<void>;
}

/**
 * Spaces connection openings. xrdp listens with a backlog of 2 and accepts in one loop that
 * forks per connection: a burst of SYNs overflows the queue, the kernel drops the extra SYNs
 * and each dropped one costs the client a 1 s SYN retransmission. Opening one connection
 * every `spacingMs` keeps the queue short at little cost for servers with deep backlogs.
 */
export function connectPacer(spacingMs: number): () => Promise<void> {
  let next = 0;
  return () => {
    const now = performance.now();
    const at = Math.max(now, next);
    next = at + spacingMs;
    return at <= now ? Promise.resolve() : new Promise((r) => setTimeout(r, at - now));
  };
}

/** How long to wait for the server's FIN after ours before resetting the connection. */
const CLOSE_GRACE_MS = 250;

/** A random mstshash cookie per connection, so a server's logs tell our connections apart. */
export function randomCookie(): string {
  return `rdpsec${randomBytes(4).toString('hex')}`;
}

export async function runAttempt(target: AttemptTarget, spec: AttemptSpec): Promise<AttemptOutcome> {
  const started = performance.now();
  const connector = new ClientConnector({ ...spec.config, cookie: randomCookie() });
  const outcome: AttemptOutcome = { spec, tls: null, transcript: [], durationMs: 0, finishedAt: 0 };
  // CredSSP's code is loaded only for requests that may reach it, while the connection opens
  const credssp = (spec.config.requestedProtocols ?? 0) & (PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX) ? loadCredsspClient() : undefined;
  let sock: RdpSocket | undefined;
  try {
    await target.pace?.();
    sock = await RdpSocket.connect(target.host, target.port, { timeoutMs: target.timeoutMs });
    await credssp;
    const run = await runSequence(connector, sock, {
      readTimeoutMs: target.timeoutMs,
      tls: () => ({ role: 'client', timeoutMs: target.timeoutMs, servername: target.host, ...spec.tls }),
      phase: () => connector.phase,
    });
    outcome.transcript = run.transcript;
    outcome.tls = run.tls;
    if (run.error) {
      outcome.transportError = run.error;
      outcome.stoppedIn = connector.stateName;
    }
  } catch (err) {
    if (!(err instanceof TransportError)) throw err;
    outcome.transportError = err;
    outcome.stoppedIn = connector.stateName;
  } finally {
    // A graceful close: destroy() would drop our last TLS flight (the client Finished) and the
    // server would log a failed handshake for a version it accepted. The close finishes in
    // the background; the caller awaits `closing` once its round of attempts is done.
    if (sock) {
      const closing = sock.close(CLOSE_GRACE_MS);
      target.closing?.push(closing);
    }
  }
  const result = connector.result;
  if (result) outcome.result = result;
  const cerr = connector.error;
  if (cerr) outcome.connectorError = cerr;
  outcome.durationMs = performance.now() - started;
  outcome.finishedAt = Date.now();
  return outcome;
}

/** The typed error of an attempt, for the report: which phase, what kind, which PDU and field. */
export function attemptError(o: AttemptOutcome): AttemptError | undefined {
  if (o.transportError) {
    const t = o.transportError;
    const e: AttemptError = { kind: t.kind, phase: t.phase, message: t.message };
    const cause = t.cause;
    if (cause instanceof DecodeError) Object.assign(e, decodeFields(cause));
    return e;
  }
  if (o.connectorError) {
    const c = o.connectorError;
    const e: AttemptError = { kind: c.code, phase: c.phase, message: c.message };
    if (c.decodeError) Object.assign(e, decodeFields(c.decodeError));
    return e;
  }
  return undefined;
}

function decodeFields(d: DecodeError): Pick<AttemptError, 'pdu' | 'field' | 'offset'> {
  const r = d.root();
  return { pdu: r.pdu, field: r.field, offset: r.offset };
}

/**
 * A concurrency limit: `limit(fn)` runs fn when fewer than `n` are in flight, in the order
 * asked. Tasks may queue follow-ups, so questions that depend on an earlier answer start as
 * soon as that answer is in, not after a whole round.
 */
export function limiter(n: number): <R>(fn: () => Promise<R>) => Promise<R> {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    active--;
    waiting.shift()?.();
  };
  return async <R>(fn: () => Promise<R>): Promise<R> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
