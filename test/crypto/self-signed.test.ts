import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { summarizeX509 } from '../../src/crypto/certificate-summary.js';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';

test('a generated self-signed certificate: RSA 2048, SHA-256, server auth, valid now, matching key', async () => {
  const p = await generateSelfSignedCertificate('rdpsec-test', 30);
  const x = new X509Certificate(p.certPem);
  assert.equal(x.subject, 'CN=rdpsec-test');
  assert.ok(x.verify(x.publicKey), 'self-signed');
  assert.ok(x.checkPrivateKey(createPrivateKey(p.keyPem)));
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const s = summarizeX509(x.raw);
  assert.equal(s.keyBits, 2048);
  assert.equal(s.signatureAlgorithm, 'sha256WithRSAEncryption');
  assert.equal(s.selfSigned, true);
  assert.ok(Date.parse(s.notBefore) <= Date.now() && Date.now() < Date.parse(s.notAfter));
  assert.ok(Date.parse(s.notAfter) - Date.now() < 31 * 86_400_000);
});
