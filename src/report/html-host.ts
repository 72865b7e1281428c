import type { HandshakeAttempt, MethodProbe, Posture, ProtocolProbe } from '../probe/posture.js';
import type { ClientVerdict, HostScanRecord } from '../scan/record.js';
import type { ExchangeLine } from '../simulate/run-pair.js';
import type { SimulatedFailure } from '../simulate/simulate.js';
import { esc } from './html-escape.js';
import { describeFailure, describeNegotiated } from './simulation.js';
import { legacyQuestionLines, protocolQuestionLines, sequenceSvg } from './svg-sequence.js';

/**
 * One endpoint's page of the HTML report: the posture as the terminal report shows it
 * (terminal.ts, same sections and words), each protocol question and each client connection
 * as a sequence diagram, the findings, and what each client would do.
 */
type Tone = 'good' | 'warn' | 'fail' | 'info' | 'dim';

/**
 * Identical diagrams (most hosts of a fleet answer alike) are drawn once as a <symbol> and
 * shown with <use>, so the report grows with the number of hosts, not hosts x diagrams.
 */
export class DiagramSet {
  private readonly ids = new Map<string, string>();
  private readonly symbols: string[] = [];

  svg(lines: readonly ExchangeLine[], label: string, cls = 'seq'): string {
    const d = sequenceSvg(lines);
    const key = `${d.height}\u0000${d.body}`;
    let id = this.ids.get(key);
    if (!id) {
      id = `sq-${this.ids.size}`;
      this.ids.set(key, id);
      this.symbols.push(`<symbol id="${id}" viewBox="0 0 ${d.width} ${d.height}">${d.body}</symbol>`);
    }
    return `<svg class="${cls}" viewBox="0 0 ${d.width} ${d.height}" width="${d.width}" height="${d.height}" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title><use href="#${id}" width="${d.width}" height="${d.height}"/></svg>`;
  }

  /** The one hidden <svg> holding every symbol (not display:none, which would hide the uses too). */
  defs(): string {
    return `<svg class="defs" aria-hidden="true" focusable="false">${this.symbols.join('')}</svg>`;
  }
}

export function endpoint(r: Pick<HostScanRecord, 'target'>): string {
  const h = r.target.host;
  return `${h.includes(':') ? `[${h}]` : h}:${r.target.port}`;
}

function row(key: string, tone: Tone, value: string, note = ''): string {
  return `<tr><th>${esc(key)}</th><td class="t-${tone}">${esc(value)}</td><td class="note">${esc(note)}</td></tr>`;
}
const section = (title: string, body: string): string => `<h3>${esc(title)}</h3>${body}`;
const rowsTable = (rows: string[]): string => `<table class="kv"><tbody>${rows.join('')}</tbody></table>`;
const dim = (s: string): string => `<p class="muted">${esc(s)}</p>`;

function protocolText(p: ProtocolProbe): string {
  switch (p.status) {
    case 'accepted':
      return 'accepted';
    case 'refused':
      return p.failureCode ? `refused: ${p.failureCode}` : 'refused: disconnected';
    case 'ignored':
      return `ignored: server selected ${p.selected}`;
    case 'error':
      return `error: ${p.error?.kind ?? '?'}`;
  }
  return String(p.status);
}
function protocolNote(p: ProtocolProbe): string {
  const parts: string[] = [];
  if (p.status === 'ignored') parts.push('nmap counts this as supported');
  if (p.flags?.length) parts.push(`flags: ${p.flags.join(' ')}`);
  if (p.legacyConfirm) parts.push('answered without negotiation data');
  if (p.error && !p.disconnect) parts.push(p.error.message);
  if (p.disconnect) parts.push(p.disconnect);
  return parts.join('; ');
}
const methodText = (m: MethodProbe): string =>
  m.status === 'accepted' ? `${m.selected}${m.notOffered ? ' (not offered)' : ''}` : m.status === 'refused' ? 'refused' : `error: ${m.error?.kind ?? '?'}`;
