/**
 * Findings, JSON and terminal reports over Postures built as data: a literal mirroring what
 * `probe` found on a real xrdp 0.9.21 with Debian's defaults (security_layer=negotiate,
 * crypt_level=high, ssl_protocols=TLSv1.2, TLSv1.3, a self-signed certificate), and variations
 * of it for the certificate-date and TLS rules. Also the findings catalogue (data/findings.yaml).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { DataError, checkData, loadData } from '../../src/data/load.js';
import { finding, findingsCatalogue } from '../../src/diagnose/findings-catalogue.js';
import { isWeakCipher, postureFindings } from '../../src/diagnose/posture-findings.js';
import type { CredsspPosture, CertificateSummary, Finding, Posture } from '../../src/probe/posture.js';
import { toJson } from '../../src/report/json.js';
import { renderPosture, wantColor } from '../../src/report/terminal.js';

const SCHEMA = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/probe.schema.json', import.meta.url)), 'utf8')) as object;
const FINDINGS_SOURCE = readFileSync(fileURLToPath(new URL('../../../src/diagnose/posture-findings.ts', import.meta.url)), 'utf8');

const ajv = new Ajv({ strict: false });
// ajv-formats is not a dependency; check the one format the schema uses ourselves (RFC 3339)
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/);
const validate = ajv.compile(SCHEMA);

/** The day the xrdp posture was taken; certificate rules are evaluated against it. */
const NOW = new Date('2026-11-21T12:00:00.000Z');
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

const CERT: CertificateSummary = {
  subject: 'CN=rdpsec-demo',
  issuer: 'CN=rdpsec-demo',
  selfSigned: true,
  notBefore: '2026-11-21T10:00:00.000Z',
  // far ahead: renderPosture judges expiry against the real clock, not NOW
  notAfter: '2099-11-21T10:00:00.000Z',
  keyType: 'rsa',
  keyBits: 2048,
  signatureAlgorithm: 'sha256WithRSAEncryption',
  subjectAltNames: [],
  sha256: 'a3'.repeat(32),
  serial: '5f1c2a',
};

const X224 = { kind: 'MCS_DISCONNECT_PROVIDER_ULTIMATUM', phase: 'x224' };

