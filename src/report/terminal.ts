import pc from 'picocolors';
import { protocolMaskNames } from '../pdu/nego.js';
import type { Finding, MethodProbe, Posture, ProtocolProbe } from '../probe/posture.js';

/**
 * The terminal report of one probed server, grouped like ssh-audit's: one section per layer,
 * one line per question, coloured by what it means for security, findings last.
 */
export interface TerminalOptions {
  color: boolean;
}

type Colors = ReturnType<typeof pc.createColors>;
type Tone = 'good' | 'warn' | 'fail' | 'info' | 'dim';

/** Colour on when writing to a terminal and NO_COLOR is unset (https://no-color.org). */
export function wantColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(stream.isTTY);
}

export function renderPosture(p: Posture, opts: TerminalOptions): string {
  const c = pc.createColors(opts.color);
  const tone = (t: Tone, s: string) =>
    t === 'good' ? c.green(s) : t === 'warn' ? c.yellow(s) : t === 'fail' ? c.red(s) : t === 'dim' ? c.dim(s) : s;
  const lines: string[] = [];
  const section = (title: string) => lines.push('', c.bold(c.cyan(`# ${title}`)));
  const row = (tag: string, key: string, t: Tone, value: string, note = '') =>
    lines.push(`${c.dim(`(${tag})`)} ${key.padEnd(12)} ${tone(t, value)}${note ? '  ' + c.dim(note) : ''}`);

  lines.push(
    c.bold(`rdpsec probe ${p.target.host}:${p.target.port}`) +
      c.dim(`  ${p.connections} connections, ${(p.durationMs / 1000).toFixed(2)} s, ${p.startedAt}`),
  );
  if (!p.reachable) {
    lines.push('', tone('fail', 'unreachable: no connection got an answer'));
    const e = p.preferredDetail.error;
    if (e) lines.push(c.dim(`  ${e.phase}: ${e.message}`));
    return lines.join('\n') + '\n';
  }

  section('security protocols (X.224 negotiation, MS-RDPBCGR 2.2.1.1)');
  for (const [name, probe] of Object.entries(p.protocols) as [string, ProtocolProbe][]) {
    const weakIfAccepted = name === 'RDP';
    row('proto', name, protocolTone(probe, weakIfAccepted), protocolText(probe), protocolNote(name, probe));
  }
  row('proto', 'preferred', p.preferred ? 'info' : 'warn', p.preferred ?? protocolText(p.preferredDetail), `when offered ${protocolMaskNames(p.preferredDetail.requested).join('|')}`);
  if (p.requires) row('proto', 'requires', 'good', p.requires);
  const lg = p.legacy;
  row(
    'proto',
    'legacy',
    lg.status === 'accepted' ? 'warn' : lg.status === 'refused' ? 'good' : 'dim',
    lg.status + (lg.failureCode ? ` (${lg.failureCode})` : ''),
    [lg.confirm ? `confirm: ${lg.confirm}` : '', lg.detail ?? lg.error?.message ?? ''].filter(Boolean).join('; '),
  );

  const ss = p.standardSecurity;
  section('standard RDP security (MS-RDPBCGR 5.3)');
  if (!ss) {
    lines.push(c.dim('(enc) not accepted by the server'));
  } else {
    const lvl = String(ss.encryptionLevel);
    row('enc', 'level', lvl === 'NONE' || lvl === 'LOW' ? 'fail' : lvl === 'FIPS' ? 'info' : 'warn', lvl, lvl === 'LOW' ? 'server-to-client traffic is NOT encrypted' : `via ${ss.via}`);
    for (const [name, m] of Object.entries(ss.methods) as [string, MethodProbe][]) row('enc', name, methodTone(m), methodText(m), methodNote(m));
    row('enc', 'all offered', methodTone(ss.allOffered), methodText(ss.allOffered), methodNote(ss.allOffered));
    row('enc', 'random', ss.serverRandom ? 'info' : 'dim', ss.serverRandom ? 'server random present' : 'no server random');
    if (ss.certificate) {
      const sc = ss.certificate;
      row('enc', 'certificate', sc.keyBits < 2048 ? 'warn' : 'info', `${sc.type}, ${sc.keyType.toUpperCase()} ${sc.keyBits} bits`, sc.temporary ? 'temporary' : sc.subject ?? '');
    }
  }

  section('TLS');
  if (!p.tls) {
    lines.push(c.dim('(tls) no protocol that runs over TLS was accepted'));
  } else {
    for (const [v, r] of Object.entries(p.tls.versions)) {
      if (!r) continue;
      const old = v === 'TLSv1' || v === 'TLSv1.1';
      row('tls', v, r.accepted ? (old ? 'warn' : 'good') : old ? 'good' : 'dim', r.accepted ? 'accepted' : 'not accepted', r.accepted ? (r.cipher ?? '') : (r.reason ?? ''));
    }
    if (p.tls.default) row('tls', 'default', 'info', p.tls.default.version, p.tls.default.cipher);
    const cert = p.tls.certificate;
    if (cert) {
      const expired = Date.parse(cert.notAfter) < Date.now();
      row('cert', 'subject', 'info', cert.subject);
      row('cert', 'issuer', cert.selfSigned ? 'warn' : 'info', cert.issuer, cert.selfSigned ? 'self-signed' : '');
      row('cert', 'valid', expired ? 'fail' : 'info', `${cert.notBefore} .. ${cert.notAfter}`, expired ? 'EXPIRED' : '');
      row('cert', 'key', cert.keyType === 'rsa' && cert.keyBits < 2048 ? 'warn' : 'info', `${cert.keyType.toUpperCase()} ${cert.keyBits} bits`, cert.signatureAlgorithm);
      if (cert.subjectAltNames.length) row('cert', 'SANs', 'info', cert.subjectAltNames.join(', '));
      row('cert', 'sha256', 'dim', cert.sha256);
    }
  }

  section('downgrade protection (MS-RDPBCGR 2.2.1.4.2 clientRequestedProtocols)');
  const d = p.downgrade;
  if (d.ok === null) lines.push(c.dim(`(down) not checked: ${d.reason ?? ''}`));
  else
    row(
      'down',
      d.ok ? 'ok' : 'mismatch',
      d.ok ? 'good' : 'fail',
      `sent 0x${(d.sent ?? 0).toString(16)}, echoed ${d.echoed === null || d.echoed === undefined ? 'nothing' : '0x' + d.echoed.toString(16)}`,
      d.via ? `over ${d.via}` : '',
    );

  section('NLA (CredSSP, MS-CSSP 3.1.5: first round trip only)');
  const h = p.hybrid;
  if (!h) {
    lines.push(c.dim('(nla) HYBRID not accepted'));
  } else if (!h.credssp) {
    row('nla', 'credssp', 'warn', 'no TSRequest in answer', h.error?.message ?? '');
  } else {
    row('nla', 'version', 'info', `TSRequest version ${h.serverVersion}`, h.errorCode ? `errorCode ${h.errorCode}` : (h.mechanism ?? ''));
    const n = h.ntlm;
    if (n) {
      row('ntlm', 'target', 'info', n.targetName);
      if (n.nbDomainName !== undefined) row('ntlm', 'nb domain', 'info', n.nbDomainName);
      if (n.nbComputerName !== undefined) row('ntlm', 'nb computer', 'info', n.nbComputerName);
      if (n.dnsDomainName !== undefined) row('ntlm', 'dns domain', 'info', n.dnsDomainName);
      if (n.dnsComputerName !== undefined) row('ntlm', 'dns computer', 'info', n.dnsComputerName);
      if (n.dnsTreeName !== undefined) row('ntlm', 'dns tree', 'info', n.dnsTreeName);
      if (n.productVersion) row('ntlm', 'version', 'info', n.productVersion);
      if (n.serverTime) row('ntlm', 'time', Math.abs(n.clockSkewSeconds ?? 0) > 300 ? 'warn' : 'info', n.serverTime, `skew ${n.clockSkewSeconds ?? '?'} s`);
    }
  }

  const cs = p.credssp;
  if (cs) {
    section('CredSSP (MS-CSSP: versions, CVE-2018-0886, HYBRID_EX, restricted admin, logon)');
    row('cssp', 'version', cs.version >= 5 ? 'good' : 'warn', `TSRequest version ${cs.version}`, cs.version >= 5 ? 'has the CVE-2018-0886 fix' : 'before the CVE-2018-0886 fix (patched clients refuse it unless AllowEncryptionOracle=2)');
    row('cssp', 'nla', cs.nlaRequired ? 'good' : 'warn', cs.nlaRequired ? 'required' : 'offered, not required', cs.nlaRequired ? '' : 'clients can still get in without authenticating first');
    const legacy = cs.acceptsLegacyVersions;
    row('cssp', 'v2 client', legacy === null ? 'dim' : legacy ? 'warn' : 'good', legacy === null ? 'unknown' : legacy ? 'taken' : 'refused', `judged by the ${cs.legacyCheck === 'logon' ? 'whole logon' : 'CHALLENGE only (try --user for the logon)'}`);
    row('cssp', 'HYBRID_EX', 'info', cs.hybridEx.advertised ? 'selected when asked' : 'not selected', cs.hybridEx.earlyUserAuthorization ? `Early User Authorization Result ${cs.hybridEx.earlyUserAuthorization}` : '');
    const ra = cs.restrictedAdmin;
    row('cssp', 'restricted', 'info', ra.advertised ? 'RESTRICTED_ADMIN_MODE_SUPPORTED' : 'not advertised', ra.accepted === null ? '' : ra.accepted ? 'a restricted admin logon was taken' : 'a restricted admin logon was refused');
    const cr = cs.credentials;
    if (cr) {
      row('cssp', 'logon', cr.accepted === null ? 'warn' : cr.accepted ? 'good' : 'fail', `${cr.user}: ${cr.accepted === null ? 'unknown' : cr.accepted ? 'accepted' : 'refused'}${cr.errorCode ? ` (${cr.errorCode})` : ''}`, cr.observation);
      if (cr.meaning) lines.push(c.dim(`       ${cr.meaning}`));
    }
  }

  if (p.handshake) {
    section('handshake (whole connection sequence, MS-RDPBCGR 1.3.1.1)');
    const hs = p.handshake;
    for (const [layer, a] of Object.entries(hs.layers)) {
      if (!a) continue;
      row('hand', layer, a.works === null ? 'dim' : a.works ? 'good' : 'fail', a.works === null ? 'not attempted' : a.works ? 'works' : 'fails', a.reason ?? (a.failure ? `${a.failure.kind} in ${a.failure.phase}: ${a.failure.message}` : ''));
    }
    for (const [method, m] of Object.entries(hs.methods)) {
      const ok = m.attempt?.works ?? (m.plainMac?.works || m.saltedMac?.works);
      const partial = m.plainMac && m.saltedMac && m.plainMac.works !== m.saltedMac.works;
      row('hand', method, ok ? (partial ? 'warn' : 'good') : 'fail', ok ? (partial ? `works with the ${m.workingMac === 'salted' ? 'salted' : 'plain'} MAC only` : 'works') : 'fails', m.summary);
    }
  }

  section('findings');
  if (!p.findings.length) lines.push(tone('good', '(none)'));
  for (const f of p.findings) lines.push(findingLine(f, c));
  return lines.join('\n') + '\n';
}