const methodTone = (m: MethodProbe): Tone => (m.status !== 'accepted' ? 'dim' : m.selected === 'FIPS' ? 'info' : m.selected === '128BIT' ? 'warn' : 'fail');
function methodNote(m: MethodProbe): string {
  const parts = [`offered 0x${m.offered.toString(16)}`];
  if (m.encryptionLevel) parts.push(`level ${m.encryptionLevel}`);
  if (m.error) parts.push(m.error.message);
  return parts.join(', ');
}
const attemptReason = (a: HandshakeAttempt): string => a.reason ?? (a.failure ? `${a.failure.kind} in ${a.failure.phase}: ${a.failure.message}` : '');

function protocolsSection(p: Posture, d: DiagramSet, where: string): string {
  const rows: string[] = [];
  const figures: string[] = [];
  for (const [name, probe] of Object.entries(p.protocols ?? {}) as [string, ProtocolProbe][]) {
    if (!probe) continue;
    rows.push(row(name, probe.status === 'accepted' ? (name === 'RDP' ? 'fail' : 'good') : probe.status === 'error' ? 'warn' : 'dim', protocolText(probe), protocolNote(probe)));
    figures.push(`<figure><figcaption>${esc(name)}</figcaption>${d.svg(protocolQuestionLines(probe), `${where}: ${name} question`, 'seq small')}</figure>`);
  }
  if (p.preferredDetail) rows.push(row('preferred', p.preferred ? 'info' : 'warn', p.preferred ?? protocolText(p.preferredDetail), 'when offered every protocol'));
  if (p.requires) rows.push(row('requires', 'good', p.requires));
  const lg = p.legacy;
  if (lg) {
    const note = [lg.confirm ? `confirm: ${lg.confirm}` : '', lg.detail ?? lg.error?.message ?? ''].filter(Boolean).join('; ');
    rows.push(row('legacy', lg.status === 'accepted' ? 'warn' : lg.status === 'refused' ? 'good' : 'dim', lg.status + (lg.failureCode ? ` (${lg.failureCode})` : ''), note));
    figures.push(`<figure><figcaption>legacy</figcaption>${d.svg(legacyQuestionLines(lg), `${where}: legacy question`, 'seq small')}</figure>`);
  }
  return section('security protocols (X.224 negotiation, MS-RDPBCGR 2.2.1.1)', rowsTable(rows) + `<div class="questions">${figures.join('')}</div>`);
}