/** xrdp 0.9.21, security_layer=negotiate, crypt_level=high, as rdpsec probe sees it. */
function xrdpPosture(): Posture {
  const disconnect = 'the server disconnected (rn-user-requested) instead of confirming the connection';
  return {
    schemaVersion: 1,
    target: { host: '127.0.0.1', port: 33891 },
    startedAt: '2026-11-21T12:00:00.000Z',
    durationMs: 412,
    reachable: true,
    protocols: {
      RDP: { status: 'accepted', requested: 0x0, selected: 'RDP', flags: ['EXTENDED_CLIENT_DATA_SUPPORTED'] },
      SSL: { status: 'accepted', requested: 0x1, selected: 'SSL', flags: ['EXTENDED_CLIENT_DATA_SUPPORTED'] },
      HYBRID: { status: 'ignored', requested: 0x3, selected: 'SSL', flags: ['EXTENDED_CLIENT_DATA_SUPPORTED'] },
      RDSTLS: { status: 'ignored', requested: 0x4, selected: 'RDP', flags: ['EXTENDED_CLIENT_DATA_SUPPORTED'] },
      HYBRID_EX: { status: 'ignored', requested: 0xb, selected: 'SSL', flags: ['EXTENDED_CLIENT_DATA_SUPPORTED'] },
      RDSAAD: { status: 'refused', requested: 0x10, disconnect, error: { ...X224, message: disconnect } },
    },
    preferred: 'SSL',
    preferredDetail: { status: 'accepted', requested: 0xb, selected: 'SSL', flags: ['EXTENDED_CLIENT_DATA_SUPPORTED'] },
    requires: null,
    legacy: { status: 'accepted', failureCode: null, confirm: 'no-negotiation-data', selected: 'RDP', detail: 'MCS Connect Response received' },
    standardSecurity: {
      encryptionLevel: 'HIGH',
      via: 'RDP_NEG_REQ',
      methods: {
        '40BIT': { status: 'accepted', offered: 0x01, selected: '128BIT', encryptionLevel: 'HIGH', notOffered: true },
        '56BIT': { status: 'accepted', offered: 0x08, selected: '128BIT', encryptionLevel: 'HIGH', notOffered: true },
        '128BIT': { status: 'accepted', offered: 0x02, selected: '128BIT', encryptionLevel: 'HIGH' },
        FIPS: { status: 'accepted', offered: 0x10, selected: '128BIT', encryptionLevel: 'HIGH', notOffered: true },
      },
      allOffered: { status: 'accepted', offered: 0x1b, selected: '128BIT', encryptionLevel: 'HIGH' },
      serverRandom: true,
      certificate: { type: 'proprietary', keyType: 'rsa', keyBits: 2048, temporary: false },
      imposesMethods: ['128BIT'],
    },
    tls: {
      via: 'SSL',
      versions: {
        TLSv1: { accepted: false, reason: 'tlsv1 alert protocol version' },
        'TLSv1.1': { accepted: false, reason: 'tlsv1 alert protocol version' },
        'TLSv1.2': { accepted: true, cipher: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', opensslCipher: 'ECDHE-RSA-AES256-GCM-SHA384' },
        'TLSv1.3': { accepted: true, cipher: 'TLS_AES_256_GCM_SHA384', opensslCipher: 'TLS_AES_256_GCM_SHA384' },
      },
      default: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      certificate: { ...CERT },
    },
    downgrade: { ok: true, sent: 1, echoed: 1, via: 'SSL' },
    hybrid: null,
    credssp: null,
    serverCore: { version: '0x00080004' },
    connections: 16,
    findings: [],
  };
}

const ids = (fs: Finding[]): string[] => fs.map((f) => f.id);
const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 } as const;

describe('postureFindings on the xrdp negotiate/high posture', () => {
  it('gives exactly the expected findings, ordered by severity', () => {
    const fs = postureFindings(xrdpPosture(), NOW);
    assert.deepEqual(ids(fs), [
      'rdp-security-accepted', // high
      'rc4-128bit-accepted', // medium
      'method-not-offered',
      'nla-not-supported',
      'cert-self-signed', // low
      'legacy-client-accepted', // info
      'protocol-ignored',
    ]);
    const ranks = fs.map((f) => SEVERITY_RANK[f.severity]);
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), 'sorted by severity');
    const byId = new Map(fs.map((f) => [f.id, f]));
    assert.equal(byId.get('rdp-security-accepted')?.severity, 'high');
    assert.match(byId.get('rdp-security-accepted')!.detail!, /^Accepted through an RDP_NEG_REQ for PROTOCOL_RDP and a legacy request\./);
    assert.match(byId.get('method-not-offered')!.detail!, /^Answered with 128BIT to a client that did not offer it\./);
    assert.match(byId.get('protocol-ignored')!.detail!, /^Ignored: HYBRID \(answered SSL\), RDSTLS \(answered RDP\), HYBRID_EX \(answered SSL\)\./);
    assert.match(byId.get('cert-self-signed')!.detail!, /^Subject CN=rdpsec-demo\./);
    for (const f of fs) {
      const def = findingsCatalogue().get(f.id)!;
      assert.equal(f.title, def.title);
      assert.equal(f.severity, def.severity);
    }
  });

  it('an unreachable posture has the single finding "unreachable"', () => {
    const p = { ...xrdpPosture(), reachable: false };
    assert.deepEqual(ids(postureFindings(p, NOW)), ['unreachable']);
  });

  it('variations: NLA supported but not required, encryption NONE and LOW, weak keys, downgrade', () => {
    const p = xrdpPosture();
    p.protocols.HYBRID = { status: 'accepted', requested: 0x3, selected: 'HYBRID' };
    p.standardSecurity!.encryptionLevel = 'LOW';
    p.standardSecurity!.methods['40BIT'] = { status: 'accepted', offered: 0x01, selected: '40BIT', encryptionLevel: 'LOW' };
    p.standardSecurity!.certificate = { type: 'proprietary', keyType: 'rsa', keyBits: 512, temporary: false };
    p.downgrade = { ok: false, sent: 1, echoed: 0, via: 'SSL' };
    const got = ids(postureFindings(p, NOW));
    for (const id of ['nla-not-required', 'encryption-level-low', 'rc4-40bit-accepted', 'rdp-weak-server-key', 'downgrade-mismatch']) {
      assert.ok(got.includes(id), `${id} missing from ${got.join(', ')}`);
    }
    assert.ok(!got.includes('nla-not-supported'));
    p.standardSecurity!.encryptionLevel = 'NONE';
    p.downgrade = { ok: false, sent: 1, echoed: null, via: 'RDP' };
    const again = postureFindings(p, NOW);
    assert.equal(again[0]!.id, 'encryption-none', 'critical comes first');
    assert.ok(ids(again).includes('downgrade-not-echoed'));
  });
});

