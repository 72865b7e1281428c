/**
 * inferServerPolicy: a ServerPolicy under which our acceptor answers the probe as the probed
 * server did. Hand-built postures for each branch (no network), a property test over
 * posture-shaped input, and the behavioural round trip: serve each preset, probe it, infer,
 * serve the inferred policy, probe that, and the two postures must agree on every decision.
 */
import { before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ntHashOfUtf16 } from '../../src/crypto/md4.js';
import { generateSelfSignedCertificate, type PemPair } from '../../src/crypto/self-signed.js';
import { compareDecisions, inferServerPolicy, postureDecisions, predictDecisions } from '../../src/diagnose/infer-policy.js';
import { PROTOCOL_NAMES, type ProtocolName } from '../../src/pdu/nego.js';
import { preset, presetNames } from '../../src/policy/presets.js';
import { UserDirectory } from '../../src/policy/users-file.js';
import type { ProbeCredentials } from '../../src/probe/credssp-probe.js';
import type { CredsspPosture, LegacyProbe, MethodProbe, Posture, ProtocolProbe, StandardSecurity, TlsPosture } from '../../src/probe/posture.js';
import { probeServer } from '../../src/probe/probe.js';
import { serve } from '../../src/serve/server.js';

// ---------------------------------------------------------------------------------------------
// Hand-built postures: only what probeServer would report

type Answer = `accepted ${string}` | `ignored ${string}` | `refused ${string}` | 'disconnect' | 'error';

function protocol(a: Answer, flags: string[] = ['EXTENDED_CLIENT_DATA_SUPPORTED']): ProtocolProbe {
  const [status, what] = a.split(' ') as [string, string | undefined];
  if (status === 'accepted' || status === 'ignored') return { status, requested: 0, selected: what!, flags };
  if (status === 'refused') return { status, requested: 0, failureCode: what! };
  if (status === 'disconnect') return { status: 'refused', requested: 0, disconnect: 'the server disconnected (rn-user-requested) instead of confirming the connection' };
  return { status: 'error', requested: 0, error: { kind: 'timeout', phase: 'x224', message: 'timed out' } };
}

function methods(level: string, pick: (offered: string) => string | 'refused'): StandardSecurity {
  const bits: Record<string, number> = { '40BIT': 1, '56BIT': 8, '128BIT': 2, FIPS: 0x10 };
  const probe = (offered: number, name: string): MethodProbe => {
    const m = pick(name);
    if (m === 'refused') return { status: 'refused', offered };
    return { status: 'accepted', offered, selected: m, encryptionLevel: level, ...(m !== 'NONE' && m !== name && name !== 'all' ? { notOffered: true } : {}) };
  };
  const ms = Object.fromEntries(Object.entries(bits).map(([n, b]) => [n, probe(b, n)]));
  const all = probe(0x1b, 'all');
  const imposes = new Set(Object.values(ms).filter((m) => m.notOffered && m.selected).map((m) => m.selected!));
  return { encryptionLevel: level, via: 'RDP_NEG_REQ', methods: ms, allOffered: all, serverRandom: level !== 'NONE', certificate: null, imposesMethods: [...imposes] };
}

