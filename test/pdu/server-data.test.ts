import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError } from '../../src/pdu/errors.js';
import * as cd from '../../src/pdu/client-data.js';
import * as gcc from '../../src/pdu/gcc.js';
import * as mcs from '../../src/pdu/mcs.js';
import * as sd from '../../src/pdu/server-data.js';
import { FIXTURES } from './fixtures-mcs.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

type CrName =
  | 'xrdpHighConnectResponse'
  | 'xrdpLowConnectResponse'
  | 'xrdpFipsConnectResponse'
  | 'xrdpNoneConnectResponse'
  | 'shadowConnectResponse'
  | 'nmapXrdpConnectResponse'
  | 'tlsXrdpConnectResponse';
const blocksOf = (name: CrName): Uint8Array =>
  gcc.decodeConferenceCreateResponse(mcs.decodeMcsConnectResponse(FIXTURES[name]().bytes).userData).userData;
const serverData = (name: CrName): sd.ServerData => sd.collectServerData(sd.decodeServerDataBlocks(blocksOf(name)));

describe('server data blocks from real servers', () => {
  it('xrdp crypt_level=high: 128-bit RC4, level HIGH, 32-byte random, 376-byte certificate', () => {
    const d = serverData('xrdpHighConnectResponse');
    assert.deepEqual(d.core, { version: cd.RDP_VERSION_5_PLUS, clientRequestedProtocols: 0x3 });
    const sec = d.security!;
    assert.equal(sec.encryptionMethod, cd.ENCRYPTION_METHOD_128BIT);
    assert.equal(sec.encryptionLevel, sd.ENCRYPTION_LEVEL_HIGH);
    assert.equal(sd.encryptionMethodName(sec.encryptionMethod), 'ENCRYPTION_METHOD_128BIT');
    assert.equal(sd.encryptionLevelName(sec.encryptionLevel), 'ENCRYPTION_LEVEL_HIGH');
    assert.equal(sec.serverRandom!.length, sd.SERVER_RANDOM_LENGTH);
    assert.equal(hex(sec.serverRandom!), 'e0fc3b85edb2f5f88ce1705e302020c4b4b14f0843edefab7e78da754471deaf');
    assert.equal(sec.serverCertificate!.length, 376);
    assert.equal(sd.serverSecurityCertificate(sec)!.kind, 'proprietary');
    // five channels: an odd count, so the 2-byte Pad follows
    assert.deepEqual(d.network, { MCSChannelId: 1003, channelIdArray: [1004, 1005, 1006, 1007, 1008] });
  });

  it('xrdp crypt_level=low: 40-bit RC4, level LOW', () => {
    const sec = serverData('xrdpLowConnectResponse').security!;
    assert.equal(sec.encryptionMethod, cd.ENCRYPTION_METHOD_40BIT);
    assert.equal(sec.encryptionLevel, sd.ENCRYPTION_LEVEL_LOW);
  });

  it('xrdp crypt_level=fips: FIPS method, level FIPS', () => {
    const d = serverData('xrdpFipsConnectResponse');
    assert.equal(d.security!.encryptionMethod, cd.ENCRYPTION_METHOD_FIPS);
    assert.equal(d.security!.encryptionLevel, sd.ENCRYPTION_LEVEL_FIPS);
    // legacy client (no RDP_NEG_REQ): xrdp sends TS_UD_SC_CORE with the version only
    assert.deepEqual(d.core, { version: cd.RDP_VERSION_5_PLUS });
  });

  it('xrdp crypt_level=none and xrdp under TLS: method NONE, level NONE, no random or certificate', () => {
    for (const name of ['xrdpNoneConnectResponse', 'tlsXrdpConnectResponse'] as const) {
      const sec = serverData(name).security!;
      assert.deepEqual(sec, { encryptionMethod: cd.ENCRYPTION_METHOD_NONE, encryptionLevel: sd.ENCRYPTION_LEVEL_NONE });
    }
    assert.equal(serverData('tlsXrdpConnectResponse').core!.clientRequestedProtocols, 0x3);
  });

  it('FreeRDP shadow: NONE/NONE, RDP 10.7 core with early flags, a raw message channel block', () => {
    const d = serverData('shadowConnectResponse');
    assert.deepEqual(d.core, { version: 0x0008000c, clientRequestedProtocols: 0, earlyCapabilityFlags: 0 });
    assert.deepEqual(d.security, { encryptionMethod: 0, encryptionLevel: 0 });
    assert.deepEqual(d.network, { MCSChannelId: 1003, channelIdArray: [1004, 1005, 1006, 1007] });
    assert.deepEqual(d.raw.map((b) => [b.type, hex(b.data)]), [[sd.SC_MCS_MSGCHANNEL, 'f003']]);
  });

  it('xrdp answers 128-bit/HIGH even to nmap offering 40-bit only', () => {
    const sec = serverData('nmapXrdpConnectResponse').security!;
    assert.equal(sec.encryptionMethod, cd.ENCRYPTION_METHOD_128BIT);
    assert.equal(sec.encryptionLevel, sd.ENCRYPTION_LEVEL_HIGH);
  });

  for (const name of [
    'xrdpHighConnectResponse',
    'xrdpLowConnectResponse',
    'xrdpFipsConnectResponse',
    'xrdpNoneConnectResponse',
    'shadowConnectResponse',
    'nmapXrdpConnectResponse',
    'tlsXrdpConnectResponse',
  ] as const) {
    it(`${name}: blocks re-encode byte for byte`, () => {
      const bytes = blocksOf(name);
      assert.equal(hex(enc(sd.decodeServerDataBlocks(bytes), sd.encodeServerDataBlocks)), hex(bytes));
    });
  }
});

