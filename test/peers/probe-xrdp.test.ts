/**
 * `rdpsec probe` against real xrdp 0.9.21 (Debian 12) in all 15 security_layer x crypt_level
 * combinations. Truth comes from three independent places: what xrdp does on the wire as
 * recorded in ../shared/fixtures/pcaps/INDEX.md (the table below), xrdp's own log, and nmap.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postureFindings } from '../../src/diagnose/posture-findings.js';
import { probeServer } from '../../src/probe/probe.js';
import type { Posture } from '../../src/probe/posture.js';
import { skipOrFail, startXrdp, type XrdpCryptLevel, type XrdpSecurityLayer } from './harness.js';
import { runNmapEnumEncryption } from './nmap.js';
import {
  assertAgreesWithXrdpLog,
  assertCertificateIsFile,
  assertEncryptionAgreesWithXrdpLog,
  assertTlsAgreesWithXrdpLog,
  compareWithNmap,
  xrdpLogAfter,
} from './checks.js';

const LAYERS: XrdpSecurityLayer[] = ['rdp', 'tls', 'negotiate'];
const CRYPT: XrdpCryptLevel[] = ['none', 'low', 'medium', 'high', 'fips'];

/**
 * xrdp's crypt_level mapping (xrdp_sec.c; the fact sheet section 8): the level, and the one
 * method it imposes whatever the client offered (INDEX.md: 128-bit to a 40-bit-only nmap).
 */
const XRDP_CRYPT: Record<XrdpCryptLevel, { level: string; method: string }> = {
  none: { level: 'NONE', method: 'NONE' },
  low: { level: 'LOW', method: '40BIT' },
  medium: { level: 'CLIENT_COMPATIBLE', method: '40BIT' },
  high: { level: 'HIGH', method: '128BIT' },
  fips: { level: 'FIPS', method: 'FIPS' },
};

/** What xrdp answers each protocol question with, per security_layer (INDEX.md, xrdp_iso.c). */
function expectedProtocols(layer: XrdpSecurityLayer): Record<string, [string, string]> {
  // [status, selected or failure code]; xrdp never sends RDP_NEG_FAILURE except with
  // security_layer=tls and no SSL requested, and drops requestedProtocols above 0xb (RDSAAD)
  const tlsSel = layer === 'rdp' ? 'RDP' : 'SSL';
  return {
    RDP: layer === 'tls' ? ['refused', 'SSL_REQUIRED_BY_SERVER'] : ['accepted', 'RDP'],
    SSL: layer === 'rdp' ? ['ignored', 'RDP'] : ['accepted', 'SSL'],
    HYBRID: ['ignored', tlsSel],
    RDSTLS: layer === 'tls' ? ['refused', 'SSL_REQUIRED_BY_SERVER'] : ['ignored', 'RDP'],
    HYBRID_EX: ['ignored', tlsSel],
    RDSAAD: ['refused', ''],
  };
}

function assertWireTruth(p: Posture, layer: XrdpSecurityLayer, crypt: XrdpCryptLevel): void {
  assert.equal(p.reachable, true);
  for (const [name, [status, what]] of Object.entries(expectedProtocols(layer))) {
    const probe = p.protocols[name as keyof Posture['protocols']];
    assert.equal(probe.status, status, `${name}: ${JSON.stringify(probe)}`);
    if (status === 'refused' && what) assert.equal(probe.failureCode, what, name);
    else if (status === 'refused') assert.match(probe.disconnect ?? '', /disconnect/, `${name} dropped with a Disconnect Provider Ultimatum`);
    else assert.equal(probe.selected, what, name);
  }
  assert.equal(p.preferred, layer === 'rdp' ? 'RDP' : 'SSL');
  assert.equal(p.requires, layer === 'tls' ? 'SSL' : null);
  // legacy client: xrdp confirms without negotiation data; with security_layer=tls it then
  // answers the MCS Connect Initial with a Disconnect Provider Ultimatum (INDEX.md xrdp-tls--xfreerdp-sec-rdp)
  assert.equal(p.legacy.confirm, 'no-negotiation-data');
  assert.equal(p.legacy.status, layer === 'tls' ? 'refused' : 'accepted', JSON.stringify(p.legacy));
  if (layer === 'tls') {
    assert.equal(p.standardSecurity, null);
  } else {
    const ss = p.standardSecurity!;
    const { level, method } = XRDP_CRYPT[crypt];
    assert.equal(ss.encryptionLevel, level);
    assert.equal(ss.allOffered.selected, method);
    for (const [m, probe] of Object.entries(ss.methods)) {
      assert.equal(probe!.status, 'accepted', m);
      assert.equal(probe!.selected, method, `offered only ${m}, xrdp imposes ${method}`);
      assert.equal(Boolean(probe!.notOffered), method !== 'NONE' && method !== m, m);
    }
    assert.equal(ss.serverRandom, method !== 'NONE');
    if (method !== 'NONE') {
      // /etc/xrdp/rsakeys.ini: the 2048-bit key made by the package's postinst
      assert.deepEqual(ss.certificate && { type: ss.certificate.type, keyBits: ss.certificate.keyBits }, { type: 'proprietary', keyBits: 2048 });
    }
  }
  if (layer === 'rdp') {
    assert.equal(p.tls, null);
  } else {
    const v = p.tls!.versions;
    assert.equal(v['TLSv1']?.accepted, false);
    assert.equal(v['TLSv1.1']?.accepted, false);
    assert.equal(v['TLSv1.2']?.accepted, true);
    assert.equal(v['TLSv1.3']?.accepted, true);
    assert.equal(v['TLSv1.3']?.cipher, 'TLS_AES_256_GCM_SHA384');
  }
  // downgrade protection: xrdp echoes requestedProtocols in TS_UD_SC_CORE
  assert.equal(p.downgrade.ok, true, JSON.stringify(p.downgrade));

  const ids = postureFindings(p).map((f) => f.id);
  assert.ok(ids.includes('nla-not-supported'));
  assert.ok(ids.includes('protocol-ignored'));
  if (layer !== 'tls') assert.ok(ids.includes('rdp-security-accepted'));
  if (layer !== 'tls' && crypt === 'none') assert.ok(ids.includes('encryption-none'));
  if (layer !== 'tls' && crypt === 'low') assert.ok(ids.includes('encryption-level-low'));
  if (layer !== 'tls' && (crypt === 'low' || crypt === 'medium')) assert.ok(ids.includes('rc4-40bit-accepted'));
  if (layer !== 'tls' && crypt !== 'none') assert.ok(ids.includes('method-not-offered'));
  if (layer !== 'rdp') assert.ok(ids.includes('cert-self-signed'));
}

