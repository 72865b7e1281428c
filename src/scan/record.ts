import type { Finding, Posture } from '../probe/posture.js';
import type { ExchangeLine } from '../simulate/run-pair.js';
import type { Negotiated, SimulatedFailure } from '../simulate/simulate.js';

/**
 * What `rdpsec scan` produces for one endpoint (host:port), in the order it goes through the
 * pipeline: streamed as one JSON line (`--json`), stored in the history (src/store), rendered in
 * the terminal table and the HTML report. One shape for all of them.
 */
export const SCAN_RECORD_VERSION = 1;

export interface ScanTarget {
  host: string;
  port: number;
  /** the target text it was expanded from ("10.0.0.0/30", "web1:3389-3390", a line of -f FILE) */
  input: string;
}

/** Why an endpoint has no posture: the transport kinds of a probe (refused, reset, timeout, ...). */
export interface ScanError {
  kind: string;
  /** where it happened: connect, negotiation, tls, credssp */
  phase: string;
  message: string;
}

/** Would this client connect (doctor's simulation against the policy inferred from the posture). */
export interface ClientVerdict {
  client: string;
  connects: boolean;
  negotiated: Negotiated | null;
  failure: SimulatedFailure | null;
  /** each connection the client made, for the sequence diagrams */
  exchanges: ExchangeLine[][];
  /** the safest checked fix, if it fails */
  fix?: { id: string; summary: string; safety: 'safe' | 'weakens-security' };
}

/** The terminal table's columns, computed from the posture (summary.ts). */
export interface HostSummary {
  /** the protocols the server accepted, by name (RDP, SSL, HYBRID, HYBRID_EX, ...) */
  protocols: string[];
  /** true: only CredSSP gets in; false: something else does; null: unknown */
  nlaRequired: boolean | null;
  /** "TLSv1.2..TLSv1.3"; null without TLS */
  tlsRange: string | null;
  /** the weakest Standard RDP Security method accepted (40BIT ...), or null when none is */
  weakestEncryption: string | null;
  /** TLS certificate notAfter (ISO), null without one */
  certificateExpires: string | null;
  worstFinding: { id: string; severity: Finding['severity'] } | null;
}

export interface HostScanRecord {
  version: typeof SCAN_RECORD_VERSION;
  target: ScanTarget;
  startedAt: string;
  durationMs: number;
  /** how many times the probe ran (timeouts are retried) */
  tries: number;
  status: 'ok' | 'unreachable' | 'error';
  error?: ScanError;
  /** with its findings; null when unreachable */
  posture: Posture | null;
  summary: HostSummary | null;
  clients?: ClientVerdict[];
}

/** A whole scan as the history keeps it. */
export interface ScanMeta {
  id: number;
  startedAt: string;
  finishedAt: string | null;
  /** the target texts as given */
  targets: string[];
  /** the options that shape the results (clients, timeouts, handshake) */
  options: Record<string, unknown>;
  rdpsecVersion: string;
}

/** One change of an endpoint between two scans (src/scan/diff.ts). */
export interface PostureChange {
  /** what changed: "protocol.SSL", "tls.TLSv1", "nla", "certificate", "finding.rc4-40bit-accepted", "client.freerdp-2" ... */
  field: string;
  before: string | null;
  after: string | null;
  /** for security: better (a weak thing gone), worse (a weak thing appeared), neutral */
  direction: 'better' | 'worse' | 'neutral';
  /** one sentence for people: "stopped accepting TLS 1.0" */
  text: string;
}

/** What changed between two scans, endpoint by endpoint. */
export interface ScanDiff {
  from: Pick<ScanMeta, 'id' | 'startedAt'>;
  to: Pick<ScanMeta, 'id' | 'startedAt'>;
  /** endpoints only in the newer scan */
  appeared: ScanTarget[];
  /** endpoints only in the older scan (a host that disappeared) */
  disappeared: ScanTarget[];
  /** endpoints reachable before and not now, or the reverse, are `changed` with field "reachable" */
  changed: { target: ScanTarget; changes: PostureChange[] }[];
  unchanged: number;
}
