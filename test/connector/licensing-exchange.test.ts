/**
 * The MS-RDPELE new-license exchange (1.3.3.1, 3.1.5, 3.2.5): our ClientLicensing
 * (src/connector/client-licensing-exchange.ts) against our ServerLicensing
 * (src/acceptor/server-licensing.ts) in memory, each message through the real licensing PDU
 * codecs: license request, new license request (or license info), platform challenge and
 * response, then STATUS_VALID_CLIENT or a new license. Then wrong MACs (typed errors on the
 * client, { ok: false } on the server), messages out of order, truncated and hostile blobs
 * (DecodeError, ConnectorError or RdpCryptoError, never anything else), and fast-check over the
 * client's decoders and handlers. One byte-exact vector: IronRDP's CLIENT_NEW_LICENSE_REQUEST
 * (ironrdp-pdu client_new_license_request/tests.rs) from its randoms and key.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { licensingIdentity, ServerLicensing, PLATFORM_CHALLENGE_LENGTH, WINDOWS_PRODUCT_INFO, type LicensingIdentity } from '../../src/acceptor/server-licensing.js';
import { ServerIdentity } from '../../src/acceptor/server-identity.js';
import { CLIENT_PLATFORM_ID, ClientLicensing, clientHardwareId, licenseSummary } from '../../src/connector/client-licensing-exchange.js';
import { ConnectorError, type ConnectorErrorCode } from '../../src/connector/errors.js';
import { RdpCryptoError } from '../../src/crypto/errors.js';
import { deriveLicensingKeys, licensingEncrypt, licensingMac, licensingRc4, type LicensingKeys } from '../../src/crypto/licensing-keys.js';
import { generateRsaKeyPairLE, rsaEncryptLE } from '../../src/crypto/rsa.js';
import { WriteCursor } from '../../src/pdu/cursor.js';
import { DecodeError } from '../../src/pdu/errors.js';
import * as ld from '../../src/pdu/licensing-data.js';
import * as lic from '../../src/pdu/licensing.js';
import { decodeServerCertificate, proprietaryRsaKey } from '../../src/pdu/server-certificate.js';

const b = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');
const hex = (x: Uint8Array): string => Buffer.from(x).toString('hex');
const NAMES = { user: 'sample-user', machine: 'sample-machine-name' };
const RUNS = 500;

type Msg = lic.LicensingMessage;
type Values = { [M in Msg as M['kind']]: M['value'] };
function message<K extends keyof Values>(body: Uint8Array, kind: K): Values[K] {
  const m = lic.decodeLicensingPdu(body).message;
  assert.equal(m.kind, kind);
  return m.value as Values[K];
}
function encode(pdu: lic.LicensingPdu): Buffer {
  const w = new WriteCursor();
  lic.encodeLicensingPdu(pdu, w);
  return w.finish();
}
const connectorError = (code: ConnectorErrorCode) => (e: unknown): boolean => e instanceof ConnectorError && e.code === code && e.phase === 'licensing';
const decodeError = (kind?: string) => (e: unknown): boolean => e instanceof DecodeError && (kind === undefined || e.kind === kind);
const cryptoError = (kind: string) => (e: unknown): boolean => e instanceof RdpCryptoError && e.kind === kind;

/** Only the typed errors of the licensing helpers: anything else is rethrown. */
function typedOrNothing(fn: () => unknown, allowed: Array<new (...a: never[]) => Error> = [DecodeError, ConnectorError, RdpCryptoError]): unknown {
  try {
    return fn();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return e;
    throw e;
  }
}

const identity = licensingIdentity();

/** The server's license request, the client's answer, the challenge, the response. */
function exchange(id: LicensingIdentity = identity) {
  const server = new ServerLicensing(id, randomBytes);
  const client = new ClientLicensing(randomBytes);
  const requestBody = server.licenseRequest();
  const request = lic.decodeLicensingPdu(requestBody);
  assert.equal(request.message.kind, 'licenseRequest');
  const newLicenseRequest = client.onLicenseRequest((request.message as Extract<Msg, { kind: 'licenseRequest' }>).value, request.flags, NAMES);
  const challengeBody = server.onNewLicenseRequest(newLicenseRequest);
  const challenge = message(challengeBody, 'platformChallenge');
  const responseBody = client.onPlatformChallenge(challenge);
  return { server, client, requestBody, newLicenseRequest, challengeBody, challenge, responseBody };
}

