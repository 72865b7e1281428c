import { performance } from 'node:perf_hooks';
import type { Pause, Sequence, StepResult } from '../connector/sequence.js';
import { TransportError } from './errors.js';
import type { RdpSocket, ReadOptions, TlsClientOptions, TlsServerOptions, WriteOptions } from './socket.js';
import type { TlsInfo } from './tls-info.js';

/**
 * What a sequence that pauses for TLS must also implement: the driver does the handshake and
 * hands the result back (IronRDP's `mark_security_upgrade_as_done`); the machine answers with
 * what comes next (for CredSSP, the first TSRequest).
 */
export interface SecurityUpgradeTarget<E> {
  markSecurityUpgradeDone(info: TlsInfo): StepResult<E>;
}

export type TlsUpgradeOptions = ({ role: 'client' } & TlsClientOptions) | ({ role: 'server' } & TlsServerOptions);

export interface DriverOptions<E> {
  /** deadline for each inbound PDU */
  readTimeoutMs: number;
  /** per-PDU size limit (RdpSocket's default otherwise) */
  maxPduSize?: number;
  /** TLS options for the pause's role; the returned `role` must match it */
  tls: (role: 'client' | 'server') => TlsUpgradeOptions;
  onEvent?: (event: E) => void;
  onPause?: (pause: Pause) => void;
  /**
   * Names the phase in transport errors ('x224', 'mcs'), e.g. from the machine's state; by
   * default the hint's name for reads, 'tls' for the upgrade and 'write' for writes.
   */
  phase?: () => string;
  /**
   * Keep the events and the transcript in the RunResult (default true). A server that only
   * looks at how each connection ended passes false: both stay empty, and a connection no
   * longer holds every event (and its summary string) until it ends. onEvent still sees them.
   */
  record?: boolean;
}

/** One line of a sequence diagram: a PDU each way, or the TLS handshake. */
export interface TranscriptEntry {
  dir: 'sent' | 'received' | 'tls';
  /** PDU length in bytes (0 for 'tls') */
  length: number;
  /** milliseconds since runSequence started */
  at: number;
  /** for 'tls': version and cipher */
  detail?: string;
}

export interface RunResult<E> {
  events: E[];
  transcript: TranscriptEntry[];
  tls: TlsInfo | null;
  /**
   * Set when the network ended the run early (refused, reset, timeout, tls, ...): events and
   * transcript hold what happened until then. Errors of the sequence itself are thrown.
   */
  error: TransportError | null;
}

const NO_OPTIONS: WriteOptions = Object.freeze({});

function canResume<E>(seq: Sequence<E>): seq is Sequence<E> & SecurityUpgradeTarget<E> {
  return typeof (seq as Partial<SecurityUpgradeTarget<E>>).markSecurityUpgradeDone === 'function';
}

/** Drive a sans-IO sequence over a socket until it is done: read by hint, step, write. */
export async function runSequence<E>(seq: Sequence<E>, sock: RdpSocket, opts: DriverOptions<E>): Promise<RunResult<E>> {
  const record = opts.record ?? true;
  const start = record ? performance.now() : 0;
  const at = (): number => Math.round((performance.now() - start) * 1000) / 1000;
  const out: RunResult<E> = { events: [], transcript: [], tls: null, error: null };
  // without a phase function the same read and write options serve every PDU
  const fixedRead: ReadOptions = { timeoutMs: opts.readTimeoutMs, ...(opts.maxPduSize !== undefined ? { maxSize: opts.maxPduSize } : {}) };
  const readOpts = (): ReadOptions => (opts.phase ? { ...fixedRead, phase: opts.phase() } : fixedRead);
  const writeOpts = (): WriteOptions => (opts.phase ? { phase: opts.phase() } : NO_OPTIONS);
  try {
    while (!seq.done) {
      let result: StepResult<E>;
      const pause = seq.pause;
      if (pause) {
        if (!canResume(seq)) throw new TypeError('a sequence that pauses for tls must implement markSecurityUpgradeDone');
        opts.onPause?.(pause);
        // the options object itself when there is no phase to add: servers cache their TLS context by it
        const base = opts.tls(pause.role);
        const o = opts.phase ? { ...base, phase: opts.phase() } : base;
        if (o.role !== pause.role) throw new TypeError(`tls options for role ${o.role}, the sequence pauses as ${pause.role}`);
        const info = o.role === 'client' ? await sock.upgradeToTls(o) : await sock.upgradeToTlsServer(o);
        out.tls = info;
        if (record) out.transcript.push({ dir: 'tls', length: 0, at: at(), detail: `${info.version} ${info.cipher.standardName}` });
        result = seq.markSecurityUpgradeDone(info);
      } else {
        const hint = seq.nextPduHint();
        const input = hint ? await sock.readPdu(hint, readOpts()) : null;
        if (input && record) out.transcript.push({ dir: 'received', length: input.length, at: at() });
        result = seq.step(input);
        if (!hint && result.output.length === 0 && result.events.length === 0 && !seq.done && !seq.pause) {
          throw new Error('the sequence made no progress without input');
        }
      }
      for (const e of result.events) {
        if (record) out.events.push(e);
        opts.onEvent?.(e);
      }
      for (const bytes of result.output) {
        await sock.write(bytes, writeOpts());
        if (record) out.transcript.push({ dir: 'sent', length: bytes.length, at: at() });
      }
    }
  } catch (err) {
    if (!(err instanceof TransportError)) throw err;
    out.error = err;
  }
  return out;
}
