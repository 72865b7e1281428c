/**
 * inferServerPolicy against real peers: probe xrdp 0.9.21 (all 15 security_layer x crypt_level
 * combinations) and FreeRDP 2.11.7's shadow server (every mode), infer a policy, serve it, probe
 * our server: the two postures must agree on every decision, except for the answers our acceptor
 * cannot give under any policy, which are listed here one by one (and must be exactly the ones
 * the inference itself predicted).
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ntHashOfUtf16 } from '../../src/crypto/md4.js';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { compareDecisions, inferServerPolicy, postureDecisions, type PolicyDifference } from '../../src/diagnose/infer-policy.js';
import type { ServerPolicy } from '../../src/policy/server-policy.js';
import { UserDirectory } from '../../src/policy/users-file.js';
import type { ProbeCredentials } from '../../src/probe/credssp-probe.js';
import { probeServer } from '../../src/probe/probe.js';
import { serve } from '../../src/serve/server.js';
import { skipOrFail, startShadow, startXrdp, type RunningPeer, type ShadowMode, type XrdpCryptLevel, type XrdpSecurityLayer } from './harness.js';

const USER = 'alice';
const PASSWORD = 'S3cret!';

const diff = (question: string, observed: string, predicted: string): PolicyDifference => ({ question, observed, predicted });
/** FreeRDP answers a request without RDP_NEG_REQ with negotiation data (nego_send_negotiation_response); our Windows rules send none (MS-RDPBCGR 3.3.5.3.2) */
const LEGACY_RSP = diff('legacy.confirm', 'RDP_NEG_RSP', 'no-negotiation-data');
/** FreeRDP selects RDP only for requestedProtocols 0 and refuses RDSTLS / RDSAAD-only requests; Windows Negotiate falls back to RDP, xrdp drops 0x10 */
const RDSTLS_TO_RDP = diff('protocol.RDSTLS', 'refused SSL_NOT_ALLOWED_BY_SERVER', 'ignored RDP');
/** FreeRDP announces RDP 5 (0x00080004) in TS_UD_SC_CORE; our Windows flavor announces RDP 10.7 */
const CORE_RDP5 = diff('serverCore', '0x00080004', '0x0008000c');

/** What the real peer answers and our acceptor cannot (see the report of the inference). */
const SHADOW: Record<ShadowMode, { flavor: ServerPolicy['flavor']; differences: PolicyDifference[] }> = {
  nla: { flavor: 'windows', differences: [] },
  // Windows cannot offer TLS without offering CredSSP; xrdp's tls layer is closest (a HYBRID request gets SSL)
  tls: {
    flavor: 'xrdp',
    differences: [diff('legacy', 'refused SSL_REQUIRED_BY_SERVER', 'refused -'), diff('legacy.confirm', 'RDP_NEG_FAILURE', 'no-negotiation-data'), diff('protocol.RDSAAD', 'refused SSL_REQUIRED_BY_SERVER', 'refused (disconnect)')],
  },
  rdp: { flavor: 'windows', differences: [LEGACY_RSP, CORE_RDP5] },
  negotiate: { flavor: 'windows', differences: [LEGACY_RSP, diff('protocol.RDSAAD', 'refused SSL_NOT_ALLOWED_BY_SERVER', 'ignored RDP'), RDSTLS_TO_RDP, CORE_RDP5] },
  // TLS and RDP without CredSSP: xrdp's negotiate layer (Windows would select HYBRID)
  default: { flavor: 'xrdp', differences: [LEGACY_RSP, diff('protocol.RDSAAD', 'refused SSL_NOT_ALLOWED_BY_SERVER', 'refused (disconnect)'), RDSTLS_TO_RDP] },
  // /sec:ext refuses even a TLS request with SSL_REQUIRED_BY_SERVER: the closest is a TLS-only server without a certificate
  ext: {
    flavor: 'windows',
    differences: ['HYBRID', 'HYBRID_EX', 'SSL'].map((p) => diff(`protocol.${p}`, 'refused SSL_REQUIRED_BY_SERVER', 'refused SSL_CERT_NOT_ON_SERVER')),
  },
};