/** A client that has sent its new license request to `server` (keys known), and that request. */
function clientAfterRequest(server: ServerLicensing): { client: ClientLicensing; request: Buffer } {
  const client = new ClientLicensing(randomBytes);
  const request = client.onLicenseRequest(message(server.licenseRequest(), 'licenseRequest'), lic.PREAMBLE_VERSION_3_0, NAMES);
  return { client, request };
}

/** A CLIENT_PLATFORM_CHALLENGE_RESPONSE made by hand with the keys, carrying `data` and a hardware id. */
function challengeResponse(keys: LicensingKeys, data: ld.PlatformChallengeResponseData): Buffer {
  const d = new WriteCursor();
  ld.encodePlatformChallengeResponseData(data, d);
  const h = new WriteCursor();
  ld.encodeClientHardwareId(clientHardwareId('x'), h);
  const [pd, ph] = [d.finish(), h.finish()];
  return encode({
    flags: 3,
    message: {
      kind: 'platformChallengeResponse',
      value: {
        encryptedPlatformChallengeResponse: { wBlobType: lic.BB_ENCRYPTED_DATA_BLOB, blobData: licensingRc4(keys.encryptionKey, pd) },
        encryptedHWID: { wBlobType: lic.BB_ENCRYPTED_DATA_BLOB, blobData: licensingRc4(keys.encryptionKey, ph) },
        macData: licensingMac(keys.macSaltKey, Buffer.concat([pd, ph])),
      },
    },
  });
}

const LICENSE: ld.NewLicenseInfo = {
  dwVersion: 0x00060000,
  pbScope: Buffer.from('microsoft.com\0', 'latin1'),
  pbCompanyName: Buffer.from('Microsoft Corporation\0', 'utf16le'),
  pbProductId: Buffer.from('A02\0', 'utf16le'),
  pbLicenseInfo: randomBytes(300),
};

