import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError } from '../../src/pdu/errors.js';
import * as lic from '../../src/pdu/licensing.js';
import * as ld from '../../src/pdu/licensing-data.js';
import { decodeServerCertificate } from '../../src/pdu/server-certificate.js';
import * as sec from '../../src/pdu/security-header.js';
import { decodeX224Data } from '../../src/pdu/x224.js';
import { decodeDomainPdu } from '../../src/pdu/mcs-domain.js';
import { CLEAR_SESSIONS, sessionFrames, walkSession, type SessionStep } from './fixtures-session.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

const b = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');
const licensing = (capture: string, layer: 'tcp' | 'tls' = 'tcp'): SessionStep[] => walkSession(capture, layer).filter((s) => s.license);
const latin1 = (x: Uint8Array): string => Buffer.from(x).toString('latin1');

describe('licensing in real sessions', () => {
  it('xrdp: SERVER_LICENSE_REQUEST, xfreerdp answers NEW_LICENSE_REQUEST, xrdp ends with STATUS_VALID_CLIENT', () => {
    const steps = licensing('xrdp-rdp-none--xfreerdp-sec-rdp');
    assert.deepEqual(steps.map((s) => `${s.dir} ${s.label}`), ['s2c License LICENSE_REQUEST', 'c2s License NEW_LICENSE_REQUEST', 's2c License ERROR_ALERT']);

    const request = steps[0]!.license!;
    assert.equal(request.flags, lic.PREAMBLE_VERSION_2_0);
    assert.equal(request.message.kind, 'licenseRequest');
    const r = (request.message as Extract<lic.LicensingMessage, { kind: 'licenseRequest' }>).value;
    assert.equal(r.serverRandom.length, 32);
    assert.deepEqual(r.productInfo, { dwVersion: 0x00040000, companyName: 'Microsoft Corporation', productId: '236' });
    assert.deepEqual({ ...r.keyExchangeList, blobData: hex(r.keyExchangeList.blobData) }, { wBlobType: lic.BB_KEY_EXCHG_ALG_BLOB, blobData: '01000000' });
    assert.equal(r.serverCertificate.wBlobType, lic.BB_CERTIFICATE_BLOB);
    // even at encryption level NONE (and under TLS) xrdp sends its proprietary certificate, a 512-bit key
    const cert = decodeServerCertificate(r.serverCertificate.blobData);
    assert.equal(cert.kind, 'proprietary');
    assert.deepEqual(r.scopeList.map((s) => [s.wBlobType, latin1(s.blobData)]), [[lic.BB_SCOPE_BLOB, 'microsoft.com\0']]);

    const nlr = steps[1]!.license!;
    assert.equal(nlr.flags, lic.PREAMBLE_VERSION_3_0 | lic.EXTENDED_ERROR_MSG_SUPPORTED);
    const n = (nlr.message as Extract<lic.LicensingMessage, { kind: 'newLicenseRequest' }>).value;
    assert.equal(n.preferredKeyExchangeAlg, lic.KEY_EXCHANGE_ALG_RSA);
    assert.equal(n.platformId, lic.CLIENT_OS_ID_WINNT_POST_52 | lic.CLIENT_IMAGE_ID_MICROSOFT);
    assert.equal(n.encryptedPreMasterSecret.wBlobType, lic.BB_RANDOM_BLOB);
    assert.equal(n.encryptedPreMasterSecret.blobData.length, 64 + 8);
    assert.equal(hex(n.encryptedPreMasterSecret.blobData.subarray(64)), '0000000000000000');
    assert.deepEqual([n.clientUserName.wBlobType, latin1(n.clientUserName.blobData)], [lic.BB_CLIENT_USER_NAME_BLOB, 'test\0']);
    assert.deepEqual([n.clientMachineName.wBlobType, latin1(n.clientMachineName.blobData)], [lic.BB_CLIENT_MACHINE_NAME_BLOB, 'vm\0']);

    const alert = steps[2]!.license!;
    assert.equal(alert.flags, lic.PREAMBLE_VERSION_2_0);
    const e = (alert.message as Extract<lic.LicensingMessage, { kind: 'errorAlert' }>).value;
    assert.equal(lic.licenseErrorCodeName(e.dwErrorCode), 'STATUS_VALID_CLIENT');
    assert.equal(lic.licenseStateTransitionName(e.dwStateTransition), 'ST_NO_TRANSITION');
    // not BB_ERROR_BLOB: xrdp writes 0x1428 as the type of the empty blob
    assert.deepEqual({ ...e.bbErrorInfo, blobData: e.bbErrorInfo.blobData.length }, { wBlobType: 0x1428, blobData: 0 });
  });

  it('FreeRDP shadow: no license request, straight to STATUS_VALID_CLIENT (version 3, empty BB_ERROR_BLOB)', () => {
    const steps = licensing('shadow-rdp--xfreerdp-sec-rdp');
    assert.deepEqual(steps.map((s) => `${s.dir} ${s.label}`), ['s2c License ERROR_ALERT']);
    assert.equal(hex(steps[0]!.payload!), 'ff031000070000000200000004000000');
    assert.deepEqual(steps[0]!.license, lic.decodeLicensingPdu(enc(lic.validClientLicensingPdu(), lic.encodeLicensingPdu)));
    assert.equal(hex(enc(lic.validClientLicensingPdu(), lic.encodeLicensingPdu)), hex(steps[0]!.payload!));
  });

  it('every real licensing PDU re-encodes byte for byte, TLS sessions included', () => {
    for (const { capture, layer } of CLEAR_SESSIONS) {
      for (const s of licensing(capture, layer)) assert.equal(hex(enc(s.license!, lic.encodeLicensingPdu)), hex(s.payload!), `${capture} ${s.label}`);
    }
  });

  it('rdesktop: same xrdp request; its NEW_LICENSE_REQUEST: version 3 without extended errors, zero client random', () => {
    const pdus: { dir: string; body: Uint8Array }[] = [];
    for (const f of sessionFrames('xrdp-rdp-high--rdesktop', 'tcp')) {
      const p = decodeX224Data(f.bytes);
      if (p[0] === 0x7f) continue;
      const m = decodeDomainPdu(p);
      if (m.kind !== 'sendDataRequest' && m.kind !== 'sendDataIndication') continue;
      const { header, body } = sec.splitSecurityHeader(m.value.userData, 'rc4');
      if (header.form === 'basic' && header.flags & sec.SEC_LICENSE_PKT) pdus.push({ dir: f.dir, body });
    }
    const decoded = pdus.map((p) => lic.decodeLicensingPdu(p.body));
    assert.deepEqual(decoded.map((d) => d.message.kind), ['licenseRequest', 'newLicenseRequest', 'errorAlert']);
    assert.equal(decoded[1]!.flags, lic.PREAMBLE_VERSION_3_0);
    const n = (decoded[1]!.message as Extract<lic.LicensingMessage, { kind: 'newLicenseRequest' }>).value;
    // rdesktop 1.9 licence.c: platform id 0xff010000 and an all-zero client random
    assert.equal(n.platformId, 0xff010000);
    assert.ok(n.clientRandom.every((x) => x === 0));
    pdus.forEach((p, i) => assert.equal(hex(enc(decoded[i]!, lic.encodeLicensingPdu)), hex(p.body)));
  });
});