describe('TS_UD_SC_SEC1 lengths', () => {
  const body = (method: number, level: number, randomLen: number, certLen: number, rest: number): Buffer => {
    const b = Buffer.alloc(16 + rest);
    b.writeUInt32LE(method, 0);
    b.writeUInt32LE(level, 4);
    b.writeUInt32LE(randomLen, 8);
    b.writeUInt32LE(certLen, 12);
    return b;
  };

  it('requires serverRandomLen 32 and a non-zero serverCertLen', () => {
    throwsDecode(() => sd.decodeServerSecurityData(body(2, 3, 31, 4, 35)), 'InvalidField', 'serverRandomLen');
    throwsDecode(() => sd.decodeServerSecurityData(body(2, 3, 32, 0, 32)), 'InvalidField', 'serverCertLen');
  });

  it('bounds serverCertLen by the bytes left before slicing', () => {
    throwsDecode(() => sd.decodeServerSecurityData(body(2, 3, 32, 0xffffffff, 40)), 'InvalidField', 'serverCertLen');
    throwsDecode(() => sd.decodeServerSecurityData(body(2, 3, 32, 9, 40)), 'InvalidField', 'serverCertLen');
    throwsDecode(() => sd.decodeServerSecurityData(body(2, 3, 32, 7, 40)), 'TrailingBytes', 'serverCertLen');
    const ok = sd.decodeServerSecurityData(body(2, 3, 32, 8, 40));
    assert.equal(ok.serverCertificate!.length, 8);
  });

  it('has nothing after method and level NONE', () => {
    assert.deepEqual(sd.decodeServerSecurityData(Buffer.alloc(8)), { encryptionMethod: 0, encryptionLevel: 0 });
    throwsDecode(() => sd.decodeServerSecurityData(Buffer.alloc(16)), 'TrailingBytes');
    throwsDecode(() => sd.decodeServerSecurityData(Buffer.from('02000000', 'hex')), 'NotEnoughBytes', 'encryptionLevel');
  });

  it('encodes consistently or refuses', () => {
    const v = { encryptionMethod: 1, encryptionLevel: 1, serverRandom: new Uint8Array(32), serverCertificate: Uint8Array.of(1) };
    assert.deepEqual(sd.decodeServerSecurityData(enc(v, sd.encodeServerSecurityData)), {
      ...v,
      serverRandom: Buffer.alloc(32),
      serverCertificate: Buffer.of(1),
    });
    assert.throws(() => enc({ ...v, serverRandom: new Uint8Array(16) }, sd.encodeServerSecurityData), EncodeError);
    assert.throws(() => enc({ encryptionMethod: 0, encryptionLevel: 0, serverRandom: new Uint8Array(32) }, sd.encodeServerSecurityData), EncodeError);
  });
});