describe('ClientLicensing x ServerLicensing (MS-RDPELE 1.3.3.1)', () => {
  it("the server's license request: Windows' product info, RSA key exchange, a 512-bit proprietary certificate, scope microsoft.com", () => {
    const pdu = lic.decodeLicensingPdu(new ServerLicensing(identity, randomBytes).licenseRequest());
    assert.equal(pdu.flags, lic.PREAMBLE_VERSION_3_0);
    assert.equal(pdu.message.kind, 'licenseRequest');
    const r = (pdu.message as Extract<Msg, { kind: 'licenseRequest' }>).value;
    assert.deepEqual(r.productInfo, WINDOWS_PRODUCT_INFO);
    assert.deepEqual([r.keyExchangeList.wBlobType, hex(r.keyExchangeList.blobData)], [lic.BB_KEY_EXCHG_ALG_BLOB, '01000000']);
    assert.equal(r.serverCertificate.wBlobType, lic.BB_CERTIFICATE_BLOB);
    const cert = decodeServerCertificate(r.serverCertificate.blobData);
    assert.equal(cert.kind, 'proprietary');
    assert.equal(proprietaryRsaKey(cert as Extract<typeof cert, { kind: 'proprietary' }>).modulusLE.length, 64);
    assert.deepEqual(r.scopeList.map((s) => [s.wBlobType, Buffer.from(s.blobData).toString('latin1')]), [[lic.BB_SCOPE_BLOB, 'microsoft.com\0']]);
  });

  it('the full exchange: both sides derive the same keys, the challenge is echoed, the response checks out', () => {
    const { server, client, challenge, responseBody } = exchange();
    assert.equal(client.phase, 'WaitLicense');
    assert.equal(server.phase, 'WaitChallengeResponse');
    for (const k of ['masterSecret', 'sessionKeyBlob', 'macSaltKey', 'encryptionKey'] as const) assert.equal(hex(client.keys![k]), hex(server.keys![k]), k);
    // as Windows: BB_ANY_BLOB around the encrypted challenge, then the 16-byte MACData
    assert.equal(challenge.encryptedPlatformChallenge.wBlobType, lic.BB_ANY_BLOB);
    assert.equal(challenge.encryptedPlatformChallenge.blobData.length, PLATFORM_CHALLENGE_LENGTH);
    assert.equal(lic.decodeLicensingPdu(responseBody).flags, lic.PREAMBLE_VERSION_3_0);

    const result = server.onPlatformChallengeResponse(responseBody);
    assert.equal(result.ok, true, result.reason);
    assert.equal(server.phase, 'Done');
    assert.deepEqual(result.hardwareId, clientHardwareId(NAMES.machine));
    assert.equal(result.hardwareId!.platformId, CLIENT_PLATFORM_ID);
    assert.equal(result.response!.wClientType, ld.OTHER_PLATFORMCHALLENGE_TYPE);
    assert.equal(result.response!.wLicenseDetailLevel, ld.LICENSE_DETAIL_DETAIL);
    assert.equal(result.response!.wVersion, ld.PLATFORM_CHALLENGE_RESPONSE_VERSION);
  });

  it("the response's layout, decrypted by hand: two BB_ENCRYPTED_DATA_BLOBs, each its own RC4 stream, one MAC over both plaintexts (FreeRDP's order)", () => {
    const { client, challenge, responseBody } = exchange();
    const keys = client.keys!;
    const r = message(responseBody, 'platformChallengeResponse');
    assert.equal(r.encryptedPlatformChallengeResponse.wBlobType, lic.BB_ENCRYPTED_DATA_BLOB);
    assert.equal(r.encryptedHWID.wBlobType, lic.BB_ENCRYPTED_DATA_BLOB);
    const data = licensingRc4(keys.encryptionKey, r.encryptedPlatformChallengeResponse.blobData);
    const hwid = licensingRc4(keys.encryptionKey, r.encryptedHWID.blobData);
    const pbChallenge = licensingRc4(keys.encryptionKey, challenge.encryptedPlatformChallenge.blobData);
    assert.equal(hex(data), `0001` + `00ff` + `0300` + `1000` + hex(pbChallenge));
    assert.deepEqual(ld.decodeClientHardwareId(hwid), clientHardwareId(NAMES.machine));
    assert.equal(hex(r.macData), hex(licensingMac(keys.macSaltKey, Buffer.concat([data, hwid]))));
  });

  it('a SERVER_NEW_LICENSE (or UPGRADE) ends it: decrypted, MAC-checked, decoded and summarised', () => {
    for (const kind of ['newLicense', 'upgradeLicense'] as const) {
      const { server, client, responseBody } = exchange();
      assert.equal(server.onPlatformChallengeResponse(responseBody).ok, true);
      const pdu = lic.decodeLicensingPdu(server.newLicense(LICENSE));
      assert.equal(pdu.message.kind, 'newLicense');
      const value = (pdu.message as Extract<Msg, { kind: 'newLicense' }>).value;
      const received = client.onNewLicense(message(encode({ flags: pdu.flags, message: { kind, value } }), kind));
      assert.deepEqual(
        Object.fromEntries(Object.entries(received.licenseInfo).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v])),
        Object.fromEntries(Object.entries(LICENSE).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v])),
      );
      assert.equal(received.summary, '"microsoft.com" / "Microsoft Corporation" / "A02", version 6.0, a 300-byte license');
      assert.equal(received.summary, licenseSummary(LICENSE));
      assert.equal(client.phase, 'Done');
    }
  });

  it('a client presenting a stored license (CLIENT_LICENSE_INFO): the server checks its hardware id MAC, challenges it too, and would upgrade the license', () => {
    const server = new ServerLicensing(identity, randomBytes);
    const req = message(server.licenseRequest(), 'licenseRequest');
    const clientRandom = randomBytes(32);
    const preMasterSecret = randomBytes(48);
    const keys = deriveLicensingKeys({ clientRandom, serverRandom: req.serverRandom, preMasterSecret });
    const hw = new WriteCursor();
    ld.encodeClientHardwareId(clientHardwareId('stored'), hw);
    const hwid = licensingEncrypt(keys, hw.finish());
    const info = (macData: Uint8Array): Buffer =>
      encode({
        flags: lic.PREAMBLE_VERSION_3_0 | lic.EXTENDED_ERROR_MSG_SUPPORTED,
        message: {
          kind: 'licenseInfo',
          value: {
            preferredKeyExchangeAlg: lic.KEY_EXCHANGE_ALG_RSA,
            platformId: CLIENT_PLATFORM_ID,
            clientRandom,
            encryptedPreMasterSecret: { wBlobType: lic.BB_RANDOM_BLOB, blobData: Buffer.concat([rsaEncryptLE(preMasterSecret, identity.key.modulusLE, identity.key.exponent), Buffer.alloc(8)]) },
            licenseInfo: { wBlobType: lic.BB_DATA_BLOB, blobData: randomBytes(100) },
            encryptedHWID: { wBlobType: lic.BB_ENCRYPTED_DATA_BLOB, blobData: hwid.data },
            macData,
          },
        },
      });
    const challenge = message(server.onNewLicenseRequest(info(hwid.mac)), 'platformChallenge');
    assert.equal(hex(server.keys!.encryptionKey), hex(keys.encryptionKey));
    const pbChallenge = licensingRc4(keys.encryptionKey, challenge.encryptedPlatformChallenge.blobData);
    assert.equal(pbChallenge.length, PLATFORM_CHALLENGE_LENGTH);
    const answer = { wVersion: 0x0100, wClientType: ld.WIN32_PLATFORMCHALLENGE_TYPE, wLicenseDetailLevel: ld.LICENSE_DETAIL_DETAIL, pbChallenge };
    assert.equal(server.onPlatformChallengeResponse(challengeResponse(keys, answer)).ok, true);
    // a client that presented a license gets an upgrade (MS-RDPELE 3.2.5.5 case 1)
    assert.equal(lic.decodeLicensingPdu(server.newLicense(LICENSE)).message.kind, 'upgradeLicense');

    const other = new ServerLicensing(identity, randomBytes);
    // a fresh server random: same request, but its keys differ, so the MAC does not verify
    other.licenseRequest();
    assert.throws(() => other.onNewLicenseRequest(info(hwid.mac)), cryptoError('MacMismatch'));
  });

  it("IronRDP's CLIENT_NEW_LICENSE_REQUEST, byte for byte, from its randoms, pre-master secret and key; and its licensing key", () => {
    const serverRandom = b('5c81f011ebcfd10eb41fb3ba93a2d73909aa99e910d4d795ddad916905266b6a');
    const clientRandom = b('4b5b7b43638a08fed17abaf5918577fe3936f6d778ec6acc894a90412cac5a49');
    const preMaster = b('1428dafbb9ea38ab5ea2f904f7899c983d504577bf17811c3787c24813e8c9204ddff327bdb6987e64dafe1d312f62ca');
    const encryptedPreMaster = b(
      'b095f7cb813445856583b2cf5bdffe406fd81414180b2b6daad0380aaf74e951552bdbfd3bd3fb2f3492ddc8af48f391618a5bbd8187ecb8cc0b0bc90d1ce717' + '0000000000000000',
    );
    // the 512-bit license server key of IronRDP's SERVER_LICENSE_REQUEST (an X.509 chain there), in a proprietary certificate here
    const modulusLE = b('abac871183bfe94825002c33315e3d78c85f82cb3641f5b46515ee0431aee24858997f4f901df77cd7f84793a0ca9cdf91b041e8054bdc245b72f7689184fb19').reverse();
    const certificate = new ServerIdentity({ modulusLE, exponent: 65537n, privateExponentLE: Buffer.alloc(64) }).certificate;
    const req: lic.ServerLicenseRequest = {
      serverRandom,
      productInfo: { ...WINDOWS_PRODUCT_INFO },
      keyExchangeList: { wBlobType: lic.BB_KEY_EXCHG_ALG_BLOB, blobData: b('01000000') },
      serverCertificate: { wBlobType: lic.BB_CERTIFICATE_BLOB, blobData: certificate },
      scopeList: [{ wBlobType: lic.BB_SCOPE_BLOB, blobData: Buffer.from('microsoft.com\0', 'latin1') }],
    };
    const client = new ClientLicensing((n) => (n === 48 ? preMaster : n === 32 ? clientRandom : assert.fail(`unexpected draw of ${n} bytes`)));
    const body = client.onLicenseRequest(req, lic.PREAMBLE_VERSION_3_0, NAMES);
    const expected =
      '1303a000' + // preamble: NEW_LICENSE_REQUEST, version 3, wMsgSize 160
      '01000000' + // PreferredKeyExchangeAlg
      '00000104' + // PlatformId
      hex(clientRandom) +
      '02004800' + hex(encryptedPreMaster) + // BB_RANDOM_BLOB, 72 bytes
      '0f000c00' + hex(Buffer.from('sample-user\0')) +
      '10001400' + hex(Buffer.from('sample-machine-name\0'));
    assert.equal(hex(body), expected);
    assert.equal(hex(client.keys!.encryptionKey), 'fa44e878d82b3f1d4d00a0a655ce8ab7');
  });

  it('under TLS without a licensing certificate the pre-master secret goes under the TLS key (MS-RDPELE 2.2.2.1), and the keys follow it', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const server = new ServerLicensing(identity, randomBytes);
    const req = { ...message(server.licenseRequest(), 'licenseRequest'), serverCertificate: { wBlobType: lic.BB_CERTIFICATE_BLOB, blobData: new Uint8Array(0) } };
    const client = new ClientLicensing(randomBytes);
    const body = client.onLicenseRequest(req, lic.PREAMBLE_VERSION_3_0, NAMES, publicKey.export({ format: 'der', type: 'pkcs1' }));
    const r = message(body, 'newLicenseRequest');
    assert.equal(r.encryptedPreMasterSecret.blobData.length, 128 + 8);
    const plainBE = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, Buffer.from(r.encryptedPreMasterSecret.blobData.subarray(0, 128)).reverse());
    const preMasterSecret = Buffer.from(plainBE).reverse().subarray(0, 48);
    const keys = deriveLicensingKeys({ clientRandom: r.clientRandom, serverRandom: req.serverRandom, preMasterSecret });
    assert.equal(hex(client.keys!.encryptionKey), hex(keys.encryptionKey));
    // no certificate and no TLS key: nothing to encrypt with
    assert.throws(() => new ClientLicensing(randomBytes).onLicenseRequest(req, 3, NAMES), connectorError('LICENSING_ERROR'));
  });
});