function postureSections(p: Posture): string[] {
  const out: string[] = [];
  const ss = p.standardSecurity;
  if (!ss) out.push(section('standard RDP security (MS-RDPBCGR 5.3)', dim('not accepted by the server')));
  else {
    const lvl = String(ss.encryptionLevel);
    const rows = [row('level', lvl === 'NONE' || lvl === 'LOW' ? 'fail' : lvl === 'FIPS' ? 'info' : 'warn', lvl, lvl === 'LOW' ? 'server-to-client traffic is NOT encrypted' : `via ${ss.via}`)];
    for (const [name, m] of Object.entries(ss.methods ?? {}) as [string, MethodProbe][]) if (m) rows.push(row(name, methodTone(m), methodText(m), methodNote(m)));
    if (ss.allOffered) rows.push(row('all offered', methodTone(ss.allOffered), methodText(ss.allOffered), methodNote(ss.allOffered)));
    rows.push(row('random', ss.serverRandom ? 'info' : 'dim', ss.serverRandom ? 'server random present' : 'no server random'));
    const sc = ss.certificate;
    if (sc) rows.push(row('certificate', sc.keyBits < 2048 ? 'warn' : 'info', `${sc.type}, ${String(sc.keyType).toUpperCase()} ${sc.keyBits} bits`, sc.temporary ? 'temporary' : (sc.subject ?? '')));
    out.push(section('standard RDP security (MS-RDPBCGR 5.3)', rowsTable(rows)));
  }

  if (!p.tls) out.push(section('TLS', dim('no protocol that runs over TLS was accepted')));
  else {
    const rows: string[] = [];
    for (const [v, r] of Object.entries(p.tls.versions ?? {})) {
      if (!r) continue;
      const old = v === 'TLSv1' || v === 'TLSv1.1';
      rows.push(row(v, r.accepted ? (old ? 'warn' : 'good') : old ? 'good' : 'dim', r.accepted ? 'accepted' : 'not accepted', r.accepted ? (r.cipher ?? '') : (r.reason ?? '')));
    }
    if (p.tls.default) rows.push(row('default', 'info', p.tls.default.version, p.tls.default.cipher));
    const cert = p.tls.certificate;
    if (cert) {
      const expired = Date.parse(cert.notAfter) < Date.now();
      rows.push(row('subject', 'info', cert.subject));
      rows.push(row('issuer', cert.selfSigned ? 'warn' : 'info', cert.issuer, cert.selfSigned ? 'self-signed' : ''));
      rows.push(row('valid', expired ? 'fail' : 'info', `${cert.notBefore} .. ${cert.notAfter}`, expired ? 'EXPIRED' : ''));
      rows.push(row('key', cert.keyType === 'rsa' && cert.keyBits < 2048 ? 'warn' : 'info', `${String(cert.keyType).toUpperCase()} ${cert.keyBits} bits`, cert.signatureAlgorithm));
      if (cert.subjectAltNames?.length) rows.push(row('SANs', 'info', cert.subjectAltNames.join(', ')));
      rows.push(row('sha256', 'dim', cert.sha256));
    }
    out.push(section('TLS', rowsTable(rows)));
  }

  const d = p.downgrade;
  if (d) {
    const title = 'downgrade protection (MS-RDPBCGR 2.2.1.4.2 clientRequestedProtocols)';
    if (d.ok === null) out.push(section(title, dim(`not checked: ${d.reason ?? ''}`)));
    else {
      const echoed = d.echoed === null || d.echoed === undefined ? 'nothing' : '0x' + d.echoed.toString(16);
      out.push(section(title, rowsTable([row(d.ok ? 'ok' : 'mismatch', d.ok ? 'good' : 'fail', `sent 0x${(d.sent ?? 0).toString(16)}, echoed ${echoed}`, d.via ? `over ${d.via}` : '')])));
    }
  }

  const h = p.hybrid;
  const nlaTitle = 'NLA (CredSSP, MS-CSSP 3.1.5: first round trip only)';
  if (!h) out.push(section(nlaTitle, dim('HYBRID not accepted')));
  else if (!h.credssp) out.push(section(nlaTitle, rowsTable([row('credssp', 'warn', 'no TSRequest in answer', h.error?.message ?? '')])));
  else {
    const rows = [row('version', 'info', `TSRequest version ${h.serverVersion}`, h.errorCode ? `errorCode ${h.errorCode}` : (h.mechanism ?? ''))];
    const n = h.ntlm;
    if (n) {
      rows.push(row('target', 'info', n.targetName));
      if (n.nbDomainName !== undefined) rows.push(row('nb domain', 'info', n.nbDomainName));
      if (n.nbComputerName !== undefined) rows.push(row('nb computer', 'info', n.nbComputerName));
      if (n.dnsDomainName !== undefined) rows.push(row('dns domain', 'info', n.dnsDomainName));
      if (n.dnsComputerName !== undefined) rows.push(row('dns computer', 'info', n.dnsComputerName));
      if (n.dnsTreeName !== undefined) rows.push(row('dns tree', 'info', n.dnsTreeName));
      if (n.productVersion) rows.push(row('version', 'info', n.productVersion));
      if (n.serverTime) rows.push(row('time', Math.abs(n.clockSkewSeconds ?? 0) > 300 ? 'warn' : 'info', n.serverTime, `skew ${n.clockSkewSeconds ?? '?'} s`));
    }
    out.push(section(nlaTitle, rowsTable(rows)));
  }

  const cs = p.credssp;
  if (cs) {
    const legacy = cs.acceptsLegacyVersions;
    const ra = cs.restrictedAdmin;
    const rows = [
      row('version', cs.version >= 5 ? 'good' : 'warn', `TSRequest version ${cs.version}`, cs.version >= 5 ? 'has the CVE-2018-0886 fix' : 'before the CVE-2018-0886 fix (patched clients refuse it unless AllowEncryptionOracle=2)'),
      row('nla', cs.nlaRequired ? 'good' : 'warn', cs.nlaRequired ? 'required' : 'offered, not required', cs.nlaRequired ? '' : 'clients can still get in without authenticating first'),
      row('v2 client', legacy === null ? 'dim' : legacy ? 'warn' : 'good', legacy === null ? 'unknown' : legacy ? 'taken' : 'refused', `judged by the ${cs.legacyCheck === 'logon' ? 'whole logon' : 'CHALLENGE only (try --user for the logon)'}`),
      row('HYBRID_EX', 'info', cs.hybridEx?.advertised ? 'selected when asked' : 'not selected', cs.hybridEx?.earlyUserAuthorization ? `Early User Authorization Result ${cs.hybridEx.earlyUserAuthorization}` : ''),
      row('restricted', 'info', ra?.advertised ? 'RESTRICTED_ADMIN_MODE_SUPPORTED' : 'not advertised', !ra || ra.accepted === null ? '' : ra.accepted ? 'a restricted admin logon was taken' : 'a restricted admin logon was refused'),
    ];
    const cr = cs.credentials;
    if (cr) rows.push(row('logon', cr.accepted === null ? 'warn' : cr.accepted ? 'good' : 'fail', `${cr.user}: ${cr.accepted === null ? 'unknown' : cr.accepted ? 'accepted' : 'refused'}${cr.errorCode ? ` (${cr.errorCode})` : ''}`, [cr.observation, cr.meaning ?? ''].filter(Boolean).join(' ')));
    out.push(section('CredSSP (MS-CSSP: versions, CVE-2018-0886, HYBRID_EX, restricted admin, logon)', rowsTable(rows)));
  }

  const hs = p.handshake;
  if (hs) {
    const rows: string[] = [];
    for (const [layer, a] of Object.entries(hs.layers ?? {})) {
      if (a) rows.push(row(layer, a.works === null ? 'dim' : a.works ? 'good' : 'fail', a.works === null ? 'not attempted' : a.works ? 'works' : 'fails', attemptReason(a)));
    }
    for (const [method, m] of Object.entries(hs.methods ?? {})) {
      const ok = m.attempt?.works ?? (m.plainMac?.works || m.saltedMac?.works);
      const partial = m.plainMac && m.saltedMac && m.plainMac.works !== m.saltedMac.works;
      rows.push(row(method, ok ? (partial ? 'warn' : 'good') : 'fail', ok ? (partial ? `works with the ${m.workingMac === 'salted' ? 'salted' : 'plain'} MAC only` : 'works') : 'fails', m.summary));
    }
    out.push(section('handshake (whole connection sequence, MS-RDPBCGR 1.3.1.1)', rowsTable(rows)));
  }
  return out;
}

