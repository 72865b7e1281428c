// Tests for src/crypto/certificate-summary.ts (kept under test/pdu/ with the certificate codecs).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rsaPublicKeyFromX509, signatureAlgorithmOid, summarizeProprietary, summarizeX509 } from '../../src/crypto/certificate-summary.js';
import * as gcc from '../../src/pdu/gcc.js';
import * as mcs from '../../src/pdu/mcs.js';
import * as sc from '../../src/pdu/server-certificate.js';
import * as sd from '../../src/pdu/server-data.js';
import { FIXTURES } from './fixtures-mcs.js';
import { EC_TEST_CERT_DER, EC_TEST_CERT_SHA256, XRDP_TLS_CERT_DER, XRDP_TLS_CERT_SHA256 } from './fixtures-certs.js';
import { fuzzRandom, throwsDecode } from './fuzz-helpers.js';

describe('summarizeX509', () => {
  it('summarizes the real xrdp TLS certificate', () => {
    assert.deepEqual(summarizeX509(XRDP_TLS_CERT_DER), {
      subject: 'CN=xrdp-peer',
      issuer: 'CN=xrdp-peer',
      selfSigned: true,
      notBefore: '2026-11-21T23:25:38.000Z',
      notAfter: '2036-11-18T23:25:38.000Z',
      keyType: 'rsa',
      keyBits: 2048,
      signatureAlgorithm: 'sha256WithRSAEncryption',
      subjectAltNames: [],
      sha256: XRDP_TLS_CERT_SHA256,
      serial: '5e21c1dbfb8f4931b502dad2b8729376d1e420a2',
    });
  });

  it('summarizes an EC P-256 certificate with subjectAltNames', () => {
    const s = summarizeX509(EC_TEST_CERT_DER);
    assert.equal(s.subject, 'CN=rdp.example.test, O=rdpsec tests');
    assert.equal(s.selfSigned, true);
    assert.equal(s.keyType, 'ec');
    assert.equal(s.keyBits, 256);
    assert.equal(s.signatureAlgorithm, 'ecdsa-with-SHA256');
    assert.deepEqual(s.subjectAltNames, ['DNS:rdp.example.test', 'DNS:alt.example.test', 'IP Address:192.0.2.7']);
    assert.equal(s.sha256, EC_TEST_CERT_SHA256);
    assert.equal(s.serial, '1234abcd');
    assert.equal(signatureAlgorithmOid(EC_TEST_CERT_DER), '1.2.840.10045.4.3.2');
  });

  it('raises DecodeError on bytes that are not a certificate', () => {
    throwsDecode(() => summarizeX509(Buffer.from('3003020101', 'hex')), 'InvalidField');
    throwsDecode(() => summarizeX509(XRDP_TLS_CERT_DER.subarray(0, 100)), 'InvalidField');
    fuzzRandom((b) => summarizeX509(b), Buffer.from('308203', 'hex'), 64);
  });
});

describe('rsaPublicKeyFromX509', () => {
  it('reads modulus and exponent of the xrdp certificate', () => {
    const k = rsaPublicKeyFromX509(XRDP_TLS_CERT_DER);
    assert.equal(k.bits, 2048);
    assert.equal(k.exponent, 65537n);
    assert.equal(k.modulus.toString(16).slice(0, 16), '8b2a38d4cfa45485');
  });
  it('refuses a non-RSA key', () => {
    throwsDecode(() => rsaPublicKeyFromX509(EC_TEST_CERT_DER), 'UnsupportedValue');
  });
});

describe('summarizeProprietary', () => {
  it('summarizes xrdp\'s proprietary certificate', () => {
    const blocks = gcc.decodeConferenceCreateResponse(mcs.decodeMcsConnectResponse(FIXTURES.xrdpHighConnectResponse().bytes).userData).userData;
    const sec = sd.collectServerData(sd.decodeServerDataBlocks(blocks)).security!;
    const cert = sd.serverSecurityCertificate(sec) as sc.ProprietaryServerCertificate;
    assert.deepEqual(summarizeProprietary(cert), { keyType: 'rsa', keyBits: 2048, exponent: 65537, signatureLength: 64, temporary: false });
  });
});