describe('wrong MACs and tampering', () => {
  it("a platform challenge whose MACData or data was changed: MAC_MISMATCH, and the client answers nothing", () => {
    const server = new ServerLicensing(identity, randomBytes);
    const { client, request } = clientAfterRequest(server);
    const challenge = message(server.onNewLicenseRequest(request), 'platformChallenge');
    for (const part of ['mac', 'data'] as const) {
      const c = { ...challenge, macData: Buffer.from(challenge.macData), encryptedPlatformChallenge: { ...challenge.encryptedPlatformChallenge, blobData: Buffer.from(challenge.encryptedPlatformChallenge.blobData) } };
      (part === 'mac' ? c.macData : c.encryptedPlatformChallenge.blobData)[3]! ^= 0x10;
      assert.throws(() => client.onPlatformChallenge(c), (e: unknown) => connectorError('MAC_MISMATCH')(e) && /EncryptedPlatformChallenge/.test((e as Error).message));
      assert.equal(client.phase, 'WaitPlatformChallenge');
    }
    // the genuine one still works afterwards
    assert.equal(server.onPlatformChallengeResponse(client.onPlatformChallenge(challenge)).ok, true);
  });

  it("a challenge made with another exchange's keys: MAC_MISMATCH", () => {
    const { challenge } = exchange();
    const server = new ServerLicensing(identity, randomBytes);
    const { client } = clientAfterRequest(server);
    assert.throws(() => client.onPlatformChallenge(challenge), connectorError('MAC_MISMATCH'));
  });

  it('a response changed anywhere (response data, hardware id, MAC): { ok: false } naming the MAC', () => {
    for (const field of ['encryptedPlatformChallengeResponse', 'encryptedHWID', 'macData'] as const) {
      const { server, responseBody } = exchange();
      const r = message(responseBody, 'platformChallengeResponse');
      const flip = (x: Uint8Array): Buffer => {
        const y = Buffer.from(x);
        y[0]! ^= 0xff;
        return y;
      };
      const tampered = { ...r, [field]: field === 'macData' ? flip(r.macData) : { ...r[field], blobData: flip(r[field].blobData) } };
      const result = server.onPlatformChallengeResponse(encode({ flags: 3, message: { kind: 'platformChallengeResponse', value: tampered } }));
      assert.equal(result.ok, false, field);
      assert.match(result.reason, /MACData/);
    }
  });

  it('a response with a valid MAC that echoes another challenge or another version: { ok: false } saying why', () => {
    const base = { wVersion: 0x0100, wClientType: ld.WIN32_PLATFORMCHALLENGE_TYPE, wLicenseDetailLevel: ld.LICENSE_DETAIL_DETAIL };
    {
      const { server, client } = exchange();
      const r = server.onPlatformChallengeResponse(challengeResponse(client.keys!, { ...base, pbChallenge: Buffer.from('TEST\0', 'utf16le') }));
      assert.deepEqual([r.ok, /echo/.test(r.reason)], [false, true]);
    }
    {
      const { server, client, challenge } = exchange();
      const pbChallenge = licensingRc4(client.keys!.encryptionKey, challenge.encryptedPlatformChallenge.blobData);
      const r = server.onPlatformChallengeResponse(challengeResponse(client.keys!, { ...base, wVersion: 0x0200, pbChallenge }));
      assert.deepEqual([r.ok, /wVersion/.test(r.reason)], [false, true]);
      assert.equal(r.hardwareId?.platformId, CLIENT_PLATFORM_ID);
    }
  });

  it('a new license whose MACData or data was changed: MAC_MISMATCH; a well-MACed but malformed NEW_LICENSE_INFO: DecodeError', () => {
    for (const part of ['mac', 'data'] as const) {
      const { server, client, responseBody } = exchange();
      server.onPlatformChallengeResponse(responseBody);
      const nl = message(server.newLicense(LICENSE), 'newLicense');
      const bad = { encryptedLicenseInfo: { ...nl.encryptedLicenseInfo, blobData: Buffer.from(nl.encryptedLicenseInfo.blobData) }, macData: Buffer.from(nl.macData) };
      (part === 'mac' ? bad.macData : bad.encryptedLicenseInfo.blobData)[7]! ^= 1;
      assert.throws(() => client.onNewLicense(bad), connectorError('MAC_MISMATCH'));
      assert.equal(client.phase, 'WaitLicense');
    }
    const { client } = exchange();
    const p = licensingEncrypt(client.keys!, b('00000600' + 'ffffff7f'));
    assert.throws(() => client.onNewLicense({ encryptedLicenseInfo: { wBlobType: lic.BB_ENCRYPTED_DATA_BLOB, blobData: p.data }, macData: p.mac }), decodeError());
  });
});