async function ours(t: TestContext, policy: ServerPolicy, ntlmNames: ReturnType<typeof inferServerPolicy>['ntlmNames'], credentials: ProbeCredentials | undefined) {
  const pems = await generateSelfSignedCertificate('infer-policy-peer');
  const ntHash = await ntHashOfUtf16(Buffer.from(PASSWORD, 'utf16le'));
  const users = new UserDirectory([{ user: USER, domain: '', ntHash, state: 'ok' }]);
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy, tls: pems, users, onConnection: () => {}, ...(ntlmNames ? { credssp: { ntlmNames } } : {}) });
  t.after(() => l!.close());
  return probeServer({ host: '127.0.0.1', port: l!.port, timeoutMs: 5000, parallel: 4, handshake: true, ...(credentials ? { credentials } : {}) });
}

async function roundTrip(t: TestContext, peer: RunningPeer, credentials?: ProbeCredentials) {
  const real = await probeServer({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, parallel: 4, handshake: true, ...(credentials ? { credentials } : {}) });
  await peer.stop();
  assert.equal(real.reachable, true);
  const inferred = inferServerPolicy(real);
  const mine = await ours(t, inferred.policy, inferred.ntlmNames, credentials && { ...credentials, password: Buffer.from(credentials.password) });
  const observed = compareDecisions(postureDecisions(real), postureDecisions(mine));
  return { real, inferred, mine, observed };
}

describe('inferred policy vs real xrdp 0.9.21: every decision agrees', () => {
  for (const layer of ['rdp', 'tls', 'negotiate'] as XrdpSecurityLayer[]) {
    for (const crypt of ['none', 'low', 'medium', 'high', 'fips'] as XrdpCryptLevel[]) {
      test(`security_layer=${layer} crypt_level=${crypt}`, async (t) => {
        if (!skipOrFail(t, 'xrdp')) return;
        const peer = await startXrdp(layer, crypt, undefined, { t });
        const { inferred, observed } = await roundTrip(t, peer);
        const p = inferred.policy;
        assert.equal(inferred.product, 'xrdp');
        assert.equal(p.flavor, 'xrdp');
        if (p.flavor !== 'xrdp') return;
        assert.equal(p.xrdp.securityLayer, layer);
        // crypt_level is seen only through Standard RDP Security, which security_layer=tls never reaches
        if (layer !== 'tls') assert.equal(p.xrdp.cryptLevel, crypt);
        else assert.ok(inferred.assumptions.some((a) => /crypt_level=high/.test(a)));
        // --handshake shows the salted-MAC rejection of 0.9.21.1-1+deb12u3 on the RC4 levels
        if (layer !== 'tls' && (crypt === 'low' || crypt === 'medium' || crypt === 'high')) assert.ok(inferred.evidence.some((e) => /salted MAC rejected/.test(e)), inferred.evidence.join('\n'));
        assert.equal(p.standardSecurity.saltedMac, 'rejected');
        assert.deepEqual(inferred.differences, [], inferred.evidence.join('\n'));
        assert.deepEqual(observed, [], 'the real xrdp and our acceptor under the inferred policy answer alike');
      });
    }
  }
});

describe('inferred policy vs the real FreeRDP 2.11.7 shadow server: the differences are the known ones', () => {
  for (const [mode, want] of Object.entries(SHADOW) as [ShadowMode, (typeof SHADOW)[ShadowMode]][]) {
    test(`mode ${mode}`, async (t) => {
      if (!skipOrFail(t, 'shadow')) return;
      const peer = await startShadow(mode, undefined, { t });
      // NLA: log on with a wrong password, so the way a failed logon ends shows (FreeRDP 2.11: TLS closed, no errorCode)
      const credentials =
        mode === 'nla' ? { user: USER, domain: '', password: Buffer.from('wrong', 'utf16le'), ntHash: await ntHashOfUtf16(Buffer.from('wrong', 'utf16le')) } : undefined;
      const { inferred, observed, real } = await roundTrip(t, peer, credentials);
      assert.equal(inferred.product, 'freerdp', inferred.evidence.join('\n'));
      assert.equal(inferred.policy.flavor, want.flavor);
      assert.deepEqual(inferred.differences, want.differences, `predicted differences:\n${inferred.evidence.join('\n')}`);
      assert.deepEqual(observed, want.differences, 'the differences seen on the wire are the predicted ones');
      if (mode === 'nla') {
        assert.equal(real.credssp?.credentials?.accepted, false);
        assert.equal(inferred.policy.credssp?.failureReply, 'close');
        assert.equal(inferred.policy.flavor === 'windows' && inferred.policy.windows.legacyClientRefusal, 'neg-failure');
      }
      if (mode === 'rdp' || mode === 'negotiate') assert.equal(inferred.policy.standardSecurity.encryptionLevel, 'NONE');
    });
  }
});