describe('licensing messages a server with a license server would send (synthetic round trips)', () => {
  const blob = (t: number, h: string): lic.LicenseBlob => ({ wBlobType: t, blobData: new Uint8Array(b(h)) });
  const mac = new Uint8Array(16).fill(0x5a);
  const cases: lic.LicensingPdu[] = [
    { flags: 3, message: { kind: 'platformChallenge', value: { connectFlags: 0, encryptedPlatformChallenge: blob(lic.BB_ANY_BLOB, '0102030405060708090a'), macData: mac } } },
    { flags: 0x83, message: { kind: 'platformChallengeResponse', value: { encryptedPlatformChallengeResponse: blob(lic.BB_ENCRYPTED_DATA_BLOB, 'aabb'), encryptedHWID: blob(lic.BB_ENCRYPTED_DATA_BLOB, 'cc'.repeat(20)), macData: mac } } },
    { flags: 3, message: { kind: 'newLicense', value: { encryptedLicenseInfo: blob(lic.BB_ENCRYPTED_DATA_BLOB, 'dd'.repeat(40)), macData: mac } } },
    { flags: 3, message: { kind: 'upgradeLicense', value: { encryptedLicenseInfo: blob(lic.BB_ENCRYPTED_DATA_BLOB, ''), macData: mac } } },
    {
      flags: 0x83,
      message: {
        kind: 'licenseInfo',
        value: {
          preferredKeyExchangeAlg: 1, platformId: 0x04010000, clientRandom: new Uint8Array(32).fill(1),
          encryptedPreMasterSecret: blob(lic.BB_RANDOM_BLOB, '00'.repeat(72)), licenseInfo: blob(lic.BB_DATA_BLOB, '3082'),
          encryptedHWID: blob(lic.BB_ENCRYPTED_DATA_BLOB, 'ee'.repeat(20)), macData: mac,
        },
      },
    },
    { flags: 3, message: { kind: 'errorAlert', value: { dwErrorCode: lic.ERR_NO_LICENSE_SERVER, dwStateTransition: lic.ST_TOTAL_ABORT, bbErrorInfo: blob(lic.BB_ERROR_BLOB, '') } } },
  ];
  it('encode then decode gives the value back, with the bMsgType the spec assigns', () => {
    const types = [lic.PLATFORM_CHALLENGE, lic.PLATFORM_CHALLENGE_RESPONSE, lic.NEW_LICENSE, lic.UPGRADE_LICENSE, lic.LICENSE_INFO, lic.ERROR_ALERT];
    cases.forEach((v, i) => {
      const bytes = new Uint8Array(enc(v, lic.encodeLicensingPdu));
      assert.equal(bytes[0], types[i]);
      assert.equal(bytes[2]! | (bytes[3]! << 8), bytes.length, 'wMsgSize counts the preamble');
      assert.deepEqual(lic.decodeLicensingPdu(bytes), v);
    });
    assert.equal(lic.licenseErrorCodeName(lic.ERR_NO_LICENSE_SERVER), 'ERR_NO_LICENSE_SERVER');
    assert.equal(lic.licenseErrorCodeName(0x99), 'unknown (0x99)');
  });

  it('decrypted layouts: CLIENT_HARDWARE_ID, PLATFORM_CHALLENGE_RESPONSE_DATA, NEW_LICENSE_INFO', () => {
    const hwid: ld.ClientHardwareId = { platformId: 0x04010000, data1: 1, data2: 2, data3: 3, data4: 0xffffffff };
    const hb = enc(hwid, ld.encodeClientHardwareId);
    assert.equal(hb.length, ld.CLIENT_HARDWARE_ID_SIZE);
    assert.deepEqual(ld.decodeClientHardwareId(hb), hwid);
    const resp: ld.PlatformChallengeResponseData = {
      wVersion: ld.PLATFORM_CHALLENGE_RESPONSE_VERSION, wClientType: ld.OTHER_PLATFORMCHALLENGE_TYPE, wLicenseDetailLevel: ld.LICENSE_DETAIL_DETAIL, pbChallenge: new Uint8Array(b('54455354')),
    };
    const rb = new Uint8Array(enc(resp, ld.encodePlatformChallengeResponseData));
    assert.equal(hex(rb), '000100ff0300040054455354');
    assert.deepEqual(ld.decodePlatformChallengeResponseData(rb), resp);
    const info: ld.NewLicenseInfo = { dwVersion: 0x00060000, pbScope: new Uint8Array(b('6d7300')), pbCompanyName: new Uint8Array(b('41000000')), pbProductId: new Uint8Array(b('4100')), pbLicenseInfo: new Uint8Array(b('308201')) };
    assert.deepEqual(ld.decodeNewLicenseInfo(new Uint8Array(enc(info, ld.encodeNewLicenseInfo))), info);
    throwsDecode(() => ld.decodeNewLicenseInfo(b('00000600 ffffffff')), 'InvalidField', 'cbScope');
    throwsDecode(() => ld.decodeClientHardwareId(new Uint8Array(21)), 'TrailingBytes');
    throwsDecode(() => ld.decodePlatformChallengeResponseData(b('0001 00ff 0300 0500 5445535400 00')), 'TrailingBytes');
  });
});