describe('CredSSP in findings, JSON and the terminal report', () => {
  const withCredssp = (over: Partial<CredsspPosture> = {}): Posture => {
    const p = xrdpPosture();
    p.protocols.HYBRID = { status: 'accepted', requested: 0x3, selected: 'HYBRID' };
    p.credssp = {
      version: 6,
      nlaRequired: false,
      acceptsLegacyVersions: true,
      legacyCheck: 'logon',
      acceptsCurrentVersions: true,
      ntlm: { targetName: 'LAB', netbiosComputer: 'LAB', netbiosDomain: 'LAB', dnsComputer: 'lab', dnsDomain: 'lab', dnsTree: null, osVersion: '10.0.17763', timestamp: '2026-11-22T00:00:00.000Z' },
      hybridEx: { advertised: true, earlyUserAuthorization: 'AUTHZ_SUCCESS' },
      restrictedAdmin: { advertised: true, accepted: true },
      credentials: { user: 'CORP\\alice', accepted: false, errorCode: 'STATUS_LOGON_FAILURE', observation: 'the server answered with TSRequest errorCode STATUS_LOGON_FAILURE' },
      ...over,
    };
    p.findings = postureFindings(p, NOW);
    return p;
  };

  it('findings: unpatched clients taken, logon refused, restricted admin; an unpatched server instead', () => {
    const got = ids(withCredssp().findings);
    for (const id of ['credssp-accepts-unpatched-clients', 'credssp-logon-refused', 'restricted-admin-accepted']) assert.ok(got.includes(id), got.join(', '));
    const old = ids(withCredssp({ version: 2 }).findings);
    assert.ok(old.includes('credssp-unpatched') && !old.includes('credssp-accepts-unpatched-clients'), old.join(', '));
  });

  it('the terminal report has a CredSSP section with the logon', () => {
    const text = renderPosture(withCredssp(), { color: false });
    assert.match(text, /^# CredSSP/m);
    assert.match(text, /^\(cssp\) version {6}TSRequest version 6 {2}has the CVE-2018-0886 fix$/m);
    assert.match(text, /^\(cssp\) logon {8}CORP\\alice: refused \(STATUS_LOGON_FAILURE\)/m);
    assert.match(text, /^\(cssp\) restricted {3}RESTRICTED_ADMIN_MODE_SUPPORTED {2}a restricted admin logon was taken$/m);
  });

  it('the JSON validates against the schema, credssp included', () => {
    const p = withCredssp();
    assert.ok(validate(JSON.parse(toJson(p))), ajv.errorsText(validate.errors));
    const broken = JSON.parse(toJson(p));
    broken.credssp.nlaRequired = 'no';
    assert.ok(!validate(broken));
  });
});

describe('certificate dates against a fixed now', () => {
  const withCert = (c: Partial<CertificateSummary>): string[] => {
    const p = xrdpPosture();
    p.tls!.certificate = { ...CERT, selfSigned: false, ...c };
    return ids(postureFindings(p, NOW)).filter((id) => id.startsWith('cert-'));
  };

  it('valid for a year: no date finding', () => {
    assert.deepEqual(withCert({ notBefore: iso(NOW.getTime() - DAY), notAfter: iso(NOW.getTime() + 365 * DAY) }), []);
  });
  it('expired yesterday: cert-expired (not "expires soon")', () => {
    assert.deepEqual(withCert({ notBefore: iso(NOW.getTime() - 400 * DAY), notAfter: iso(NOW.getTime() - DAY) }), ['cert-expired']);
  });
  it('expires in 10 days: cert-expires-soon; in exactly 30 days: nothing', () => {
    assert.deepEqual(withCert({ notBefore: iso(NOW.getTime() - DAY), notAfter: iso(NOW.getTime() + 10 * DAY) }), ['cert-expires-soon']);
    assert.deepEqual(withCert({ notBefore: iso(NOW.getTime() - DAY), notAfter: iso(NOW.getTime() + 30 * DAY) }), []);
  });
  it('valid from tomorrow: cert-not-yet-valid', () => {
    assert.deepEqual(withCert({ notBefore: iso(NOW.getTime() + DAY), notAfter: iso(NOW.getTime() + 365 * DAY) }), ['cert-not-yet-valid']);
  });
  it('weak key and SHA-1 signature, self-signed', () => {
    const got = withCert({ keyBits: 1024, signatureAlgorithm: 'sha1WithRSAEncryption', selfSigned: true, notBefore: iso(NOW.getTime() - DAY), notAfter: iso(NOW.getTime() + 365 * DAY) });
    assert.deepEqual(got.sort(), ['cert-self-signed', 'cert-weak-key', 'cert-weak-signature']);
  });
  it('the date findings say when', () => {
    const p = xrdpPosture();
    p.tls!.certificate = { ...CERT, notAfter: '2026-11-20T00:00:00.000Z' };
    const f = postureFindings(p, NOW).find((x) => x.id === 'cert-expired');
    assert.match(f!.detail!, /^It expired on 2026-11-20T00:00:00\.000Z\./);
  });
});

describe('TLS versions and ciphers', () => {
  it('isWeakCipher on IANA names', () => {
    const weak = [
      'TLS_RSA_WITH_AES_128_CBC_SHA', // no forward secrecy
      'TLS_RSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
      'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
      'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
      'TLS_RSA_EXPORT_WITH_RC4_40_MD5',
      'TLS_ECDHE_ECDSA_WITH_NULL_SHA',
      'TLS_DH_anon_WITH_AES_128_CBC_SHA',
      'TLS_RSA_WITH_DES_CBC_SHA',
    ];
    const strong = [
      'TLS_AES_256_GCM_SHA384',
      'TLS_AES_128_GCM_SHA256',
      'TLS_CHACHA20_POLY1305_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
      'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', // CBC but forward secret: not flagged by this rule
    ];
    for (const c of weak) assert.equal(isWeakCipher(c), true, c);
    for (const c of strong) assert.equal(isWeakCipher(c), false, c);
  });

  it('an old server: TLS 1.0 only, RSA key transport', () => {
    const p = xrdpPosture();
    p.tls!.versions = {
      TLSv1: { accepted: true, cipher: 'TLS_RSA_WITH_AES_128_CBC_SHA' },
      'TLSv1.1': { accepted: false, reason: 'unsupported protocol' },
      'TLSv1.2': { accepted: false, reason: 'unsupported protocol' },
      'TLSv1.3': { accepted: false, reason: 'unsupported protocol' },
    };
    const fs = postureFindings(p, NOW);
    const got = ids(fs);
    for (const id of ['tls-1.0-accepted', 'tls-1.2-not-supported', 'tls-weak-cipher']) assert.ok(got.includes(id), `${id} missing`);
    assert.ok(!got.includes('tls-1.1-accepted'));
    assert.match(fs.find((f) => f.id === 'tls-weak-cipher')!.detail!, /TLS_RSA_WITH_AES_128_CBC_SHA with TLSv1/);
  });
});

describe('JSON report (schemaVersion 1)', () => {
  const posture = (): Posture => {
    const p = xrdpPosture();
    p.findings = postureFindings(p, NOW);
    return p;
  };

  it('validates against schemas/probe.schema.json', () => {
    const text = toJson(posture());
    assert.ok(text.endsWith('}\n'));
    const json = JSON.parse(text) as unknown;
    assert.ok(validate(json), ajv.errorsText(validate.errors));
  });

  it('keeps the contract field names', () => {
    const j = JSON.parse(toJson(posture())) as Record<string, any>;
    assert.equal(j.schemaVersion, 1);
    assert.deepEqual(j.target, { host: '127.0.0.1', port: 33891 });
    assert.deepEqual(Object.keys(j.protocols), ['RDP', 'SSL', 'HYBRID', 'RDSTLS', 'HYBRID_EX', 'RDSAAD']);
    assert.deepEqual({ status: j.protocols.SSL.status, requested: j.protocols.SSL.requested, selected: j.protocols.SSL.selected }, { status: 'accepted', requested: 1, selected: 'SSL' });
    assert.equal(j.protocols.RDSAAD.error.kind, 'MCS_DISCONNECT_PROVIDER_ULTIMATUM');
    assert.equal(j.preferred, 'SSL');
    assert.deepEqual({ status: j.legacy.status, failureCode: j.legacy.failureCode }, { status: 'accepted', failureCode: null });
    assert.equal(j.standardSecurity.encryptionLevel, 'HIGH');
    assert.deepEqual(j.standardSecurity.methods['40BIT'], { status: 'accepted', offered: 1, selected: '128BIT', encryptionLevel: 'HIGH', notOffered: true });
    assert.deepEqual(j.tls.versions['TLSv1.3'], { accepted: true, cipher: 'TLS_AES_256_GCM_SHA384', opensslCipher: 'TLS_AES_256_GCM_SHA384' });
    assert.equal(j.tls.certificate.selfSigned, true);
    assert.equal(j.downgrade.ok, true);
    for (const f of j.findings) assert.deepEqual(Object.keys(f).filter((k) => k !== 'detail'), ['id', 'severity', 'title']);
  });

  it('the schema is not vacuous: broken postures are rejected', () => {
    const bad: [string, (j: Record<string, any>) => void][] = [
      ['unknown protocol status', (j) => (j.protocols.RDP.status = 'maybe')],
      ['missing protocol', (j) => delete j.protocols.RDSAAD],
      ['wrong schemaVersion', (j) => (j.schemaVersion = 2)],
      ['unknown severity', (j) => (j.findings[0].severity = 'urgent')],
      ['unknown method name', (j) => (j.standardSecurity.methods['256BIT'] = { status: 'accepted', offered: 1 })],
      ['bad fingerprint', (j) => (j.tls.certificate.sha256 = 'AB:CD')],
      ['bad date', (j) => (j.startedAt = 'yesterday')],
      ['missing legacy.failureCode', (j) => delete j.legacy.failureCode],
    ];
    for (const [what, breakIt] of bad) {
      const j = JSON.parse(toJson(posture())) as Record<string, any>;
      breakIt(j);
      assert.equal(validate(j), false, `accepted a posture with ${what}`);
    }
  });

  it('an unreachable posture validates too', () => {
    const p = xrdpPosture();
    p.reachable = false;
    p.standardSecurity = null;
    p.tls = null;
    p.downgrade = { ok: null, reason: 'no connection' };
    p.findings = postureFindings(p, NOW);
    assert.ok(validate(JSON.parse(toJson(p))), ajv.errorsText(validate.errors));
  });
});

describe('terminal report', () => {
  const ANSI = /\x1b\[/;
  const posture = (): Posture => {
    const p = xrdpPosture();
    p.findings = postureFindings(p, NOW);
    return p;
  };

  it('without colour: no escapes, every section and the key lines', () => {
    const text = renderPosture(posture(), { color: false });
    assert.doesNotMatch(text, ANSI);
    const lines = text.split('\n');
    assert.equal(lines[0]!.startsWith('rdpsec probe 127.0.0.1:33891  16 connections, 0.41 s'), true, lines[0]);
    for (const h of [
      '# security protocols (X.224 negotiation, MS-RDPBCGR 2.2.1.1)',
      '# standard RDP security (MS-RDPBCGR 5.3)',
      '# TLS',
      '# downgrade protection (MS-RDPBCGR 2.2.1.4.2 clientRequestedProtocols)',
      '# findings',
    ]) {
      assert.ok(lines.includes(h), `no heading ${h}`);
    }
    const has = (re: RegExp): void => assert.ok(lines.some((l) => re.test(l)), `no line matching ${re}\n${text}`);
    has(/^\(proto\) RDP {10}accepted {2}flags: EXTENDED_CLIENT_DATA_SUPPORTED$/);
    has(/^\(proto\) HYBRID {7}ignored: server selected SSL {2}nmap counts this as supported/);
    has(/^\(proto\) RDSAAD {7}refused: disconnected {2}.*rn-user-requested/);
    has(/^\(proto\) preferred {4}SSL {2}when offered SSL\|HYBRID\|HYBRID_EX$/);
    has(/^\(proto\) legacy {7}accepted {2}confirm: no-negotiation-data; MCS Connect Response received$/);
    has(/^\(enc\) level {8}HIGH {2}via RDP_NEG_REQ$/);
    has(/^\(enc\) 40BIT {8}128BIT \(not offered\) {2}offered 0x1, level HIGH$/);
    has(/^\(enc\) all offered {2}128BIT {2}offered 0x1b, level HIGH$/);
    has(/^\(enc\) certificate {2}proprietary, RSA 2048 bits$/);
    has(/^\(tls\) TLSv1 {8}not accepted {2}tlsv1 alert protocol version$/);
    has(/^\(tls\) TLSv1\.3 {6}accepted {2}TLS_AES_256_GCM_SHA384$/);
    has(/^\(cert\) issuer {7}CN=rdpsec-demo {2}self-signed$/);
    has(/^\(down\) ok {11}sent 0x1, echoed 0x1 {2}over SSL$/);
    has(/^\[high\] {5}Standard RDP Security accepted .* \(rdp-security-accepted\)$/);
    has(/^\[info\] {5}.* \(protocol-ignored\)$/);
    // findings in the order postureFindings gave them
    const order = lines.filter((l) => /^\[\w+\]/.test(l)).map((l) => /\(([a-z0-9.-]+)\)$/.exec(l)![1]);
    assert.deepEqual(order, ids(posture().findings));
  });

  it('with colour: ANSI escapes, and the same text once they are stripped', () => {
    const p = posture();
    const coloured = renderPosture(p, { color: true });
    assert.match(coloured, ANSI);
    assert.equal(coloured.replace(/\x1b\[[0-9;]*m/g, ''), renderPosture(p, { color: false }));
  });

  it('an unreachable target is one short paragraph', () => {
    const p = xrdpPosture();
    p.reachable = false;
    p.preferredDetail = { status: 'error', requested: 0x1f, error: { kind: 'refused', phase: 'connect', message: 'connect: connect ECONNREFUSED 127.0.0.1:33891' } };
    const text = renderPosture(p, { color: false });
    assert.match(text, /unreachable: no connection got an answer\n {2}connect: connect: connect ECONNREFUSED/);
    assert.doesNotMatch(text, /# findings/);
  });

  it('wantColor honours NO_COLOR, FORCE_COLOR and isTTY', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    assert.equal(wantColor(tty, {}), true);
    assert.equal(wantColor(pipe, {}), false);
    assert.equal(wantColor({}, {}), false);
    assert.equal(wantColor(tty, { NO_COLOR: '1' }), false);
    assert.equal(wantColor(tty, { NO_COLOR: '1', FORCE_COLOR: '1' }), false, 'NO_COLOR wins');
    assert.equal(wantColor(tty, { NO_COLOR: '' }), true, 'an empty NO_COLOR is unset (no-color.org)');
    assert.equal(wantColor(pipe, { FORCE_COLOR: '1' }), true);
    assert.equal(wantColor(pipe, { FORCE_COLOR: '' }), true);
    assert.equal(wantColor(pipe, { FORCE_COLOR: '0' }), false);
  });
});

describe('findings catalogue (data/findings.yaml)', () => {
  it('loads, with unique ids, and each definition is complete', () => {
    const cat = findingsCatalogue();
    assert.ok(cat.size >= 20);
    for (const [id, def] of cat) {
      assert.equal(def.id, id);
      assert.ok(def.title.length > 0 && def.source.length > 0, id);
      assert.ok(['info', 'low', 'medium', 'high', 'critical'].includes(def.severity), id);
    }
  });

  it('every id the rules use exists, and every entry is used by a rule', () => {
    const used = new Set([...FINDINGS_SOURCE.matchAll(/finding\('([^']+)'/g)].map((m) => m[1]!));
    assert.ok(used.size >= 20, `only ${used.size} ids found in posture-findings.ts`);
    const cat = findingsCatalogue();
    for (const id of used) assert.ok(cat.has(id), `${id} is used in posture-findings.ts but not in data/findings.yaml`);
    for (const id of cat.keys()) assert.ok(used.has(id), `${id} is in data/findings.yaml but no rule uses it`);
  });

  it('finding() fills in the catalogue text and rejects unknown ids', () => {
    assert.deepEqual(finding('tls-1.0-accepted'), { id: 'tls-1.0-accepted', severity: 'medium', title: 'TLS 1.0 accepted' });
    assert.match(finding('cert-weak-key', 'The key has 1024 bits.').detail!, /^The key has 1024 bits\.$/);
    assert.throws(() => finding('no-such-finding'), (e: unknown) => e instanceof DataError && /unknown finding id no-such-finding/.test(e.message));
  });

  it('the schema (data/schemas/findings.schema.json) rejects broken entries with a DataError', () => {
    const real = parse(readFileSync(fileURLToPath(new URL('../../../data/findings.yaml', import.meta.url)), 'utf8')) as { findings: Record<string, unknown>[] };
    // the YAML as written passes, and the build's JSON is the same document (dist/data is not stale)
    assert.doesNotThrow(() => checkData('findings', real));
    assert.deepEqual(loadData('findings'), real);
    const entry = { id: 'x', severity: 'low', title: 'X', source: 's' };
    const broken: [string, unknown][] = [
      ['bad severity', { findings: [{ ...entry, severity: 'urgent' }] }],
      ['missing source', { findings: [{ id: 'x', severity: 'low', title: 'X' }] }],
      ['bad id', { findings: [{ ...entry, id: 'Not An Id' }] }],
      ['empty title', { findings: [{ ...entry, title: '' }] }],
      ['misspelt field', { findings: [{ ...entry, sevrity: 'high' }] }],
      ['detail not a string', { findings: [{ ...entry, detail: 42 }] }],
      ['no findings key', { finding: [] }],
      ['a real entry broken', { findings: [...real.findings.slice(1), { ...real.findings[0], severity: 'severe' }] }],
    ];
    for (const [what, doc] of broken) {
      assert.throws(
        () => checkData('findings', doc),
        (e: unknown) => e instanceof DataError && /^data\/findings\.yaml does not match its schema: /.test(e.message),
        what,
      );
    }
    assert.doesNotThrow(() => checkData('findings', { findings: [entry, { ...entry, id: 'y', detail: 'd' }] }));
  });

  it('a missing data file is a DataError that says to build', () => {
    assert.throws(() => loadData('no-such-catalogue'), (e: unknown) => e instanceof DataError && /run `npm run build`/.test(e.message));
  });
});
