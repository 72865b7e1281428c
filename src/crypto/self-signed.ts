import { generateKeyPairSync, randomBytes } from 'node:crypto';

/**
 * A self-signed RSA-2048 / SHA-256 TLS certificate for `rdpsec serve`, as Windows makes one for
 * its RDP listener when no other is configured. The key comes from node:crypto; the
 * certificate is built and signed with node-forge (Node has no X.509 writer), loaded only when
 * a certificate is made, since it costs start-up time the prober does not pay.
 */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

export async function generateSelfSignedCertificate(commonName: string, days = 365): Promise<PemPair> {
  const { default: forge } = await import('node-forge');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // a positive serial: clear the top bit
  cert.serialNumber = (randomBytes(8)[0]! & 0x7f).toString(16).padStart(2, '0') + randomBytes(7).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(cert.validity.notBefore.getTime() + days * 86_400_000);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    // what the Windows RDP self-signed certificate carries: Server Authentication
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'keyUsage', keyEncipherment: true, dataEncipherment: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}