describe('messages out of order', () => {
  it('the client: a challenge before any license request, a license before any challenge: UNEXPECTED_PDU', () => {
    const { challenge } = exchange();
    const fresh = new ClientLicensing(randomBytes);
    assert.throws(() => fresh.onPlatformChallenge(challenge), connectorError('UNEXPECTED_PDU'));
    assert.throws(() => fresh.onNewLicense({ encryptedLicenseInfo: { wBlobType: 9, blobData: Buffer.alloc(8) }, macData: Buffer.alloc(16) }), connectorError('UNEXPECTED_PDU'));
    const { client } = clientAfterRequest(new ServerLicensing(identity, randomBytes));
    assert.throws(() => client.onNewLicense({ encryptedLicenseInfo: { wBlobType: 9, blobData: Buffer.alloc(8) }, macData: Buffer.alloc(16) }), connectorError('UNEXPECTED_PDU'));
  });

  it('the server: another message where it waits for the request or the response is a DecodeError UnexpectedType', () => {
    const { server, responseBody, newLicenseRequest } = exchange();
    const fresh = new ServerLicensing(identity, randomBytes);
    fresh.licenseRequest();
    assert.throws(() => fresh.onNewLicenseRequest(responseBody), decodeError('UnexpectedType'));
    assert.throws(() => server.onPlatformChallengeResponse(newLicenseRequest), decodeError('UnexpectedType'));
    const alert = encode(lic.validClientLicensingPdu());
    assert.throws(() => fresh.onNewLicenseRequest(alert), decodeError('UnexpectedType'));
    // calling the methods in the wrong order is a bug of the caller, not of the peer
    assert.throws(() => new ServerLicensing(identity, randomBytes).onNewLicenseRequest(newLicenseRequest), (e: unknown) => !(e instanceof DecodeError) && e instanceof Error);
    assert.throws(() => new ServerLicensing(identity, randomBytes).newLicense(LICENSE), Error);
  });
});