function tls(versions: string[]): TlsPosture {
  return {
    via: 'SSL',
    versions: Object.fromEntries(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'].map((v) => [v, versions.includes(v) ? { accepted: true, cipher: 'TLS_AES_256_GCM_SHA384' } : { accepted: false, reason: 'protocol version' }])),
    certificate: null,
  };
}

function credssp(over: Partial<CredsspPosture> = {}): CredsspPosture {
  return {
    version: 6,
    nlaRequired: true,
    acceptsLegacyVersions: true,
    legacyCheck: 'challenge',
    acceptsCurrentVersions: true,
    ntlm: { targetName: 'HOST', netbiosComputer: 'HOST', netbiosDomain: 'CORP', dnsComputer: 'host.corp', dnsDomain: 'corp', dnsTree: null, osVersion: '10.0.20348', timestamp: null },
    hybridEx: { advertised: true, earlyUserAuthorization: null },
    restrictedAdmin: { advertised: false, accepted: null },
    credentials: null,
    ...over,
  };
}

interface Spec {
  protocols: Partial<Record<ProtocolName, ProtocolProbe>>;
  legacy: LegacyProbe;
  preferred?: string | null;
  standardSecurity?: StandardSecurity | null;
  tls?: TlsPosture | null;
  credssp?: CredsspPosture | null;
  serverCore?: string;
}

function posture(s: Spec): Posture {
  const protocols = Object.fromEntries(PROTOCOL_NAMES.map((n) => [n, s.protocols[n] ?? protocol('error')])) as Record<ProtocolName, ProtocolProbe>;
  return {
    schemaVersion: 1,
    target: { host: '127.0.0.1', port: 3389 },
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
    reachable: true,
    protocols,
    preferred: s.preferred ?? null,
    preferredDetail: s.preferred ? { status: 'accepted', requested: 0x1f, selected: s.preferred } : { status: 'refused', requested: 0x1f },
    requires: null,
    legacy: s.legacy,
    standardSecurity: s.standardSecurity ?? null,
    tls: s.tls ?? null,
    downgrade: { ok: null },
    hybrid: null,
    credssp: s.credssp ?? null,
    ...(s.serverCore ? { serverCore: { version: s.serverCore } } : {}),
    connections: 10,
    findings: [],
  };
}

const LEGACY_OK: LegacyProbe = { status: 'accepted', failureCode: null, confirm: 'no-negotiation-data', selected: 'RDP' };
const LEGACY_CLOSED: LegacyProbe = { status: 'refused', failureCode: null, confirm: null, detail: 'the server closed the connection without a Connection Confirm' };

/** Windows Server 2022 with NLA required, as the probe would see it */
const WINDOWS_NLA = (over: Partial<Spec> = {}): Posture =>
  posture({
    protocols: {
      RDP: protocol('refused HYBRID_REQUIRED_BY_SERVER'),
      SSL: protocol('refused HYBRID_REQUIRED_BY_SERVER'),
      HYBRID: protocol('accepted HYBRID', ['EXTENDED_CLIENT_DATA_SUPPORTED', 'DYNVC_GFX_PROTOCOL_SUPPORTED']),
      RDSTLS: protocol('refused HYBRID_REQUIRED_BY_SERVER'),
      HYBRID_EX: protocol('accepted HYBRID_EX', ['EXTENDED_CLIENT_DATA_SUPPORTED', 'DYNVC_GFX_PROTOCOL_SUPPORTED']),
      RDSAAD: protocol('refused HYBRID_REQUIRED_BY_SERVER'),
    },
    legacy: LEGACY_CLOSED,
    preferred: 'HYBRID_EX',
    tls: tls(['TLSv1.2', 'TLSv1.3']),
    credssp: credssp(),
    ...over,
  });

const XRDP_RDP_HIGH = (): Posture =>
  posture({
    protocols: {
      RDP: protocol('accepted RDP'),
      SSL: protocol('ignored RDP'),
      HYBRID: protocol('ignored RDP'),
      RDSTLS: protocol('ignored RDP'),
      HYBRID_EX: protocol('ignored RDP'),
      RDSAAD: protocol('disconnect'),
    },
    legacy: LEGACY_OK,
    preferred: 'RDP',
    standardSecurity: methods('HIGH', () => '128BIT'),
    serverCore: '0x00080004',
  });

describe('inferServerPolicy: each branch on hand-built postures', () => {
  it('xrdp, security_layer=rdp: RDP_NEG_RSP sel=0 to a TLS-only request, one imposed method, salted MAC assumed rejected', () => {
    const r = inferServerPolicy(XRDP_RDP_HIGH());
    assert.equal(r.product, 'xrdp');
    assert.equal(r.policy.flavor, 'xrdp');
    if (r.policy.flavor !== 'xrdp') return;
    assert.equal(r.policy.xrdp.securityLayer, 'rdp');
    assert.equal(r.policy.xrdp.cryptLevel, 'high');
    assert.deepEqual([r.policy.standardSecurity.methodRule, r.policy.standardSecurity.fixedMethod], ['fixed', '128BIT']);
    assert.equal(r.policy.standardSecurity.saltedMac, 'rejected');
    assert.ok(r.assumptions.some((a) => /salted MAC .* assumed rejected/.test(a)), r.assumptions.join('\n'));
    assert.ok(r.evidence.some((e) => /TLS-only request got an RDP_NEG_RSP selecting RDP/.test(e)));
    assert.deepEqual(r.differences, []);
  });

  it('xrdp crypt_level from the level and the one method: medium is CLIENT_COMPATIBLE with 40-bit', () => {
    const p = XRDP_RDP_HIGH();
    p.standardSecurity = methods('CLIENT_COMPATIBLE', () => '40BIT');
    const r = inferServerPolicy(p);
    assert.equal(r.policy.flavor === 'xrdp' && r.policy.xrdp.cryptLevel, 'medium');
    assert.deepEqual(r.differences, []);
  });

  it('xrdp, security_layer=tls: a bare Confirm, then a disconnect, for a legacy request', () => {
    const r = inferServerPolicy(
      posture({
        protocols: {
          RDP: protocol('refused SSL_REQUIRED_BY_SERVER'),
          SSL: protocol('accepted SSL'),
          HYBRID: protocol('ignored SSL'),
          RDSTLS: protocol('refused SSL_REQUIRED_BY_SERVER'),
          HYBRID_EX: protocol('ignored SSL'),
          RDSAAD: protocol('disconnect'),
        },
        legacy: { status: 'refused', failureCode: null, confirm: 'no-negotiation-data', detail: 'the server ended the connection after the Confirm' },
        preferred: 'SSL',
        tls: tls(['TLSv1.2', 'TLSv1.3']),
      }),
    );
    assert.equal(r.policy.flavor === 'xrdp' && r.policy.xrdp.securityLayer, 'tls');
    assert.deepEqual(r.policy.tls.versions, ['TLSv1.2', 'TLSv1.3']);
    assert.ok(r.assumptions.some((a) => /crypt_level=high/.test(a)));
    assert.deepEqual(r.differences, []);
  });

  it('FreeRDP shadow /sec:nla: RDP_NEG_FAILURE to a legacy request -> windows, legacyClientRefusal neg-failure, no HYBRID_EX, failure reply assumed close', () => {
    const p = WINDOWS_NLA({
      legacy: { status: 'refused', failureCode: 'HYBRID_REQUIRED_BY_SERVER', confirm: 'RDP_NEG_FAILURE' },
      preferred: 'HYBRID',
      credssp: credssp({ ntlm: { ...credssp().ntlm!, osVersion: '6.1.7601' }, hybridEx: { advertised: false, earlyUserAuthorization: null } }),
    });
    p.protocols.HYBRID_EX = protocol('ignored HYBRID', ['EXTENDED_CLIENT_DATA_SUPPORTED', 'DYNVC_GFX_PROTOCOL_SUPPORTED']);
    const r = inferServerPolicy(p);
    assert.equal(r.product, 'freerdp');
    assert.equal(r.policy.flavor, 'windows');
    if (r.policy.flavor !== 'windows') return;
    assert.deepEqual(
      [r.policy.windows.userAuthentication, r.policy.windows.hybridEx, r.policy.windows.legacyClientRefusal],
      [1, false, 'neg-failure'],
    );
    assert.equal(r.policy.credssp?.failureReply, 'close');
    assert.equal(r.policy.credssp?.ntlmVersion, '6.1.7601');
    assert.ok(r.assumptions.some((a) => /failed logon .*closing without errorCode/.test(a)));
    assert.deepEqual(r.differences, []);
  });

  it('FreeRDP shadow /sec:rdp: level NONE is set on the normalized field (no MinEncryptionLevel says it), the legacy RDP_NEG_RSP stays a difference', () => {
    const r = inferServerPolicy(
      posture({
        protocols: {
          RDP: protocol('accepted RDP'),
          SSL: protocol('refused SSL_NOT_ALLOWED_BY_SERVER'),
          HYBRID: protocol('refused SSL_NOT_ALLOWED_BY_SERVER'),
          RDSTLS: protocol('refused SSL_NOT_ALLOWED_BY_SERVER'),
          HYBRID_EX: protocol('refused SSL_NOT_ALLOWED_BY_SERVER'),
          RDSAAD: protocol('refused SSL_NOT_ALLOWED_BY_SERVER'),
        },
        legacy: { status: 'accepted', failureCode: null, confirm: 'RDP_NEG_RSP', selected: 'RDP' },
        standardSecurity: methods('NONE', () => 'NONE'),
      }),
    );
    assert.equal(r.product, 'freerdp');
    assert.equal(r.policy.flavor === 'windows' && r.policy.windows.securityLayer, 0);
    assert.equal(r.policy.standardSecurity.encryptionLevel, 'NONE');
    assert.ok(r.policy.warnings.some((w) => w.code === 'inferred-level'));
    assert.deepEqual(r.differences, [{ question: 'legacy.confirm', observed: 'RDP_NEG_RSP', predicted: 'no-negotiation-data' }]);
  });

  it('Windows with NLA required: SecurityLayer 1 assumed, the legacy request dropped, CredSSP and NTLM read off', () => {
    const r = inferServerPolicy(WINDOWS_NLA());
    assert.equal(r.product, 'windows');
    assert.equal(r.policy.flavor, 'windows');
    if (r.policy.flavor !== 'windows') return;
    assert.deepEqual([r.policy.windows.securityLayer, r.policy.windows.userAuthentication, r.policy.windows.hybridEx, r.policy.windows.legacyClientRefusal], [1, 1, true, 'drop']);
    assert.ok(r.assumptions.some((a) => /SecurityLayer 1 and 2 answer alike/.test(a)));
    assert.deepEqual(r.policy.credssp?.versions, [2, 3, 4, 5, 6]);
    assert.equal(r.policy.credssp?.checkNonce, false);
    assert.equal(r.policy.credssp?.ntlmVersion, '10.0.20348');
    assert.equal(r.policy.negRspFlags, 3);
    assert.deepEqual(r.ntlmNames, { nbComputerName: 'HOST', nbDomainName: 'CORP', dnsComputerName: 'host.corp', dnsDomainName: 'corp' });
    assert.deepEqual(r.policy.tls.versions, ['TLSv1.2', 'TLSv1.3']);
    assert.deepEqual(r.differences, []);
  });

  it('CredSSP version 2 refused at the logon -> checkNonce; but not when the credentials failed with version 6 too', () => {
    const ok = { user: 'u', accepted: true, errorCode: null, observation: 'pubKeyAuth' };
    const forced = inferServerPolicy(WINDOWS_NLA({ credssp: credssp({ acceptsLegacyVersions: false, legacyCheck: 'logon', credentials: ok }) }));
    assert.deepEqual([forced.policy.credssp?.checkNonce, forced.policy.credssp?.allowEncryptionOracle], [true, 0]);
    assert.deepEqual(forced.differences, []);
    const bad = { user: 'u', accepted: false, errorCode: 'STATUS_LOGON_FAILURE', observation: 'the server answered with TSRequest errorCode STATUS_LOGON_FAILURE' };
    const wrongPassword = inferServerPolicy(WINDOWS_NLA({ credssp: credssp({ acceptsLegacyVersions: false, legacyCheck: 'logon', credentials: bad }) }));
    assert.equal(wrongPassword.policy.credssp?.checkNonce, false);
    assert.equal(wrongPassword.policy.credssp?.failureReply, 'error-code');
    assert.ok(wrongPassword.evidence.some((e) => /failed logon was answered with a TSRequest errorCode/.test(e)));
    assert.deepEqual(wrongPassword.differences, []);
  });

  it('a failed logon ended without errorCode -> failureReply close', () => {
    const closed = { user: 'u', accepted: false, errorCode: null, observation: 'the server closed the connection after our AUTHENTICATE, without a TSRequest errorCode' };
    const r = inferServerPolicy(WINDOWS_NLA({ credssp: credssp({ credentials: closed }) }));
    assert.equal(r.policy.credssp?.failureReply, 'close');
  });

  it('restricted admin and Remote Credential Guard from the RDP_NEG_RSP to HYBRID; the base flags from it without them', () => {
    const p = WINDOWS_NLA({ credssp: credssp({ restrictedAdmin: { advertised: true, accepted: null } }) });
    const flags = ['EXTENDED_CLIENT_DATA_SUPPORTED', 'RESTRICTED_ADMIN_MODE_SUPPORTED', 'REDIRECTED_AUTHENTICATION_MODE_SUPPORTED'];
    p.protocols.HYBRID = protocol('accepted HYBRID', flags);
    p.protocols.HYBRID_EX = protocol('accepted HYBRID_EX', flags);
    const r = inferServerPolicy(p);
    assert.deepEqual([r.policy.credssp?.restrictedAdmin, r.policy.credssp?.redirectedAuthentication, r.policy.negRspFlags], [true, true, 1]);
    assert.deepEqual(r.differences, []);
  });

  it('SSL_CERT_NOT_ON_SERVER -> no certificate', () => {
    const r = inferServerPolicy(
      posture({
        protocols: {
          RDP: protocol('refused SSL_REQUIRED_BY_SERVER'),
          SSL: protocol('refused SSL_CERT_NOT_ON_SERVER'),
          HYBRID: protocol('refused SSL_CERT_NOT_ON_SERVER'),
          RDSTLS: protocol('refused SSL_REQUIRED_BY_SERVER'),
          HYBRID_EX: protocol('refused SSL_CERT_NOT_ON_SERVER'),
          RDSAAD: protocol('refused SSL_REQUIRED_BY_SERVER'),
        },
        legacy: LEGACY_CLOSED,
      }),
    );
    assert.equal(r.policy.tls.certificateAvailable, false);
    assert.equal(r.policy.flavor === 'windows' && r.policy.windows.securityLayer, 2);
    assert.deepEqual(r.differences, []);
  });

  it('Windows Negotiate without NLA at HIGH refusing a client without 128-bit: by level, refuse', () => {
    const r = inferServerPolicy(
      posture({
        protocols: {
          RDP: protocol('accepted RDP'),
          SSL: protocol('accepted SSL'),
          HYBRID: protocol('accepted HYBRID'),
          RDSTLS: protocol('ignored RDP'),
          HYBRID_EX: protocol('accepted HYBRID_EX'),
          RDSAAD: protocol('ignored RDP'),
        },
        legacy: LEGACY_OK,
        preferred: 'HYBRID_EX',
        standardSecurity: methods('HIGH', (o) => (o === '128BIT' || o === 'all' ? '128BIT' : 'refused')),
        tls: tls(['TLSv1', 'TLSv1.2']),
        credssp: credssp({ nlaRequired: false }),
        serverCore: '0x0008000c',
      }),
    );
    assert.equal(r.policy.flavor, 'windows');
    if (r.policy.flavor !== 'windows') return;
    assert.deepEqual([r.policy.windows.securityLayer, r.policy.windows.userAuthentication, r.policy.windows.minEncryptionLevel], [1, 0, 3]);
    assert.deepEqual([r.policy.standardSecurity.methodRule, r.policy.standardSecurity.whenClientLacksMethod], ['by-level', 'refuse']);
    // a set with a hole: kept as observed, the policy warns that only the newest run can be offered
    assert.deepEqual(r.policy.tls.versions, ['TLSv1', 'TLSv1.2']);
    assert.ok(r.policy.warnings.some((w) => w.code === 'tls-version-hole'));
    assert.deepEqual(r.differences, [{ question: 'tls.TLSv1', observed: 'accepted', predicted: 'refused' }]);
  });

  it('salted MAC from probe --handshake: accepted when a salted RC4 connection completes', () => {
    const p = XRDP_RDP_HIGH();
    p.standardSecurity!.handshakes = [
      { method: '128BIT', completed: true, reached: 'finalized', mac: 'plain', error: null },
      { method: '128BIT', completed: true, reached: 'finalized', mac: 'salted', error: null },
    ];
    const r = inferServerPolicy(p);
    assert.equal(r.policy.standardSecurity.saltedMac, 'accepted');
    assert.ok(r.evidence.some((e) => /salted MAC accepted/.test(e)));
    assert.deepEqual(r.differences, []);
  });

  it('an unreachable host: defaults, each said to be one', () => {
    const p = posture({ protocols: {}, legacy: { status: 'error', failureCode: null, confirm: null } });
    p.reachable = false;
    p.preferredDetail = protocol('error');
    const r = inferServerPolicy(p);
    assert.ok(r.assumptions.some((a) => /did not answer/.test(a)));
    assert.ok(r.assumptions.some((a) => /no negotiation question got an answer/.test(a)));
    assert.deepEqual(r.differences, []);
  });
});

// ---------------------------------------------------------------------------------------------
// Never throws

const STATUS = fc.constantFrom('accepted', 'refused', 'ignored', 'error', 'bogus', undefined);
const NAME = fc.oneof(fc.constantFrom('RDP', 'SSL', 'HYBRID', 'HYBRID_EX', 'RDSTLS', 'NONE', '40BIT', '128BIT', 'FIPS', 'HIGH', 'LOW', 'SSL_REQUIRED_BY_SERVER', 'UNKNOWN_FAILURE_CODE_9', '0x00000020'), fc.string({ maxLength: 8 }));
const PROTOCOL_ARB = fc.record(
  { status: STATUS, requested: fc.integer(), selected: NAME, failureCode: NAME, flags: fc.array(NAME, { maxLength: 3 }), disconnect: fc.string({ maxLength: 5 }), error: fc.record({ kind: NAME, phase: fc.constantFrom('x224', 'tls', 'mcs'), message: fc.string({ maxLength: 5 }) }) },
  { requiredKeys: [] },
);
const METHOD_ARB = fc.record({ status: STATUS, offered: fc.integer(), selected: NAME, encryptionLevel: NAME, notOffered: fc.boolean() }, { requiredKeys: [] });
const POSTURE_ARB = fc.record(
  {
    schemaVersion: fc.constant(1),
    reachable: fc.boolean(),
    target: fc.record({ host: fc.string({ maxLength: 5 }), port: fc.integer() }),
    protocols: fc.record(Object.fromEntries(PROTOCOL_NAMES.map((n) => [n, PROTOCOL_ARB])), { requiredKeys: [] }),
    preferred: fc.option(NAME),
    preferredDetail: PROTOCOL_ARB,
    legacy: fc.record({ status: STATUS, failureCode: fc.option(NAME), confirm: fc.constantFrom('no-negotiation-data', 'RDP_NEG_RSP', 'RDP_NEG_FAILURE', null) }, { requiredKeys: [] }),
    standardSecurity: fc.option(
      fc.record(
        {
          encryptionLevel: NAME,
          methods: fc.record({ '40BIT': METHOD_ARB, '56BIT': METHOD_ARB, '128BIT': METHOD_ARB, FIPS: METHOD_ARB }, { requiredKeys: [] }),
          allOffered: METHOD_ARB,
          serverRandom: fc.boolean(),
          imposesMethods: fc.array(NAME, { maxLength: 2 }),
          handshakes: fc.array(fc.record({ method: NAME, mac: fc.constantFrom('plain', 'salted', null), completed: fc.boolean() }), { maxLength: 4 }),
        },
        { requiredKeys: [] },
      ),
    ),
    tls: fc.option(fc.record({ versions: fc.dictionary(fc.constantFrom('TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3', 'SSLv2'), fc.record({ accepted: fc.boolean(), cipher: NAME }, { requiredKeys: [] })) }, { requiredKeys: [] })),
    credssp: fc.option(
      fc.record(
        {
          version: fc.oneof(fc.integer({ min: -2, max: 9 }), fc.double()),
          nlaRequired: fc.boolean(),
          acceptsLegacyVersions: fc.option(fc.boolean()),
          legacyCheck: fc.constantFrom('challenge', 'logon', 'x'),
          ntlm: fc.option(fc.record({ targetName: NAME, netbiosComputer: fc.option(NAME), osVersion: fc.option(fc.constantFrom('10.0.17763', '6.1.7601', 'x.y', '')) }, { requiredKeys: [] })),
          restrictedAdmin: fc.record({ advertised: fc.boolean(), accepted: fc.option(fc.boolean()) }, { requiredKeys: [] }),
          credentials: fc.option(fc.record({ accepted: fc.option(fc.boolean()), errorCode: fc.option(NAME), observation: fc.string({ maxLength: 60 }) }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      ),
    ),
    downgrade: fc.record({ ok: fc.option(fc.boolean()) }, { requiredKeys: [] }),
    serverCore: fc.option(fc.record({ version: NAME }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

describe('inferServerPolicy never throws', () => {
  it('on any posture-shaped input (statuses all error, odd names, missing fields)', () => {
    fc.assert(
      fc.property(POSTURE_ARB, (raw) => {
        const p = raw as unknown as Posture;
        const r = inferServerPolicy(p);
        assert.ok(r.policy.flavor === 'windows' || r.policy.flavor === 'xrdp');
        assert.ok(Array.isArray(r.evidence) && r.evidence.length > 0);
        // the differences are what the policy predicts against what was observed
        assert.deepEqual(r.differences, compareDecisions(postureDecisions(p), predictDecisions(r.policy, p)).filter((d) => d.observed !== '(not observed)'));
      }),
      { numRuns: 500 },
    );
  });

  it('on anything at all', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        inferServerPolicy(raw as Posture);
      }),
      { numRuns: 300 },
    );
    for (const raw of [null, undefined, 0, 'x', [], {}]) inferServerPolicy(raw as unknown as Posture);
  });

  it('every protocol question answered "error"', () => {
    const p = posture({ protocols: {}, legacy: { status: 'error', failureCode: null, confirm: null } });
    const r = inferServerPolicy(p);
    assert.deepEqual(r.differences, []);
  });
});

// ---------------------------------------------------------------------------------------------
// Behavioural round trip against our own server

const USER = 'alice';
const PASSWORD = 'S3cret!';
let pems: PemPair;
let users: UserDirectory;
let credentials: () => Promise<ProbeCredentials>;
before(async () => {
  pems = await generateSelfSignedCertificate('infer-policy');
  const ntHash = await ntHashOfUtf16(Buffer.from(PASSWORD, 'utf16le'));
  users = new UserDirectory([{ user: USER, domain: '', ntHash, state: 'ok' }]);
  credentials = async () => ({ user: USER, domain: '', password: Buffer.from(PASSWORD, 'utf16le'), ntHash });
});

async function serveAndProbe(t: { after: (fn: () => unknown) => void }, policy: Parameters<typeof serve>[0]['policy'], opts: { withUser: boolean; ntlmNames?: ReturnType<typeof inferServerPolicy>['ntlmNames'] }): Promise<Posture> {
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy, tls: pems, users, onConnection: () => {}, ...(opts.ntlmNames ? { credssp: { ntlmNames: opts.ntlmNames } } : {}) });
  t.after(() => l!.close());
  return probeServer({ host: '127.0.0.1', port: l!.port, timeoutMs: 3000, parallel: 4, handshake: true, ...(opts.withUser ? { credentials: await credentials() } : {}) });
}

describe('round trip: serve a preset, probe, infer, serve the inferred policy, probe: the same answers', () => {
  for (const name of presetNames()) {
    test(name, async (t) => {
      const original = preset(name);
      // with NLA the probe logs on (--user) against our own accounts: the CredSSP version check and the logon show
      const withUser = original.nla.supported;
      const first = await serveAndProbe(t, original, { withUser });
      const inferred = inferServerPolicy(first);
      assert.deepEqual(inferred.differences, [], `inference predicts every answer:\n${inferred.evidence.join('\n')}`);
      const second = await serveAndProbe(t, inferred.policy, { withUser, ...(inferred.ntlmNames ? { ntlmNames: inferred.ntlmNames } : {}) });
      const a = postureDecisions(first);
      const b = postureDecisions(second);
      assert.deepEqual(compareDecisions(a, b), [], `${name} vs inferred ${inferred.policy.name}`);
      assert.ok(Object.keys(a).length >= 10, `enough questions answered: ${Object.keys(a).join(', ')}`);
      assert.equal(inferred.policy.flavor, original.flavor);
      if (original.credssp?.checkNonce) assert.equal(inferred.policy.credssp?.checkNonce, true, 'seen with --user');
      assert.equal(second.credssp?.ntlm?.netbiosComputer ?? null, first.credssp?.ntlm?.netbiosComputer ?? null);
    });
  }
});
