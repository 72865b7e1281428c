import { randomBytes } from 'node:crypto';
import { ServerAcceptor, type AcceptorEvent, type AcceptorPhase } from '../acceptor/acceptor.js';
import type { AcceptorPolicy } from '../acceptor/acceptor-policy.js';
import type { ServerIdentity } from '../acceptor/server-identity.js';
import { ClientConnector, type ConnectorConfig, type ConnectorEvent } from '../connector/connector.js';
import { runSequence, type RunResult } from '../transport/driver.js';
import type { TransportError } from '../transport/errors.js';
import { memoryPair } from '../transport/memory-pair.js';
import { RdpSocket, type TlsClientOptions, type TlsServerOptions } from '../transport/socket.js';

/**
 * One connection of a simulation: the real connector and the real acceptor, each driven by the
 * same driver as over TCP (transport/driver.ts), over an in-memory pair with a real TLS
 * handshake. Nothing here decides an outcome: the two machines do.
 */
export interface PairOptions {
  config: ConnectorConfig;
  policy: AcceptorPolicy;
  identity: ServerIdentity;
  /** the client's TLS settings (versions, cipher list with its security level) */
  clientTls: Omit<TlsClientOptions, 'timeoutMs'>;
  /** the server's certificate, key and TLS settings */
  serverTls: Omit<TlsServerOptions, 'timeoutMs'>;
  /** per read and per TLS handshake, on both sides */
  timeoutMs: number;
}

/** One line of the exchange, in the order it happened. */
export type ExchangeLine =
  | { kind: 'pdu'; from: 'client' | 'server'; pdu: string; summary: string }
  | { kind: 'tls'; detail: string }
  | { kind: 'note'; side: 'client' | 'server'; text: string };

export interface PairResult {
  connector: ClientConnector;
  acceptor: ServerAcceptor;
  /** set when the network (the peer closing, a TLS failure, a deadline) ended the client's run */
  clientTransportError: TransportError | null;
  /** where the client was when that happened */
  clientStoppedIn: { state: string; phase: string } | null;
  /** the acceptor's phase when its run ended */
  serverPhase: AcceptorPhase;
  serverTransportError: TransportError | null;
  lines: ExchangeLine[];
}

const CLOSE_GRACE_MS = 200;

export async function runPair(o: PairOptions): Promise<PairResult> {
  const [c, s] = memoryPair();
  const client = RdpSocket.fromStream(c);
  const server = RdpSocket.fromStream(s);
  const connector = new ClientConnector(o.config);
  const acceptor = new ServerAcceptor(o.policy, o.identity, (n) => randomBytes(n));
  const lines: ExchangeLine[] = [];
  let clientStoppedIn: PairResult['clientStoppedIn'] = null;

  const onClientEvent = (e: ConnectorEvent): void => {
    if (e.type === 'security-upgrade') return; // the TLS line comes from the driver's handshake result
    // the client's view gives every PDU both ways with its decoded summary
    lines.push({ kind: 'pdu', from: e.type === 'sent' ? 'client' : 'server', pdu: e.pdu, summary: e.summary });
  };
  const onServerEvent = (e: AcceptorEvent): void => {
    if (e.type === 'note' && !e.text.startsWith('TLS ')) lines.push({ kind: 'note', side: 'server', text: e.text });
  };
  const clientRun = runSequence(connector, client, {
    readTimeoutMs: o.timeoutMs,
    tls: () => ({ role: 'client', timeoutMs: o.timeoutMs, ...o.clientTls }),
    phase: () => connector.phase,
    onEvent: onClientEvent,
    onPause: () => lines.push({ kind: 'tls', detail: 'TLS handshake' }),
  })
    .then((run) => {
      if (run.error) clientStoppedIn = { state: connector.stateName, phase: connector.phase };
      return run;
    })
    .finally(() => client.close(CLOSE_GRACE_MS));
  const serverTls = { role: 'server' as const, timeoutMs: o.timeoutMs, ...o.serverTls };
  const serverRun = runSequence(acceptor, server, {
    readTimeoutMs: o.timeoutMs,
    tls: () => serverTls,
    onEvent: onServerEvent,
  }).finally(() => server.close(CLOSE_GRACE_MS));

  const [cr, sr] = await Promise.all([clientRun, serverRun]);
  fillTlsLine(lines, cr);
  return {
    connector,
    acceptor,
    clientTransportError: cr.error,
    clientStoppedIn,
    serverPhase: acceptor.phaseName,
    serverTransportError: sr.error,
    lines,
  };
}

/** The handshake's line says what was agreed, or that it failed. */
function fillTlsLine(lines: ExchangeLine[], run: RunResult<ConnectorEvent>): void {
  const line = lines.find((l): l is Extract<ExchangeLine, { kind: 'tls' }> => l.kind === 'tls');
  if (!line) return;
  if (run.tls) line.detail = `TLS handshake: ${run.tls.version} ${run.tls.cipher.standardName}`;
  else if (run.error) line.detail = `TLS handshake failed: ${run.error.message}`;
}
