/**
 * Shared checks of a probed Posture against independent sources of truth: the server's own log
 * (xrdp), the server's certificate file, and nmap's rdp-enum-encryption (agreeing where nmap is
 * right, disagreeing exactly where it calls an ignored protocol a success).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PROTOCOL, type ProtocolName } from '../../src/pdu/nego.js';
import type { MethodName, Posture } from '../../src/probe/posture.js';
import { readXrdpSecurityLog, type XrdpSecurityLog } from './harness.js';
import { NMAP_METHOD_FLAG, NMAP_PROTOCOL_REQUEST, type NmapEnumEncryption } from './nmap.js';

/** xrdp prints requested protocols as names, RDP always among them; back to a mask. */
export function maskOf(names: readonly string[]): number {
  return names.reduce((m, n) => (n === 'RDP' ? m : m | (PROTOCOL as Record<string, number>)[n]!), 0);
}

/** Every protocol answer we report is what xrdp itself logged for that request. */
export function assertAgreesWithXrdpLog(p: Posture, log: XrdpSecurityLog): void {
  const byMask = new Map<number, string[][]>();
  for (const e of log.security) {
    const m = maskOf(e.requested);
    byMask.set(m, [...(byMask.get(m) ?? []), e.selected]);
  }
  for (const [name, probe] of Object.entries(p.protocols)) {
    if (probe.status !== 'accepted' && probe.status !== 'ignored' && !(probe.status === 'refused' && probe.failureCode)) continue;
    const logged = byMask.get(probe.requested);
    assert.ok(logged, `${name}: xrdp logged no "Security protocol" line for requested 0x${probe.requested.toString(16)}`);
    const expected = probe.status === 'refused' ? [] : [probe.selected!];
    assert.ok(
      logged.some((sel) => sel.join('|') === expected.join('|')),
      `${name}: we report ${probe.status} ${probe.selected ?? probe.failureCode}, xrdp logged selected ${JSON.stringify(logged)}`,
    );
  }
}

/** The method xrdp says it agreed on ("using RDP 128-bit encryption") is the one we report. */
export function assertEncryptionAgreesWithXrdpLog(p: Posture, log: XrdpSecurityLog): void {
  const ss = p.standardSecurity;
  assert.ok(ss, 'standard RDP security expected');
  const agreed = log.encryption.filter((e) => e.kind === 'agreed').map((e) => e.method);
  const xrdpMethod: Record<string, string> = { '40-bit': '40BIT', '56-bit': '56BIT', '128-bit': '128BIT', fips: 'FIPS' };
  if (ss.allOffered.selected !== 'NONE') {
    assert.ok(agreed.length > 0, 'xrdp logged no agreed encryption');
    for (const m of agreed) assert.equal(xrdpMethod[m!], ss.allOffered.selected, `xrdp agreed on ${m}`);
  }
  const levels: Record<string, string> = { none: 'NONE', low: 'LOW', medium: 'CLIENT_COMPATIBLE', high: 'HIGH', fips: 'FIPS' };
  for (const e of log.nonTls) assert.equal(levels[e.securityLevel], ss.encryptionLevel, `xrdp: security level ${e.securityLevel}`);
}

/**
 * TLS versions: each handshake xrdp refused shows in its log as an OpenSSL error ("unsupported
 * protocol", "wrong version number"; "unexpected eof" is a client that never started TLS,
 * as our negotiation-only questions do); each it completed and logged ("TLS connection established ...: TLSv1.3 with cipher
 * X", written only once a session gets that far) has the version and cipher we report.
 */
export function assertTlsAgreesWithXrdpLog(p: Posture, log: XrdpSecurityLog): void {
  assert.ok(p.tls, 'TLS expected');
  for (const e of log.tls) {
    const v = p.tls.versions[e.version as 'TLSv1.2'];
    assert.ok(v?.accepted, `xrdp logged a ${e.version} connection that we report as not accepted`);
    assert.ok(e.cipher === v.cipher || e.cipher === v.opensslCipher, `${e.version}: xrdp logged ${e.cipher}, we report ${v.cipher} / ${v.opensslCipher}`);
  }
  const refused = refusedTlsVersions(p);
  const logged = loggedTlsRefusals(log);
  assert.equal(logged, refused, `xrdp logged ${logged} refused handshakes, we report ${refused} versions refused`);
}

function refusedTlsVersions(p: Posture): number {
  return Object.values(p.tls?.versions ?? {}).filter((v) => v && !v.accepted).length;
}

