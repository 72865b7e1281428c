/**
 * `simulate`: the real connector (client profiles) against the real acceptor (server presets)
 * over the in-memory pair with real TLS. Each expectation below is what the real peers did in
 * ../shared/fixtures/pcaps (INDEX.md) or what the fact sheet's tables say (KB4295591), so a
 * change in either machine that breaks a known outcome fails here. Fixes are checked by
 * running the simulation again with each lever pulled.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { clientProfile, clientProfiles } from '../../src/connector/client-profiles.js';
import { applyClientLever, applyServerLever, checkedFixes, fixCandidates } from '../../src/diagnose/fixes.js';
import { preset, presetNames } from '../../src/policy/presets.js';
import { simulate, type SimulationResult } from '../../src/simulate/simulate.js';

const SCHEMA = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/simulate.schema.json', import.meta.url)), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);
const valid = (doc: unknown): void => assert.ok(validate(doc), JSON.stringify(validate.errors));

const run = (client: string, server: string, logon: 'valid' | 'wrong-password' | 'none' = 'valid'): Promise<SimulationResult> =>
  simulate({ client: clientProfile(client), server: preset(server), logon });

describe('simulate: outcomes the real peers showed', () => {
  it('xfreerdp falls back NLA -> TLS -> RDP against a server that allows Standard RDP Security only (shadow-rdp--xfreerdp-default: 3 connections)', async () => {
    const r = await run('xfreerdp-2.11', 'windows-legacy-rdp');
    assert.deepEqual(
      r.attempts.map((a) => [a.requestedProtocols, a.outcome]),
      [
        [['SSL', 'HYBRID'], 'SSL_NOT_ALLOWED_BY_SERVER'],
        [['SSL'], 'SSL_NOT_ALLOWED_BY_SERVER'],
        [['RDP'], 'connected'],
      ],
    );
    assert.equal(r.connects, true);
    assert.deepEqual(r.negotiated, { protocol: 'RDP', tlsVersion: null, encryptionMethod: '128BIT', encryptionLevel: 'CLIENT_COMPATIBLE' });
    valid({ ...r, fixes: [] });
  });

  it('xfreerdp /sec:nla against xrdp (no NLA): xrdp selects TLS and the client refuses it (xrdp-negotiate-high--xfreerdp-sec-nla)', async () => {
    const r = await run('xfreerdp-2.11-sec-nla', 'xrdp-debian');
    assert.equal(r.connects, false);
    assert.equal(r.failure?.code, 'UNEXPECTED_PROTOCOL');
    assert.equal(r.failure?.stage, 'x224');
    assert.equal(r.attempts.length, 1);
  });

  it('xfreerdp /sec:tls against an NLA-only server: HYBRID_REQUIRED_BY_SERVER, one connection (shadow-nla--xfreerdp-sec-tls)', async () => {
    const r = await run('xfreerdp-2.11-sec-tls', 'freerdp-shadow-nla');
    assert.equal(r.failure?.code, 'HYBRID_REQUIRED_BY_SERVER');
    assert.equal(r.attempts.length, 1);
  });

  it('xfreerdp default against xrdp: TLS 1.3, no Standard RDP Security inside (xrdp-negotiate-high--xfreerdp-default)', async () => {
    const r = await run('xfreerdp-2.11', 'xrdp-debian');
    assert.deepEqual(r.negotiated, { protocol: 'SSL', tlsVersion: 'TLSv1.3', encryptionMethod: 'NONE', encryptionLevel: 'NONE' });
    const tls = r.attempts[0]!.exchange.find((l) => l.kind === 'tls');
    assert.match(tls && tls.kind === 'tls' ? tls.detail : '', /TLSv1\.3 TLS_AES/);
  });

  it('NLA with the right password goes through CredSSP 6 to activation; a wrong one is refused with the NTSTATUS', async () => {
    const ok = await run('xfreerdp-2.11', 'windows-2019');
    assert.equal(ok.negotiated?.protocol, 'HYBRID');
    assert.equal(ok.negotiated?.credsspVersion, 6);
    const bad = await run('xfreerdp-2.11', 'windows-2019', 'wrong-password');
    assert.equal(bad.failure?.code, 'CREDSSP_LOGON_FAILED');
    assert.equal(bad.failure?.detail, 'STATUS_LOGON_FAILURE');
    assert.equal(bad.failure?.stage, 'credssp');
    assert.equal(bad.attempts.length, 1, 'a CredSSP failure ends FreeRDP without a fallback (shadow-nla--xfreerdp-badpw)');
  });

  it("a server that closes after a failed logon (FreeRDP 2.11's) is a closed connection at credssp (shadow-nla--xfreerdp-badpw)", async () => {
    const r = await run('xfreerdp-2.11', 'freerdp-shadow-nla', 'wrong-password');
    assert.equal(r.failure?.code, 'TRANSPORT_CLOSED');
    assert.equal(r.failure?.stage, 'credssp');
  });

  it('rdesktop without a Kerberos ticket gives up on CredSSP and retries with TLS only (serve-windows peer run)', async () => {
    const legacy = await run('rdesktop-1.9', 'windows-2008r2-tls10');
    assert.deepEqual(legacy.attempts.map((a) => a.outcome), ['CREDSSP_NOT_ATTEMPTED', 'connected']);
    assert.equal(legacy.negotiated?.protocol, 'SSL');
    assert.equal(legacy.negotiated?.tlsVersion, 'TLSv1');
    const nla = await run('rdesktop-1.9', 'windows-2019');
    assert.deepEqual(nla.attempts.map((a) => a.outcome), ['CREDSSP_NOT_ATTEMPTED', 'HYBRID_REQUIRED_BY_SERVER']);
  });
});

describe('simulate: the CredSSP encryption oracle matrix (KB4295591, fact sheet section 4) with real TLS', () => {
  const cases: [string, string, boolean, string?][] = [
    ['mstsc-win10', 'windows-2019', true],
    ['mstsc-win10', 'windows-2008r2-tls10', false, 'CREDSSP_ORACLE_REMEDIATION'],
    ['mstsc-win10-aeo0', 'windows-2008r2-tls10', false, 'CREDSSP_ORACLE_REMEDIATION'],
    ['mstsc-win10-aeo2', 'windows-2008r2-tls10', true],
    ['mstsc-win7-unpatched', 'windows-2008r2-tls10', true],
    ['mstsc-win7-unpatched', 'windows-2019', true],
    ['mstsc-win7-unpatched', 'windows-hardened', false, 'TRANSPORT_CLOSED'],
  ];
  for (const [client, server, connects, code] of cases) {
    it(`${client} -> ${server}: ${connects ? 'connects' : code}`, async () => {
      const r = await run(client, server);
      assert.equal(r.connects, connects, JSON.stringify(r.failure));
      if (code) assert.equal(r.failure?.code, code);
    });
  }
});

describe('simulate: every client profile against every preset', () => {
  it('ends, in bounded attempts, with a result that matches schemas/simulate.schema.json', async () => {
    for (const client of clientProfiles().values()) {
      for (const name of presetNames()) {
        const r = await simulate({ client, server: preset(name) });
        valid({ ...r, fixes: [] });
        assert.ok(r.attempts.length >= 1 && r.attempts.length <= client.attempts.length, `${client.name} x ${name}`);
        assert.equal(r.connects, r.failure === null, `${client.name} x ${name}`);
        for (const a of r.attempts) {
          const first = a.exchange[0];
          assert.ok(first?.kind === 'pdu' && first.pdu === 'X.224 Connection Request', `${client.name} x ${name}: starts with the Connection Request`);
        }
      }
    }
  });
});

describe('fixes: checked by simulation, safest first', () => {
  it('a patched client against an unpatched server: patch the server first; AllowEncryptionOracle=2 only as the weaker fix, naming the server patch', async () => {
    const client = clientProfile('mstsc-win10');
    const server = preset('windows-2008r2-tls10');
    const baseline = await simulate({ client, server });
    const fixes = await checkedFixes({ client, server, baseline });
    valid({ ...baseline, fixes });
    assert.equal(fixes[0]?.id, 'server-credssp-patch');
    assert.equal(fixes[0]?.safety, 'safe');
    const aeo2 = fixes.find((f) => f.id === 'client-credssp-vulnerable');
    assert.equal(aeo2?.safety, 'weakens-security');
    assert.deepEqual(aeo2?.saferAlternative && { id: aeo2.saferAlternative.id, works: aeo2.saferAlternative.works }, { id: 'server-credssp-patch', works: true });
  });

  it('no safe fix is ever listed after one that weakens security, and each listed fix really connects when applied', async () => {
    const pairs: [string, string][] = [
      ['xfreerdp-2.11-sec-tls', 'windows-2019'],
      ['xfreerdp-2.11-sec-nla', 'xrdp-debian'],
      ['mstsc-win10', 'windows-2008r2-tls10'],
      ['xfreerdp-2.11-sec-rdp', 'windows-hardened'],
    ];
    const byId = new Map(fixCandidates().map((f) => [f.id, f]));
    for (const [c, s] of pairs) {
      const client = clientProfile(c);
      const server = preset(s);
      const baseline = await simulate({ client, server });
      assert.equal(baseline.connects, false, `${c} x ${s} fails to begin with`);
      const fixes = await checkedFixes({ client, server, baseline });
      assert.ok(fixes.length > 0, `${c} x ${s}: some fix works`);
      const firstWeak = fixes.findIndex((f) => f.safety === 'weakens-security');
      if (firstWeak >= 0) assert.ok(fixes.slice(firstWeak).every((f) => f.safety === 'weakens-security'), `${c} x ${s}`);
      for (const f of fixes) {
        const cand = byId.get(f.id)!;
        const c2 = cand.where === 'client' ? applyClientLever(client, cand.lever, f.id)! : client;
        const s2 = cand.where === 'server' ? applyServerLever(server, cand.lever, f.id)! : server;
        const again = await simulate({ client: c2, server: s2 });
        assert.equal(again.connects, true, `${c} x ${s}: ${f.id}`);
        assert.deepEqual(again.negotiated, f.result);
      }
    }
  });

  it('a client that connects over LOW-level Standard RDP Security is offered only hardening that keeps it connected', async () => {
    const client = clientProfile('xfreerdp-2.11');
    const server = preset('windows-legacy-rdp');
    const baseline = await simulate({ client, server });
    assert.equal(baseline.connects, true);
    const fixes = await checkedFixes({ client, server, baseline });
    assert.ok(fixes.length > 0);
    for (const f of fixes) assert.equal(f.safety, 'safe');
    assert.ok(fixes.some((f) => f.id === 'windows-require-tls-and-nla' && f.result.protocol === 'HYBRID'));
  });
});