describe('probe against xrdp 0.9.21', () => {
  for (const layer of LAYERS) {
    for (const crypt of CRYPT) {
      test(`security_layer=${layer} crypt_level=${crypt}`, async (t) => {
        if (!skipOrFail(t, 'xrdp', 'nmap')) return;
        const peer = await startXrdp(layer, crypt, undefined, { t });
        const p = await probeServer({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, parallel: 4 });
        assertWireTruth(p, layer, crypt);

        const log = await xrdpLogAfter(peer.log, p);
        assertAgreesWithXrdpLog(p, log);
        if (layer !== 'tls') assertEncryptionAgreesWithXrdpLog(p, log);
        if (layer !== 'rdp') {
          assertTlsAgreesWithXrdpLog(p, log);
          assertCertificateIsFile(p, peer.cert);
        }

        const nmap = await runNmapEnumEncryption(peer.port, { debug: true });
        if (nmap.scriptError) {
          // nmap 7.93's script dies on xrdp security_layer=tls (asn1.lua: data string too short)
          assert.equal(layer, 'tls', `nmap failed: ${nmap.scriptError}`);
          return;
        }
        const cmp = compareWithNmap(p, nmap);
        // nmap counts every RDP_NEG_RSP as success: HYBRID, RDSTLS and HYBRID_EX on xrdp
        assert.ok(cmp.nmapWrong.includes('HYBRID'), `nmap should wrongly claim CredSSP: ${JSON.stringify(cmp)}`);
        assert.ok(cmp.nmapWrong.includes('RDSTLS'), JSON.stringify(cmp));
        if (XRDP_CRYPT[crypt].method !== 'NONE') assert.ok(cmp.agreed.includes(XRDP_CRYPT[crypt].method), JSON.stringify(cmp));
      });
    }
  }

  test('TLS 1.0 and 1.1 are detected and flagged when xrdp allows them', async (t) => {
    if (!skipOrFail(t, 'xrdp')) return;
    const peer = await startXrdp('tls', 'high', { XRDP_SSL_PROTOCOLS: 'TLSv1, TLSv1.1, TLSv1.2', XRDP_TLS_CIPHERS: 'DEFAULT:@SECLEVEL=0' }, { t });
    const p = await probeServer({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, parallel: 4 });
    const log = await xrdpLogAfter(peer.log, p);
    assertTlsAgreesWithXrdpLog(p, log);
    const v = p.tls!.versions;
    assert.equal(v['TLSv1.3']?.accepted, false, 'TLS 1.3 not in ssl_protocols');
    assert.equal(v['TLSv1.2']?.accepted, true);
    if (v['TLSv1']?.accepted) {
      const ids = postureFindings(p).map((f) => f.id);
      assert.ok(ids.includes('tls-1.0-accepted'));
      assert.equal(v['TLSv1.1']?.accepted, true);
      assert.ok(ids.includes('tls-1.1-accepted'));
    } else {
      // a system OpenSSL that refuses TLS 1.0 whatever ssl_protocols says: xrdp's log then
      // shows the refusal, which assertTlsAgreesWithXrdpLog has counted
      assert.ok(log.errors.some((e) => /unsupported protocol/.test(e.message)));
    }
  });

  test('a 2008 R2-era TLS: TLS 1.0/1.1 only, static-RSA AES-CBC suite (OpenSSL 3 hides it below security level 0)', async (t) => {
    if (!skipOrFail(t, 'xrdp')) return;
    const peer = await startXrdp('tls', 'high', { XRDP_SSL_PROTOCOLS: 'TLSv1, TLSv1.1', XRDP_TLS_CIPHERS: 'AES128-SHA:@SECLEVEL=0' }, { t });
    const p = await probeServer({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, parallel: 4 });
    assertTlsAgreesWithXrdpLog(p, await xrdpLogAfter(peer.log, p));
    const v = p.tls!.versions;
    assert.deepEqual(
      Object.fromEntries(Object.entries(v).map(([k, r]) => [k, r!.accepted ? r!.cipher : false])),
      { TLSv1: 'TLS_RSA_WITH_AES_128_CBC_SHA', 'TLSv1.1': 'TLS_RSA_WITH_AES_128_CBC_SHA', 'TLSv1.2': false, 'TLSv1.3': false },
    );
    assert.equal(p.tls!.default?.version, 'TLSv1.1');
    const ids = postureFindings(p).map((f) => f.id);
    for (const id of ['tls-1.2-not-supported', 'tls-1.0-accepted', 'tls-1.1-accepted', 'tls-weak-cipher']) assert.ok(ids.includes(id), `${id} in ${ids}`);
  });
});
