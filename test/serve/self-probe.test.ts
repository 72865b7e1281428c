/**
 * Our probe against our own server, for every preset: the posture the probe reports must be the
 * policy we set, question by question, as the policy module decides it (negotiation and
 * encryption-method rules). Real sockets and real TLS on loopback.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSelfSignedCertificate, type PemPair } from '../../src/crypto/self-signed.js';
import { PROTOCOL, PROTOCOL_NAMES, protocolName } from '../../src/pdu/nego.js';
import { negotiate, selectEncryptionMethod } from '../../src/policy/negotiation.js';
import { preset, presetNames } from '../../src/policy/presets.js';
import { METHOD_QUESTIONS, PROTOCOL_QUESTIONS, probeServer } from '../../src/probe/probe.js';
import { serve } from '../../src/serve/server.js';

let tls: PemPair;
before(async () => {
  tls = await generateSelfSignedCertificate('self-probe');
});

describe('probe against serve, for every preset', () => {
  for (const name of presetNames()) {
    test(name, async (t) => {
      const policy = preset(name);
      const [l] = await serve({ host: '127.0.0.1', ports: [0], policy, tls, onConnection: () => {} });
      t.after(() => l!.close());
      const p = await probeServer({ host: '127.0.0.1', port: l!.port, timeoutMs: 3000, parallel: 4 });

      for (const proto of PROTOCOL_NAMES) {
        const d = negotiate(policy, PROTOCOL_QUESTIONS[proto]);
        const got = p.protocols[proto];
        if (d.outcome === 'selected') {
          assert.equal(got.selected, protocolName(d.selectedProtocol), `${proto}: ${d.rule}`);
          assert.equal(got.status, d.selectedProtocol === PROTOCOL[proto] ? 'accepted' : 'ignored', `${proto}: ${d.rule}`);
        } else if (d.outcome === 'failure') {
          assert.deepEqual([got.status, got.failureCode], ['refused', d.failureCode], `${proto}: ${d.rule}`);
        } else {
          assert.notEqual(got.status, 'accepted', `${proto} dropped: ${d.rule}`);
        }
      }

      const legacy = negotiate(policy, null);
      if (legacy.outcome === 'selected') assert.equal(p.legacy.status, 'accepted', `legacy: ${legacy.rule}`);
      else assert.equal(p.legacy.status, 'refused', `legacy: ${legacy.rule}: ${JSON.stringify(p.legacy)}`);

      const rdpSelected = negotiate(policy, PROTOCOL.RDP);
      if (rdpSelected.outcome === 'selected' && rdpSelected.selectedProtocol === PROTOCOL.RDP) {
        const ss = p.standardSecurity!;
        assert.ok(ss, 'standard RDP security reached');
        for (const [m, bits] of Object.entries(METHOD_QUESTIONS)) {
          const want = selectEncryptionMethod(policy, bits);
          const got = ss.methods[m as keyof typeof METHOD_QUESTIONS]!;
          if (want.outcome === 'selected') {
            assert.deepEqual([got.status, got.selected, got.encryptionLevel], ['accepted', want.method.replace(/^ENCRYPTION_METHOD_/, ''), want.level], `${m}: ${want.rule}`);
          } else {
            assert.equal(got.status, 'refused', `${m}: ${want.rule}`);
          }
        }
      } else {
        assert.equal(p.standardSecurity, null);
      }

      if (p.tls) {
        const wanted = policy.tls.versions.filter((v) => v !== 'SSLv3');
        for (const [v, r] of Object.entries(p.tls.versions)) {
          assert.equal(r!.accepted, wanted.includes(v as 'TLSv1'), `${v} (policy ${wanted.join(', ')})`);
        }
      }
      if (p.downgrade.ok !== null) assert.equal(p.downgrade.ok, true, 'our server echoes clientRequestedProtocols');
    });
  }
});