function findingLine(f: Finding, c: Colors): string {
  const label = `[${f.severity}]`.padEnd(10);
  const col = f.severity === 'critical' || f.severity === 'high' ? c.red : f.severity === 'medium' ? c.yellow : f.severity === 'low' ? c.cyan : c.dim;
  return `${col(label)} ${f.title} ${c.dim(`(${f.id})`)}`;
}

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
}
function protocolTone(p: ProtocolProbe, weakIfAccepted: boolean): Tone {
  if (p.status === 'accepted') return weakIfAccepted ? 'fail' : 'good';
  if (p.status === 'error') return 'warn';
  return 'dim';
}
function protocolNote(_name: string, p: ProtocolProbe): string {
  const parts: string[] = [];
  if (p.status === 'ignored') parts.push('nmap counts this as supported');
  if (p.flags?.length) parts.push(`flags: ${p.flags.join(' ')}`);
  if (p.legacyConfirm) parts.push('answered without negotiation data');
  if (p.error && !p.disconnect) parts.push(p.error.message);
  if (p.disconnect) parts.push(p.disconnect);
  return parts.join('; ');
}
function methodText(m: MethodProbe): string {
  if (m.status === 'accepted') return `${m.selected}${m.notOffered ? ' (not offered)' : ''}`;
  if (m.status === 'refused') return 'refused';
  return `error: ${m.error?.kind ?? '?'}`;
}
function methodTone(m: MethodProbe): Tone {
  if (m.status !== 'accepted') return 'dim';
  if (m.selected === 'FIPS') return 'info';
  if (m.selected === '128BIT') return 'warn';
  return 'fail';
}
function methodNote(m: MethodProbe): string {
  const parts = [`offered 0x${m.offered.toString(16)}`];
  if (m.encryptionLevel) parts.push(`level ${m.encryptionLevel}`);
  if (m.error) parts.push(m.error.message);
  return parts.join(', ');
}