describe('licensing refusals', () => {
  const alert = b('ff031000070000000200000004000000');
  it('wMsgSize must match, the type must be known, the message must fill the PDU', () => {
    throwsDecode(() => lic.decodeLicensingPdu(alert.subarray(0, 15)), 'NotEnoughBytes', 'wMsgSize');
    throwsDecode(() => lic.decodeLicensingPdu(Buffer.concat([alert, Buffer.of(0)])), 'InvalidField', 'wMsgSize');
    const unknown = Buffer.from(alert);
    unknown[0] = 0x42;
    throwsDecode(() => lic.decodeLicensingPdu(unknown), 'UnsupportedValue', 'bMsgType');
    const shortBlob = Buffer.from(alert);
    shortBlob[14] = 1; // wBlobLen 1, no byte left
    throwsDecode(() => lic.decodeLicensingPdu(shortBlob), 'NotEnoughBytes', 'bbErrorInfo.blobData');
    const trailing = Buffer.concat([alert, Buffer.of(0)]);
    trailing[2] = 0x11;
    throwsDecode(() => lic.decodeLicensingPdu(trailing), 'TrailingBytes');
  });

  it('bounds ScopeCount and checks the product strings', () => {
    const request = licensing('xrdp-rdp-none--xfreerdp-sec-rdp')[0]!.payload!;
    const huge = Buffer.from(request);
    const scopeAt = huge.length - 4 - 14 - 4; // ScopeCount, then one 4 + 14 byte blob
    assert.equal(huge.readUInt32LE(scopeAt), 1);
    huge.writeUInt32LE(0x40000000, scopeAt);
    throwsDecode(() => lic.decodeLicensingPdu(huge), 'InvalidField', 'ScopeCount');
    const odd = Buffer.from(request);
    odd.writeUInt32LE(43, 4 + 32 + 4); // cbCompanyName
    throwsDecode(() => lic.decodeLicensingPdu(odd), 'InvalidField', 'cbCompanyName');
    const unterminated = Buffer.from(request);
    unterminated[4 + 32 + 8 + 43] = 0x41;
    throwsDecode(() => lic.decodeLicensingPdu(unterminated), 'InvalidField', 'pbCompanyName');
  });

  it('refuses fixed fields of the wrong size', () => {
    const bad: lic.LicensingPdu = { flags: 3, message: { kind: 'newLicense', value: { encryptedLicenseInfo: { wBlobType: 9, blobData: new Uint8Array(0) }, macData: new Uint8Array(15) } } };
    assert.throws(() => enc(bad, lic.encodeLicensingPdu), EncodeError);
    assert.throws(() => enc({ wBlobType: 1, blobData: new Uint8Array(0x10000) }, (v, w) => lic.writeLicenseBlob(w, v)), EncodeError);
  });
});

describe('licensing fuzz', () => {
  const real = licensing('xrdp-rdp-none--xfreerdp-sec-rdp').map((s) => s.payload!);
  it('random bytes only raise DecodeError', () => {
    fuzzRandom(lic.decodeLicensingPdu);
    for (const t of [0x01, 0x02, 0x03, 0x12, 0x13, 0x15, 0xff]) fuzzRandom((x) => lic.decodeLicensingPdu(Uint8Array.from([t, 3, x.length + 4, 0, ...x])), new Uint8Array(0), 250);
    fuzzRandom(ld.decodeNewLicenseInfo);
    fuzzRandom(ld.decodePlatformChallengeResponseData);
  });
  it('every truncation of every real licensing PDU fails; mutations only raise DecodeError', () => {
    for (const p of real) {
      fuzzTruncations(p, lic.decodeLicensingPdu, true);
      fuzzMutations(p, lic.decodeLicensingPdu);
    }
  });
});
