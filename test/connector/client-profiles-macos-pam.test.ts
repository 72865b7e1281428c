/**
 * The macOS client, the FreeRDP-based PAM proxy and FreeRDP 3 (data/clients/macos.yaml,
 * pam-proxy.yaml, freerdp.yaml freerdp-3), run by `simulate` (the real connector against the
 * real acceptor, real TLS, in memory) against the server presets and xrdp.ini policies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientProfile } from '../../src/connector/client-profiles.js';
import { preset } from '../../src/policy/presets.js';
import { policyFromXrdpIni } from '../../src/policy/xrdp-ini.js';
import { simulate } from '../../src/simulate/simulate.js';

const xrdp = (globals: string) => policyFromXrdpIni(`[Globals]\n${globals}\n`, { name: 'xrdp-test' });

describe('pam-proxy', () => {
  it('cannot reach a SecurityLayer=0, NLA-off host: SSL_NOT_ALLOWED_BY_SERVER, ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED', async () => {
    const r = await simulate({ client: clientProfile('pam-proxy'), server: preset('windows-legacy-rdp') });
    assert.equal(r.connects, false);
    assert.equal(r.failure?.stage, 'x224');
    assert.equal(r.failure?.code, 'SSL_NOT_ALLOWED_BY_SERVER');
    assert.equal(r.failure?.clientCode, 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED');
    assert.match(r.failure?.clientMessage ?? '', /failed at negotiating security settings/);
    assert.equal(r.failure?.explain, 'freerdp-security-nego-connect-failed');
    // FreeRDP with RDP disabled: NLA, then TLS, never a third (RDP) connection
    assert.deepEqual(r.attempts.map((a) => a.requestedProtocols), [['SSL', 'HYBRID'], ['SSL']]);
  });

  it('reaches the same host once configured for RDP security, with Standard RDP Security', async () => {
    const r = await simulate({ client: clientProfile('pam-proxy-rdp-security'), server: preset('windows-legacy-rdp') });
    assert.equal(r.connects, true, r.failure?.reason);
    assert.equal(r.negotiated?.protocol, 'RDP');
    assert.deepEqual(r.attempts.map((a) => a.requestedProtocols), [null]);
    assert.ok(r.risks.some((k) => k.id === 'no-server-authentication'));
  });

  it('uses TLS where the host allows it (the KB fix: SecurityLayer 1 with NLA off)', async () => {
    const r = await simulate({ client: clientProfile('pam-proxy'), server: preset('windows-2008r2-tls10') });
    // 2008 R2 offers TLS 1.0 only, which FreeRDP at security level 1 refuses (as xfreerdp 2.11)
    assert.equal(r.failure?.code, 'TLS_HANDSHAKE_FAILED');
    assert.equal(r.failure?.clientCode, 'ERRCONNECT_TLS_CONNECT_FAILED');
    const ok = await simulate({ client: clientProfile('pam-proxy'), server: preset('windows-2019') });
    assert.equal(ok.connects, true, ok.failure?.reason);
    assert.equal(ok.negotiated?.protocol, 'HYBRID');
  });
});

describe('macos-rd-10 against xrdp', () => {
  it('connects to xrdp as Debian installs it, over TLS 1.2', async () => {
    const r = await simulate({ client: clientProfile('macos-rd-10'), server: preset('xrdp-debian') });
    assert.equal(r.connects, true, r.failure?.reason);
    assert.equal(r.negotiated?.protocol, 'SSL');
    assert.equal(r.negotiated?.tlsVersion, 'TLSv1.2');
  });

  it('an xrdp restricted to TLS 1.3 drops it in the TLS handshake: the 0x207 security error', async () => {
    const r = await simulate({ client: clientProfile('macos-rd-10'), server: xrdp('security_layer=negotiate\nssl_protocols=TLSv1.3') });
    assert.equal(r.connects, false);
    assert.equal(r.failure?.stage, 'tls');
    assert.equal(r.failure?.code, 'TLS_HANDSHAKE_FAILED');
    assert.equal(r.failure?.clientCode, '0x207');
    assert.match(r.failure?.clientMessage ?? '', /because of a security error/);
    assert.equal(r.failure?.explain, 'mstsc-0x207');
    // xrdp selected TLS: the client asked for it, and it does not retry with Standard RDP Security
    assert.equal(r.attempts.length, 1);
    assert.equal(r.attempts[0]?.negotiated?.protocol, 'SSL');
  });

  it('an xrdp with security_layer=rdp gets Standard RDP Security, which the macOS client accepts', async () => {
    const r = await simulate({ client: clientProfile('macos-rd-10'), server: xrdp('security_layer=rdp\ncrypt_level=high') });
    assert.equal(r.connects, true, r.failure?.reason);
    assert.equal(r.negotiated?.protocol, 'RDP');
    assert.ok(r.risks.some((k) => k.id === 'no-server-authentication'));
  });

  it('with CredSSP turned off (.rdp enablecredsspsupport:i:0) it cannot meet an NLA-only host', async () => {
    const r = await simulate({ client: clientProfile('macos-rd-10-no-credssp'), server: preset('windows-2019') });
    assert.equal(r.failure?.code, 'HYBRID_REQUIRED_BY_SERVER');
    const on = await simulate({ client: clientProfile('macos-rd-10'), server: preset('windows-2019') });
    assert.equal(on.connects, true, on.failure?.reason);
    assert.equal(on.negotiated?.protocol, 'HYBRID');
  });
});

describe('freerdp-3 against each preset', () => {
  const expected: Record<string, { connects: boolean; protocol?: string; code?: string; requests: (string[] | null)[] }> = {
    // NLA selected, CredSSP 6
    'windows-2019': { connects: true, protocol: 'HYBRID', requests: [['SSL', 'HYBRID']] },
    // TLS 1.0 only: OpenSSL at security level 1 refuses it (ERRCONNECT_TLS_CONNECT_FAILED), no fallback after a TLS failure
    'windows-2008r2-tls10': { connects: false, code: 'TLS_HANDSHAKE_FAILED', requests: [['SSL', 'HYBRID']] },
    'windows-hardened': { connects: true, protocol: 'HYBRID', requests: [['SSL', 'HYBRID']] },
    'freerdp-shadow-nla': { connects: true, protocol: 'HYBRID', requests: [['SSL', 'HYBRID']] },
    // SecurityLayer 0: NLA -> TLS -> RDP with an RDP_NEG_REQ of 0 (sendNegoData after code 2)
    'windows-legacy-rdp': { connects: true, protocol: 'RDP', requests: [['SSL', 'HYBRID'], ['SSL'], ['RDP']] },
    'xrdp-debian': { connects: true, protocol: 'SSL', requests: [['SSL', 'HYBRID']] },
  };
  for (const [server, want] of Object.entries(expected)) {
    it(`${server}: ${want.connects ? `connects with ${want.protocol}` : `fails with ${want.code}`}`, async () => {
      const r = await simulate({ client: clientProfile('freerdp-3'), server: preset(server) });
      assert.equal(r.connects, want.connects, r.failure?.reason);
      if (want.protocol) assert.equal(r.negotiated?.protocol, want.protocol);
      if (want.code) assert.equal(r.failure?.code, want.code);
      assert.deepEqual(r.attempts.map((a) => a.requestedProtocols), want.requests);
      // the same graph as freerdp-2 (nego.c is unchanged in this respect)
      const two = await simulate({ client: clientProfile('freerdp-2'), server: preset(server) });
      assert.deepEqual(two.attempts.map((a) => [a.requestedProtocols, a.outcome]), r.attempts.map((a) => [a.requestedProtocols, a.outcome]));
    });
  }
});
