import type { ConnectorConfig } from '../connector/connector.js';
import { DEFAULT_CLIENT_DATA } from '../connector/mcs-connect.js';
import type { MacForm } from '../crypto/session-keys.js';
import { PROTOCOL } from '../pdu/nego.js';
import { attemptError, type AttemptOutcome, type AttemptSpec } from './attempt.js';
import { credsspAttemptConfig, type ProbeCredentials } from './credssp-probe.js';
import type { HandshakeAttempt, HandshakeEntry, HandshakeReport, MethodHandshake, Posture } from './posture.js';

/**
 * `probe --handshake`: complete a whole connection (to the end of finalization) with each
 * security layer and each encryption method the server accepted, and report whether the server
 * really works with it. With RC4 both MAC forms are tried, because xrdp 0.9.21-1+deb12u3 checks
 * only the plain MAC and drops clients (FreeRDP) that send the salted one (MS-RDPBCGR 5.3.6.1.1).
 */
export async function runHandshakes(p: Posture, run: (spec: AttemptSpec) => Promise<AttemptOutcome>, credentials?: ProbeCredentials): Promise<HandshakeReport> {
  const report: HandshakeReport = { layers: {}, methods: {} };
  const jobs: Promise<void>[] = [];
  const full = (requestedProtocols: number | null, encryptionMethods: number, macForm: MacForm): AttemptSpec['config'] => ({
    requestedProtocols,
    stopAfter: 'activation' as ConnectorConfig['stopAfter'],
    clientData: { ...DEFAULT_CLIENT_DATA, encryptionMethods },
    activation: { macForm },
  });

  if (p.protocols.SSL.status === 'accepted') {
    jobs.push(run({ label: 'handshake SSL', config: full(PROTOCOL.SSL, DEFAULT_CLIENT_DATA.encryptionMethods, 'unsalted') }).then((o) => void (report.layers.SSL = handshakeAttempt(o))));
  }
  if (p.protocols.HYBRID.status === 'accepted' || p.protocols.HYBRID_EX.status === 'accepted') {
    if (!credentials) {
      report.layers.HYBRID = { works: null, reason: 'needs a CredSSP logon: give --user' };
    } else {
      // NLA: CredSSP with the credentials, then the whole connection sequence inside TLS
      const config = { ...credsspAttemptConfig(PROTOCOL.SSL | PROTOCOL.HYBRID, 6, credentials, { stopAfter: 'activation' }), activation: { macForm: 'unsalted' as const } };
      jobs.push(run({ label: 'handshake HYBRID', config }).then((o) => void (report.layers.HYBRID = handshakeAttempt(o))));
    }
  }

  const ss = p.standardSecurity;
  if (ss) {
    // one handshake per method the server really selects, through an offer that gets it
    const offers = new Map<string, number>();
    for (const m of [...Object.values(ss.methods), ss.allOffered]) {
      if (m?.status === 'accepted' && m.selected && !offers.has(m.selected)) offers.set(m.selected, m.offered);
    }
    const via = ss.via === 'legacy' ? null : PROTOCOL.RDP;
    for (const [method, offered] of offers) {
      const h: MethodHandshake = { offered, summary: '' };
      report.methods[method] = h;
      const rc4 = method === '40BIT' || method === '56BIT' || method === '128BIT';
      const forms: MacForm[] = rc4 ? ['unsalted', 'salted'] : ['unsalted'];
      jobs.push(
        Promise.all(forms.map((f) => run({ label: `handshake ${method} ${f}`, config: full(via, offered, f) }))).then(([plain, salted]) => {
          if (rc4) {
            h.plainMac = handshakeAttempt(plain!);
            h.saltedMac = handshakeAttempt(salted!);
          } else {
            h.attempt = handshakeAttempt(plain!);
          }
          h.summary = methodSummary(method, h);
          const works = rc4 ? (h.plainMac!.works ? 'unsalted' : h.saltedMac!.works ? 'salted' : undefined) : undefined;
          if (works) h.workingMac = works;
        }),
      );
    }
  }
  await Promise.all(jobs);
  return report;
}

function handshakeAttempt(o: AttemptOutcome): HandshakeAttempt {
  const a = o.result?.activation;
  const reached = a?.reached ?? (o.result?.mcs ? 'mcs' : 'negotiation');
  if (a?.reached === 'finalized' && !o.connectorError && !o.transportError) {
    return { works: true, reached, licensing: a.licensing, encrypted: a.encrypted, finalization: a.finalization, ...(a.errorInfo ? { errorInfo: a.errorInfo.name } : {}) };
  }
  const err = attemptError(o);
  return { works: false, reached, ...(err ? { failure: err } : {}) };
}

/** The contract's flat form of one attempt. */
export function handshakeEntry(method: string, mac: HandshakeEntry['mac'], a: HandshakeAttempt): HandshakeEntry {
  return {
    method,
    completed: a.works === true,
    reached: a.reached ?? 'negotiation',
    mac,
    error: a.failure ? { code: a.failure.kind, message: a.failure.message } : null,
  };
}

/** Put the contract's entries into the posture: standardSecurity.handshakes and tls.handshake. */
export function attachHandshakeEntries(p: Posture, r: HandshakeReport): void {
  if (p.tls && r.layers.SSL) p.tls.handshake = handshakeEntry('NONE', null, r.layers.SSL);
  if (p.standardSecurity) {
    const entries: HandshakeEntry[] = [];
    for (const [method, m] of Object.entries(r.methods)) {
      if (m.attempt) entries.push(handshakeEntry(method, null, m.attempt));
      if (m.plainMac) entries.push(handshakeEntry(method, 'plain', m.plainMac));
      if (m.saltedMac) entries.push(handshakeEntry(method, 'salted', m.saltedMac));
    }
    p.standardSecurity.handshakes = entries;
  }
}

function methodSummary(method: string, h: MethodHandshake): string {
  const fail = (a: HandshakeAttempt) => (a.failure ? `${a.failure.kind} in ${a.failure.phase}` : 'failed');
  const dir = (a: HandshakeAttempt) =>
    a.encrypted && a.encrypted.clientToServer && !a.encrypted.serverToClient ? ' (server-to-client traffic is NOT encrypted)' : '';
  if (h.attempt) return h.attempt.works ? `${method}: works${dir(h.attempt)}` : `${method}: negotiated, but the connection fails (${fail(h.attempt)})`;
  const plain = h.plainMac!;
  const salted = h.saltedMac!;
  if (plain.works && salted.works) return `${method}: works with both MAC forms${dir(plain)}`;
  if (plain.works) {
    const how = salted.failure?.kind === 'SERVER_DISCONNECTED' ? 'the server disconnects after the first encrypted PDU with a salted MAC' : `a salted MAC fails (${fail(salted)})`;
    return `${method}: negotiated, but ${how}; works with the plain MAC${dir(plain)}`;
  }
  if (salted.works) return `${method}: works only with the salted MAC (SEC_SECURE_CHECKSUM); the plain MAC fails (${fail(plain)})${dir(salted)}`;
  return `${method}: negotiated, but no connection completes (plain MAC: ${fail(plain)}; salted MAC: ${fail(salted)})`;
}