function loggedTlsRefusals(log: XrdpSecurityLog): number {
  return log.errors.filter((e) => /^SSL: error:/.test(e.message) && !/unexpected eof/.test(e.message)).length;
}

/**
 * xrdp's log once it has caught up with the probe: each connection is served by a forked child
 * that logs a refused TLS handshake when it gets to it, which can be after our side has already
 * seen the alert and moved on. Waits (bounded) until as many refusals are logged as the posture
 * reports, then returns the log as it is (the assertions then compare).
 */
export async function xrdpLogAfter(logPath: string, p: Posture, timeoutMs = 3000): Promise<XrdpSecurityLog> {
  const want = refusedTlsVersions(p);
  const until = Date.now() + timeoutMs;
  let log = readXrdpSecurityLog(logPath);
  while (loggedTlsRefusals(log) < want && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    log = readXrdpSecurityLog(logPath);
  }
  return log;
}

/** The certificate we report is the one in the server's PEM file. */
export function assertCertificateIsFile(p: Posture, pemPath: string): void {
  const x = new X509Certificate(readFileSync(pemPath));
  const c = p.tls?.certificate;
  assert.ok(c, 'certificate expected');
  assert.equal(c.sha256, x.fingerprint256.replace(/:/g, '').toLowerCase());
  assert.equal(c.subject, x.subject.replace(/\n/g, ', '));
  assert.equal(c.keyType, 'rsa');
  assert.equal(c.keyBits, 2048);
  assert.equal(c.selfSigned, true);
  assert.equal(c.notAfter, new Date(x.validTo).toISOString());
}

const NMAP_TO_OURS: Record<string, ProtocolName> = {
  'Native RDP': 'RDP',
  SSL: 'SSL',
  'CredSSP (NLA)': 'HYBRID',
  RDSTLS: 'RDSTLS',
  'CredSSP with Early User Auth': 'HYBRID_EX',
};
const NMAP_METHOD_TO_OURS: Record<string, MethodName> = {
  '40-bit RC4': '40BIT',
  '56-bit RC4': '56BIT',
  '128-bit RC4': '128BIT',
  'FIPS 140-1': 'FIPS',
};

export interface NmapComparison {
  /** protocols nmap reports as SUCCESS that the server really ignored (nmap is wrong) */
  nmapWrong: string[];
  /** protocols and methods both report as supported */
  agreed: string[];
}

/**
 * Every protocol and method nmap reports correctly is in our report; where nmap says SUCCESS
 * for a protocol the server ignored, we say "ignored" (nmap's mistake), and the list says so.
 */
export function compareWithNmap(p: Posture, nmap: NmapEnumEncryption): NmapComparison {
  const out: NmapComparison = { nmapWrong: [], agreed: [] };
  for (const [nmapName, r] of Object.entries(nmap.protocols)) {
    const ours = NMAP_TO_OURS[nmapName];
    if (!ours) continue;
    const probe = p.protocols[ours];
    const sameRequest = probe.requested === NMAP_PROTOCOL_REQUEST[nmapName as keyof typeof NMAP_PROTOCOL_REQUEST];
    if (r.result === 'SUCCESS') {
      if (probe.status === 'accepted') out.agreed.push(ours);
      else if (probe.status === 'ignored') out.nmapWrong.push(ours);
      else if (sameRequest) assert.fail(`${ours}: nmap says SUCCESS, we say ${probe.status} ${probe.failureCode ?? ''}`);
    } else if (r.result === 'FAILED' && sameRequest && r.failure) {
      assert.equal(probe.status, 'refused', `${ours}: nmap says FAILED (${r.failure}), we say ${probe.status}`);
      assert.equal(probe.failureCode, r.failure, `${ours}: failure code`);
    }
  }
  for (const [nmapName, r] of Object.entries(nmap.methods)) {
    if (r !== 'SUCCESS') continue;
    const m = NMAP_METHOD_TO_OURS[nmapName]!;
    const ours = p.standardSecurity?.methods[m];
    assert.ok(ours, `nmap reports ${nmapName} SUCCESS; we report no such method probe`);
    assert.equal(ours.selected, m, `nmap reports ${nmapName} SUCCESS (flag 0x${NMAP_METHOD_FLAG[nmapName as keyof typeof NMAP_METHOD_FLAG].toString(16)})`);
    out.agreed.push(m);
  }
  return out;
}