describe('TS_UD_SC_CORE and TS_UD_SC_NET', () => {
  it('reads 4, 8 or 12 bytes of core data and rejects anything else', () => {
    assert.deepEqual(sd.decodeServerCoreData(Buffer.from('04000800', 'hex')), { version: 0x00080004 });
    throwsDecode(() => sd.decodeServerCoreData(Buffer.from('040008000300', 'hex')), 'NotEnoughBytes', 'clientRequestedProtocols');
    throwsDecode(() => sd.decodeServerCoreData(Buffer.alloc(16)), 'TrailingBytes');
    assert.throws(() => enc({ version: 1, earlyCapabilityFlags: 1 }, sd.encodeServerCoreData), EncodeError);
    assert.deepEqual(sd.RNS_UD_SC_FLAG_NAMES[sd.RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED], 'RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED');
  });

  it('requires the Pad after an odd channelCount', () => {
    throwsDecode(() => sd.decodeServerNetworkData(Buffer.from('eb030100ec03', 'hex')), 'InvalidField', 'channelCount');
    assert.deepEqual(sd.decodeServerNetworkData(Buffer.from('eb030100ec030000', 'hex')), { MCSChannelId: 1003, channelIdArray: [1004] });
    assert.equal(hex(enc({ MCSChannelId: 1003, channelIdArray: [1004] }, sd.encodeServerNetworkData)), 'eb030100ec030000');
    throwsDecode(() => sd.decodeServerNetworkData(Buffer.from('eb03ffff', 'hex')), 'InvalidField', 'channelCount');
  });

  it('names levels and methods', () => {
    assert.equal(sd.ENCRYPTION_LEVEL_NAMES[sd.ENCRYPTION_LEVEL_CLIENT_COMPATIBLE], 'ENCRYPTION_LEVEL_CLIENT_COMPATIBLE');
    assert.equal(sd.encryptionMethodName(0x10), 'ENCRYPTION_METHOD_FIPS');
    assert.equal(sd.encryptionMethodName(0x04), 'unknown (0x4)');
    assert.equal(sd.encryptionLevelName(9), 'unknown (9)');
    assert.equal(sd.ENCRYPTION_LEVEL.FIPS, 4);
    assert.equal(cd.ENCRYPTION_METHOD['128BIT'], 2);
  });
});

describe('server data fuzz', () => {
  it('random bytes only raise DecodeError', () => {
    fuzzRandom(sd.decodeServerDataBlocks);
    fuzzRandom(sd.decodeServerDataBlocks, Buffer.from('020c', 'hex'));
    fuzzRandom(sd.decodeServerSecurityData, Buffer.from('0200000003000000', 'hex'), 64);
    fuzzRandom(sd.decodeServerNetworkData, new Uint8Array(0), 32);
  });
  it('mutated whole Connect-Responses, decoded through every layer, only raise DecodeError', () => {
    const all = (b: Uint8Array): unknown => {
      const blocks = sd.decodeServerDataBlocks(gcc.decodeConferenceCreateResponse(mcs.decodeMcsConnectResponse(b).userData).userData);
      const sec = sd.collectServerData(blocks).security;
      return sec && sd.serverSecurityCertificate(sec);
    };
    fuzzMutations(FIXTURES.xrdpHighConnectResponse().bytes, all);
    fuzzMutations(FIXTURES.shadowConnectResponse().bytes, all);
  });
  it('truncated and mutated real blocks only raise DecodeError', () => {
    for (const name of ['xrdpHighConnectResponse', 'shadowConnectResponse'] as const) {
      const bytes = blocksOf(name);
      fuzzTruncations(bytes, sd.decodeServerDataBlocks, false);
      fuzzMutations(bytes, sd.decodeServerDataBlocks);
    }
  });
});
