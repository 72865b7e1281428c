/**
 * `rdpsec probe` against FreeRDP 2.11.7's freerdp-shadow-cli in its rdp, tls, nla, negotiate and
 * ext modes. The expected answers follow FreeRDP's rdp_server_accept_nego (RDSTLS > HYBRID >
 * SSL; RDP only when requestedProtocols is exactly 0; failure code 2 when only RDP security is
 * enabled, 5 when NLA is but TLS alone is not, 1 otherwise) and INDEX.md; nmap is compared too.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postureFindings } from '../../src/diagnose/posture-findings.js';
import { probeServer } from '../../src/probe/probe.js';
import type { Posture } from '../../src/probe/posture.js';
import { assertCertificateIsFile, compareWithNmap } from './checks.js';
import { skipOrFail, startShadow, type ShadowMode } from './harness.js';
import { runNmapEnumEncryption, runNmapNtlmInfo } from './nmap.js';

type Answer = ['accepted' | 'ignored', string] | ['refused', string];
interface Expected {
  protocols: Record<keyof Posture['protocols'], Answer>;
  legacy: [Posture['legacy']['status'], string | null];
  preferred: string | null;
  requires: Posture['requires'];
  rdp: boolean;
  tls: boolean;
  findings: string[];
}

const ALL = (code: string): Record<keyof Posture['protocols'], Answer> => ({
  RDP: ['refused', code],
  SSL: ['refused', code],
  HYBRID: ['refused', code],
  RDSTLS: ['refused', code],
  HYBRID_EX: ['refused', code],
  RDSAAD: ['refused', code],
});

const EXPECTED: Partial<Record<ShadowMode, Expected>> = {
  nla: {
    protocols: { ...ALL('HYBRID_REQUIRED_BY_SERVER'), HYBRID: ['accepted', 'HYBRID'], HYBRID_EX: ['ignored', 'HYBRID'] },
    legacy: ['refused', 'HYBRID_REQUIRED_BY_SERVER'],
    preferred: 'HYBRID',
    requires: 'HYBRID',
    rdp: false,
    tls: true,
    findings: ['cert-self-signed', 'protocol-ignored', 'credssp-accepts-unpatched-clients'],
  },
  tls: {
    protocols: { ...ALL('SSL_REQUIRED_BY_SERVER'), SSL: ['accepted', 'SSL'], HYBRID: ['ignored', 'SSL'], HYBRID_EX: ['ignored', 'SSL'] },
    legacy: ['refused', 'SSL_REQUIRED_BY_SERVER'],
    preferred: 'SSL',
    requires: 'SSL',
    rdp: false,
    tls: true,
    findings: ['nla-not-supported', 'cert-self-signed', 'protocol-ignored'],
  },
  rdp: {
    protocols: { ...ALL('SSL_NOT_ALLOWED_BY_SERVER'), RDP: ['accepted', 'RDP'] },
    legacy: ['accepted', null],
    preferred: null,
    requires: null,
    rdp: true,
    tls: false,
    findings: ['encryption-none', 'rdp-security-accepted', 'nla-not-supported', 'legacy-client-accepted'],
  },
  negotiate: {
    protocols: {
      ...ALL('SSL_NOT_ALLOWED_BY_SERVER'),
      RDP: ['accepted', 'RDP'],
      SSL: ['accepted', 'SSL'],
      HYBRID: ['accepted', 'HYBRID'],
      HYBRID_EX: ['ignored', 'HYBRID'],
    },
    legacy: ['accepted', null],
    preferred: 'HYBRID',
    requires: null,
    rdp: true,
    tls: true,
    findings: ['encryption-none', 'rdp-security-accepted', 'nla-not-required', 'cert-self-signed'],
  },
  ext: {
    // INDEX.md: this build answers every request, even HYBRID_EX, with SSL_REQUIRED_BY_SERVER
    protocols: ALL('SSL_REQUIRED_BY_SERVER'),
    legacy: ['refused', 'SSL_REQUIRED_BY_SERVER'],
    preferred: null,
    requires: 'SSL',
    rdp: false,
    tls: false,
    findings: ['nla-not-supported'],
  },
};

describe('probe against FreeRDP 2.11.7 shadow server', () => {
  for (const [mode, want] of Object.entries(EXPECTED) as [ShadowMode, Expected][]) {
    test(`mode ${mode}`, async (t) => {
      if (!skipOrFail(t, 'shadow', 'nmap')) return;
      const peer = await startShadow(mode, undefined, { t });
      const p = await probeServer({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, parallel: 4 });
      assert.equal(p.reachable, true);
      for (const [name, [status, what]] of Object.entries(want.protocols)) {
        const probe = p.protocols[name as keyof Posture['protocols']];
        assert.equal(probe.status, status, `${name}: ${JSON.stringify(probe)}`);
        assert.equal(status === 'refused' ? probe.failureCode : probe.selected, what, name);
      }
      assert.equal(p.legacy.status, want.legacy[0], JSON.stringify(p.legacy));
      assert.equal(p.legacy.failureCode, want.legacy[1]);
      // FreeRDP's server answers a legacy request with negotiation data anyway (fact sheet section 1)
      assert.equal(p.legacy.confirm, want.legacy[0] === 'accepted' ? 'RDP_NEG_RSP' : 'RDP_NEG_FAILURE');
      assert.equal(p.preferred, want.preferred);
      assert.equal(p.requires, want.requires);

      if (want.rdp) {
        const ss = p.standardSecurity!;
        // the FreeRDP server's default: encryption level and method NONE, whatever is offered
        assert.equal(ss.encryptionLevel, 'NONE');
        for (const m of Object.values(ss.methods)) assert.deepEqual([m!.status, m!.selected], ['accepted', 'NONE']);
        assert.equal(ss.serverRandom, false);
        assert.deepEqual(ss.imposesMethods, []);
      } else {
        assert.equal(p.standardSecurity, null);
      }
      if (want.tls) {
        const v = p.tls!.versions;
        assert.equal(v['TLSv1.2']?.accepted, true);
        assert.equal(v['TLSv1.3']?.accepted, true);
        assertCertificateIsFile(p, peer.cert);
      } else {
        assert.equal(p.tls, null);
      }
      if (mode === 'nla') {
        // NLA only: TLS reached through HYBRID; nothing gets to the MCS exchange without CredSSP
        assert.equal(p.tls!.via, 'HYBRID');
        assert.equal(p.downgrade.ok, null);
        // the server goes on to CredSSP after TLS: version 6, NTLM CHALLENGE with the names
        // nmap's rdp-ntlm-info reads from the same message (INDEX.md: shadow-nla--nmap-rdp-ntlm-info)
        const h = p.hybrid!;
        assert.equal(h.credssp, true, JSON.stringify(h));
        assert.equal(h.serverVersion, 6);
        assert.equal(h.mechanism, 'NTLM');
        const info = await runNmapNtlmInfo(peer.port);
        assert.equal(h.ntlm?.targetName, info.Target_Name);
        assert.equal(h.ntlm?.nbDomainName, info.NetBIOS_Domain_Name);
        assert.equal(h.ntlm?.nbComputerName, info.NetBIOS_Computer_Name);
        assert.equal(h.ntlm?.dnsDomainName, info.DNS_Domain_Name);
        assert.equal(h.ntlm?.dnsComputerName, info.DNS_Computer_Name);
        assert.equal(h.ntlm?.productVersion, info.Product_Version);
        assert.ok(Math.abs(h.ntlm!.clockSkewSeconds!) <= 2, 'same machine, same clock');
      } else if (want.tls || want.rdp) {
        assert.equal(p.downgrade.ok, true, JSON.stringify(p.downgrade));
      }
      if (mode === 'negotiate') assert.equal(p.hybrid?.credssp, true, JSON.stringify(p.hybrid));
      if (want.protocols.HYBRID[0] !== 'accepted') assert.equal(p.hybrid, null);
      const ids = postureFindings(p).map((f) => f.id);
      for (const id of want.findings) assert.ok(ids.includes(id), `finding ${id} in ${ids.join(', ')}`);

      const nmap = await runNmapEnumEncryption(peer.port, { debug: true });
      assert.equal(nmap.scriptError, undefined, `nmap failed: ${nmap.scriptError}`);
      const cmp = compareWithNmap(p, nmap);
      if (mode === 'tls') assert.ok(cmp.nmapWrong.includes('HYBRID'), `nmap claims CredSSP on a TLS-only server: ${JSON.stringify(cmp)}`);
    });
  }
});
