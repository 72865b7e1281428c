import type { Finding, Posture } from '../probe/posture.js';
import { finding } from './findings-catalogue.js';

const SEVERITY_ORDER: Finding['severity'][] = ['critical', 'high', 'medium', 'low', 'info'];
const DAY_MS = 86_400_000;

/**
 * The findings for a probed posture. Each rule reads the posture only (what was seen on the
 * wire); the words and severities come from data/findings.yaml.
 */
export function postureFindings(p: Posture, now: Date = new Date()): Finding[] {
  const out: Finding[] = [];
  if (!p.reachable) return [finding('unreachable')];

  const rdpAccepted = p.protocols.RDP.status === 'accepted' || p.legacy.status === 'accepted';
  if (rdpAccepted) {
    const via = [p.protocols.RDP.status === 'accepted' ? 'an RDP_NEG_REQ for PROTOCOL_RDP' : '', p.legacy.status === 'accepted' ? 'a legacy request' : '']
      .filter(Boolean)
      .join(' and ');
    out.push(finding('rdp-security-accepted', `Accepted through ${via}.`));
  }
  if (p.legacy.status === 'accepted') out.push(finding('legacy-client-accepted'));

  const ss = p.standardSecurity;
  if (ss) {
    if (ss.encryptionLevel === 'NONE') out.push(finding('encryption-none'));
    if (ss.encryptionLevel === 'LOW') out.push(finding('encryption-level-low'));
    const picked = new Set<string>();
    for (const m of [...Object.values(ss.methods), ss.allOffered]) {
      if (m?.status === 'accepted' && m.selected) picked.add(m.selected);
    }
    if (picked.has('40BIT')) out.push(finding('rc4-40bit-accepted'));
    if (picked.has('56BIT')) out.push(finding('rc4-56bit-accepted'));
    if (picked.has('128BIT')) out.push(finding('rc4-128bit-accepted'));
    if (ss.imposesMethods.length) {
      out.push(finding('method-not-offered', `Answered with ${ss.imposesMethods.join(', ')} to a client that did not offer it.`));
    }
    if (ss.certificate && ss.certificate.keyType === 'rsa' && ss.certificate.keyBits < 2048) {
      out.push(finding('rdp-weak-server-key', `The key has ${ss.certificate.keyBits} bits.`));
    }
  }

  const ignored = (Object.entries(p.protocols) as [string, Posture['protocols']['RDP']][])
    .filter(([, v]) => v.status === 'ignored')
    .map(([k, v]) => `${k} (answered ${v.selected})`);
  if (ignored.length) out.push(finding('protocol-ignored', `Ignored: ${ignored.join(', ')}.`));

  const nla = p.protocols.HYBRID.status === 'accepted' || p.protocols.HYBRID_EX.status === 'accepted';
  if (!nla) out.push(finding('nla-not-supported'));
  else if (p.protocols.SSL.status === 'accepted' || rdpAccepted) {
    const without = [p.protocols.SSL.status === 'accepted' ? 'TLS' : '', rdpAccepted ? 'Standard RDP Security' : ''].filter(Boolean).join(' and ');
    out.push(finding('nla-not-required', `Connections with ${without} alone are accepted.`));
  }

  const cs = p.credssp;
  if (cs) {
    if (cs.version > 0 && cs.version < 5) out.push(finding('credssp-unpatched', `It answers with TSRequest version ${cs.version}.`));
    else if (cs.acceptsLegacyVersions) {
      out.push(finding('credssp-accepts-unpatched-clients', cs.legacyCheck === 'logon' ? 'A version 2 client logged on.' : 'A version 2 client was answered (judged by the CHALLENGE; --user checks the whole logon).'));
    }
    if (cs.credentials && cs.credentials.accepted === false) {
      out.push(finding('credssp-logon-refused', `${cs.credentials.user}: ${cs.credentials.errorCode ?? cs.credentials.observation}${cs.credentials.meaning ? ` (${cs.credentials.meaning})` : ''}.`));
    }
    if (cs.restrictedAdmin.accepted) out.push(finding('restricted-admin-accepted'));
  }

  const tls = p.tls;
  if (tls) {
    if (tls.versions['TLSv1']?.accepted) out.push(finding('tls-1.0-accepted'));
    if (tls.versions['TLSv1.1']?.accepted) out.push(finding('tls-1.1-accepted'));
    const modern = tls.versions['TLSv1.2']?.accepted || tls.versions['TLSv1.3']?.accepted;
    const anyTested = Object.values(tls.versions).some((v) => v?.accepted);
    if (anyTested && !modern) out.push(finding('tls-1.2-not-supported'));
    const weak = Object.entries(tls.versions)
      .filter(([, v]) => v?.accepted && v.cipher && isWeakCipher(v.cipher))
      .map(([k, v]) => `${v!.cipher} with ${k}`);
    if (weak.length) out.push(finding('tls-weak-cipher', `Negotiated: ${weak.join(', ')}.`));
    const c = tls.certificate;
    if (c) {
      if (c.selfSigned) out.push(finding('cert-self-signed', `Subject ${c.subject}.`));
      const notAfter = Date.parse(c.notAfter);
      const notBefore = Date.parse(c.notBefore);
      if (notAfter < now.getTime()) out.push(finding('cert-expired', `It expired on ${c.notAfter}.`));
      else if (notAfter - now.getTime() < 30 * DAY_MS) out.push(finding('cert-expires-soon', `It expires on ${c.notAfter}.`));
      if (notBefore > now.getTime()) out.push(finding('cert-not-yet-valid', `It is valid from ${c.notBefore}.`));
      if (c.keyType === 'rsa' && c.keyBits < 2048) out.push(finding('cert-weak-key', `The key has ${c.keyBits} bits.`));
      if (/sha1|md5|md2/i.test(c.signatureAlgorithm)) out.push(finding('cert-weak-signature', `Signed with ${c.signatureAlgorithm}.`));
    }
  }

  if (p.downgrade.ok === false) {
    if (p.downgrade.echoed === null || p.downgrade.echoed === undefined) out.push(finding('downgrade-not-echoed'));
    else out.push(finding('downgrade-mismatch', `Sent 0x${(p.downgrade.sent ?? 0).toString(16)}, echoed 0x${p.downgrade.echoed.toString(16)}.`));
  }

  const hs = p.handshake;
  if (hs) {
    const saltedRejected = Object.entries(hs.methods).filter(([, m]) => m.plainMac?.works && m.saltedMac && !m.saltedMac.works).map(([k]) => k);
    if (saltedRejected.length) out.push(finding('salted-mac-rejected', `Seen with ${saltedRejected.join(', ')}.`));
    const failing = [
      ...Object.entries(hs.layers).filter(([, a]) => a?.works === false).map(([k]) => k),
      ...Object.entries(hs.methods).filter(([, m]) => !(m.attempt?.works ?? (m.plainMac?.works || m.saltedMac?.works))).map(([k]) => k),
    ];
    if (failing.length) out.push(finding('handshake-fails', `Fails: ${failing.join(', ')}.`));
    const clearS2c = Object.entries(hs.methods)
      .filter(([, m]) => [m.attempt, m.plainMac, m.saltedMac].some((a) => a?.works && a.encrypted?.clientToServer && !a.encrypted.serverToClient))
      .map(([k]) => k);
    if (clearS2c.length) out.push(finding('server-to-client-unencrypted', `With ${clearS2c.join(', ')}.`));
  }

  return out.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
}

/** IANA suite names that RFC 7465 / RFC 9325 rule out or that lack forward secrecy. */
export function isWeakCipher(iana: string): boolean {
  if (/_RC4_|_3DES_|_DES_|EXPORT|_NULL_|_anon_|_MD5$/.test(iana)) return true;
  // TLS 1.3 suites (TLS_AES_*, TLS_CHACHA20_*) always have forward secrecy
  if (/^TLS_(AES|CHACHA20)_/.test(iana)) return false;
  return !/_(ECDHE|DHE)_/.test(iana);
}
