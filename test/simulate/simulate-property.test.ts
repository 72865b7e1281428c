/**
 * Property: whatever the server policy (any Windows knobs, TLS versions, CredSSP state; any
 * xrdp security_layer, crypt_level, ssl_protocols) and whichever client profile and logon,
 * `simulate` ends within the profile's attempts with a result that says either how it
 * connected or where and how it failed in the client's words - never a throw, never a hang.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SIMULATION_STAGES, clientProfiles } from '../../src/connector/client-profiles.js';
import { fromWindowsFlags } from '../../src/policy/windows-settings.js';
import { fromXrdpSettings } from '../../src/policy/xrdp-ini.js';
import type { ServerPolicy, TlsVersion } from '../../src/policy/server-policy.js';
import { simulate } from '../../src/simulate/simulate.js';

const TLS: TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const tlsSet = fc.subarray(TLS, { minLength: 0 });

const windowsPolicy: fc.Arbitrary<ServerPolicy> = fc
  .record({
    securityLayer: fc.constantFrom(0, 1, 2),
    userAuthentication: fc.constantFrom(0, 1),
    minEncryptionLevel: fc.constantFrom(1, 2, 3, 4),
    hybridEx: fc.boolean(),
    legacyClientRefusal: fc.constantFrom('drop' as const, 'neg-failure' as const),
    tlsVersions: tlsSet,
    certificateAvailable: fc.boolean(),
    credsspTop: fc.integer({ min: 2, max: 6 }),
    aeo: fc.constantFrom(0 as const, 1 as const, 2 as const),
    failureReply: fc.constantFrom('error-code' as const, 'close' as const),
  })
  .map((w) =>
    fromWindowsFlags({
      securityLayer: w.securityLayer,
      userAuthentication: w.userAuthentication,
      minEncryptionLevel: w.minEncryptionLevel,
      hybridEx: w.hybridEx,
      legacyClientRefusal: w.legacyClientRefusal,
      tlsVersions: w.tlsVersions,
      certificate: w.certificateAvailable ? { kind: 'generated' } : { kind: 'none' },
      certificateAvailable: w.certificateAvailable,
      credssp: { versions: Array.from({ length: w.credsspTop - 1 }, (_, i) => i + 2), checkNonce: w.aeo === 0 && w.credsspTop >= 5, allowEncryptionOracle: w.aeo, failureReply: w.failureReply },
    }),
  );

const xrdpPolicy: fc.Arbitrary<ServerPolicy> = fc
  .record({
    security_layer: fc.constantFrom('rdp', 'tls', 'negotiate', 'hybrid'),
    crypt_level: fc.constantFrom('none', 'low', 'medium', 'high', 'fips'),
    ssl: tlsSet,
    readable: fc.boolean(),
  })
  .map((x) => fromXrdpSettings({ security_layer: x.security_layer, crypt_level: x.crypt_level, ssl_protocols: x.ssl.join(', ') }, { fileReadable: () => x.readable }));

describe('simulate: any policy, any client', () => {
  it('always ends with a consistent result', async () => {
    const profiles = [...clientProfiles().values()];
    await fc.assert(
      fc.asyncProperty(fc.oneof(windowsPolicy, xrdpPolicy), fc.constantFrom(...profiles), fc.constantFrom('valid' as const, 'wrong-password' as const, 'none' as const), async (server, client, logon) => {
        const r = await simulate({ client, server, logon, timeoutMs: 3000 });
        assert.ok(r.attempts.length >= 1 && r.attempts.length <= client.attempts.length);
        assert.equal(r.connects, r.failure === null);
        assert.equal(r.connects, r.negotiated !== null);
        if (r.failure) {
          assert.ok(SIMULATION_STAGES.includes(r.failure.stage), r.failure.stage);
          assert.ok(r.failure.clientMessage.length > 0);
          assert.notEqual(r.failure.code, 'TIMEOUT', `nothing waits on a network here: ${client.name} x ${JSON.stringify(server.protocols)} ${r.failure.reason}`);
        }
      }),
      { numRuns: 80 },
    );
  });
});