export function findingsList(p: Posture): string {
  if (!p.findings?.length) return `<p class="t-good">(none)</p>`;
  const items = p.findings.map((f) => `<li><span class="sev sev-${esc(f.severity)}">${esc(f.severity)}</span> ${esc(f.title)} <code class="muted">(${esc(f.id)})</code>${f.detail ? `<div class="note">${esc(f.detail)}</div>` : ''}</li>`);
  return `<ul class="findings">${items.join('')}</ul>`;
}

/** What to give `rdpsec explain` for this failure (as simulation.ts says it). */
function explainArgument(f: SimulatedFailure): string {
  if (f.clientCode) return f.clientCode;
  return JSON.stringify((f.clientMessage ?? '').split('\n')[0]!.slice(0, 80));
}

/** The grid cell's words: the protocol and TLS version, or x and the failure code (as `simulate --matrix`). */
export function verdictCell(v: ClientVerdict): string {
  if (v.connects && v.negotiated) return `${v.negotiated.protocol}${v.negotiated.tlsVersion ? ` ${v.negotiated.tlsVersion.replace('TLSv', '')}` : ''}`;
  return `x ${v.failure?.code ?? '?'}`;
}

/** The grid cell's tooltip: what the connection gets, or what the client shows, and the fix. */
export function verdictTooltip(v: ClientVerdict): string {
  const lines: string[] = [];
  if (v.connects && v.negotiated) lines.push(`connects with ${describeNegotiated(v.negotiated)}`);
  else if (v.failure) lines.push(`fails: ${describeFailure(v.failure)}`, `shows: ${v.failure.clientMessage}`);
  if (v.fix) lines.push(`${v.fix.safety === 'safe' ? 'fix' : 'fix (weakens security)'}: ${v.fix.summary}`);
  return lines.join('\n');
}