describe('truncated and hostile input', () => {
  it('every truncation of each message is a DecodeError on the side that reads it', () => {
    const { server, requestBody, newLicenseRequest, challengeBody, responseBody } = exchange();
    server.onPlatformChallengeResponse(responseBody);
    const licenseBody = server.newLicense(LICENSE);
    for (const bytes of [requestBody, challengeBody, licenseBody]) {
      for (let n = 0; n < bytes.length; n++) assert.throws(() => lic.decodeLicensingPdu(bytes.subarray(0, n)), decodeError(), `${n}/${bytes.length}`);
    }
    const s1 = new ServerLicensing(identity, randomBytes);
    s1.licenseRequest();
    for (let n = 0; n < newLicenseRequest.length; n++) assert.throws(() => s1.onNewLicenseRequest(newLicenseRequest.subarray(0, n)), decodeError());
    // a DecodeError leaves the server waiting, so one server reads every prefix
    const { server: s2, responseBody: r2 } = exchange();
    for (let n = 0; n < r2.length; n++) assert.throws(() => s2.onPlatformChallengeResponse(r2.subarray(0, n)), decodeError());
    assert.equal(s2.onPlatformChallengeResponse(r2).ok, true);
  });

  it('a pre-master secret blob of the wrong size, with a non-zero tail, or under another key: RdpCryptoError', () => {
    const server = new ServerLicensing(identity, randomBytes);
    const { request } = clientAfterRequest(server);
    const r = message(request, 'newLicenseRequest');
    const withSecret = (blobData: Uint8Array): Buffer => encode({ flags: 3, message: { kind: 'newLicenseRequest', value: { ...r, encryptedPreMasterSecret: { wBlobType: lic.BB_RANDOM_BLOB, blobData } } } });
    const c = r.encryptedPreMasterSecret.blobData;
    assert.throws(() => server.onNewLicenseRequest(withSecret(c.subarray(0, 40))), cryptoError('BadLength'));
    assert.throws(() => server.onNewLicenseRequest(withSecret(Buffer.concat([c, Buffer.alloc(1)]))), cryptoError('BadLength'));
    const tail = Buffer.from(c);
    tail[70] = 1;
    assert.throws(() => server.onNewLicenseRequest(withSecret(tail)), cryptoError('BadLength'));
    const other = generateRsaKeyPairLE(512);
    const foreign = Buffer.concat([rsaEncryptLE(randomBytes(48), other.modulusLE, other.exponent), Buffer.alloc(8)]);
    assert.throws(() => server.onNewLicenseRequest(withSecret(foreign)), (e: unknown) => cryptoError('BadRsaValue')(e));
    const notRsa = encode({ flags: 3, message: { kind: 'newLicenseRequest', value: { ...r, preferredKeyExchangeAlg: 2 } } });
    assert.throws(() => server.onNewLicenseRequest(notRsa), decodeError('UnsupportedValue'));
    // none of this moved the server on: the genuine request still gets its challenge
    assert.equal(message(server.onNewLicenseRequest(request), 'platformChallenge').macData.length, 16);
  });

  it('fast-check: the server fed random bodies behind client preambles raises only typed errors and never accepts a response', () => {
    const preamble = (type: number, tail: Uint8Array): Buffer => Buffer.concat([Buffer.from([type, 3, (tail.length + 4) & 0xff, (tail.length + 4) >> 8]), tail]);
    fc.assert(
      fc.property(fc.constantFrom(0x12, 0x13, 0x15, 0xff, 0x02), fc.uint8Array({ maxLength: 400 }), (type, tail) => {
        const s = new ServerLicensing(identity, randomBytes);
        s.licenseRequest();
        typedOrNothing(() => s.onNewLicenseRequest(preamble(type, tail)), [DecodeError, RdpCryptoError]);
        const { server } = exchange();
        const r = typedOrNothing(() => server.onPlatformChallengeResponse(preamble(type, tail)), [DecodeError]);
        if (r && !(r instanceof Error)) assert.equal((r as { ok: boolean }).ok, false);
      }),
      { numRuns: 200 },
    );
  });

  /** Decode a server licensing PDU and hand it to the client as the activation will. */
  function feedClient(client: ClientLicensing, body: Uint8Array): unknown {
    const pdu = lic.decodeLicensingPdu(body);
    const m = pdu.message;
    switch (m.kind) {
      case 'licenseRequest':
        return client.onLicenseRequest(m.value, pdu.flags, NAMES);
      case 'platformChallenge':
        return client.onPlatformChallenge(m.value);
      case 'newLicense':
      case 'upgradeLicense':
        return client.onNewLicense(m.value);
      default:
        return undefined;
    }
  }

  it('fast-check: the client fed random server bodies (behind plausible preambles, or not) raises only DecodeError or ConnectorError', () => {
    const server = new ServerLicensing(identity, randomBytes);
    const challengeBody = server.onNewLicenseRequest(clientAfterRequest(server).request);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0xff), fc.uint8Array({ maxLength: 300 })).map(([t, tail]) =>
            Buffer.concat([Buffer.from([t, 3, (tail.length + 4) & 0xff, (tail.length + 4) >> 8]), tail]),
          ),
          // a real challenge with random edits
          fc.array(fc.tuple(fc.nat({ max: challengeBody.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
            const x = Buffer.from(challengeBody);
            for (const [i, v] of edits) x[i] = v;
            return x;
          }),
        ),
        fc.boolean(),
        (body, afterRequest) => {
          const client = afterRequest ? clientAfterRequest(server).client : new ClientLicensing(randomBytes);
          typedOrNothing(() => feedClient(client, body), [DecodeError, ConnectorError]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('fast-check: any properly MACed challenge (0..300 bytes) is answered with a response that echoes it; any properly MACed license plaintext decodes or is a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (pbChallenge, licensePlain) => {
        const { client } = clientAfterRequest(new ServerLicensing(identity, randomBytes));
        const keys = client.keys!;
        const p = licensingEncrypt(keys, pbChallenge);
        const r = message(client.onPlatformChallenge({ connectFlags: 0, encryptedPlatformChallenge: { wBlobType: 0, blobData: p.data }, macData: p.mac }), 'platformChallengeResponse');
        const data = ld.decodePlatformChallengeResponseData(licensingRc4(keys.encryptionKey, r.encryptedPlatformChallengeResponse.blobData));
        assert.equal(hex(data.pbChallenge), hex(pbChallenge));
        const l = licensingEncrypt(keys, licensePlain);
        const got = typedOrNothing(() => client.onNewLicense({ encryptedLicenseInfo: { wBlobType: 9, blobData: l.data }, macData: l.mac }), [DecodeError]);
        if (!(got instanceof Error)) assert.equal(client.phase, 'Done');
      }),
      { numRuns: 200 },
    );
  });
});