function verdictBlock(v: ClientVerdict, d: DiagramSet, where: string): string {
  const parts: string[] = [];
  if (v.connects && v.negotiated) parts.push(`<p><span class="t-good"><b>connects</b></span> with ${esc(describeNegotiated(v.negotiated))}</p>`);
  else if (v.failure) {
    const f = v.failure;
    const code = [f.clientCode, f.exitCode !== null && f.exitCode !== undefined ? `exit code ${f.exitCode}` : null].filter(Boolean).join(', ');
    parts.push(`<p><span class="t-fail">fails</span>: ${esc(describeFailure(f))}: ${esc(f.reason)}</p>`);
    parts.push(`<div>the client shows:</div><pre class="msg">${esc(f.clientMessage)}</pre>`);
    if (code) parts.push(`<p class="note">${esc(code)}</p>`);
    parts.push(`<p class="note">more: <code>rdpsec explain ${esc(explainArgument(f))}</code></p>`);
  }
  if (v.fix) parts.push(`<p>${v.fix.safety === 'safe' ? '<span class="t-good">fix:</span>' : '<span class="t-fail">fix (weakens security):</span>'} ${esc(v.fix.summary)} <code class="muted">(${esc(v.fix.id)})</code></p>`);
  (v.exchanges ?? []).forEach((ex, i) => {
    parts.push(`<figure><figcaption>connection ${i + 1}</figcaption>${d.svg(ex, `${where}: ${v.client}, connection ${i + 1}`)}</figure>`);
  });
  return `<div class="verdict"><h3>${esc(v.client)}</h3>${parts.join('')}</div>`;
}

export function hostPage(r: HostScanRecord, id: string, d: DiagramSet): string {
  const where = endpoint(r);
  const head = [
    row('target', 'info', r.target.input),
    row('status', r.status === 'ok' ? 'good' : 'fail', r.status, r.error ? `${r.error.kind} at ${r.error.phase}: ${r.error.message}` : ''),
    row('started', 'info', r.startedAt, `${(r.durationMs / 1000).toFixed(2)} s, ${r.tries} ${r.tries === 1 ? 'try' : 'tries'}${r.posture ? `, ${r.posture.connections} connections` : ''}`),
  ];
  const body: string[] = [`<p><a href="#hosts">\u2190 fleet overview</a></p>`, `<h2>${esc(where)}</h2>`, rowsTable(head)];
  const p = r.posture;
  if (!p) body.push(dim('no posture: the endpoint did not answer'));
  else if (!p.reachable) body.push(`<p class="t-fail">unreachable: no connection got an answer</p>`);
  else {
    body.push(protocolsSection(p, d, where));
    body.push(...postureSections(p));
    body.push(section('findings', findingsList(p)));
  }
  if (r.clients?.length) {
    body.push(`<h3>which clients get in (simulated against the server as probed; rdpsec doctor HOST --client C for one)</h3>`);
    for (const v of r.clients) body.push(verdictBlock(v, d, where));
  }
  return `<section class="host-page" id="${id}">${body.join('')}</section>`;
}
