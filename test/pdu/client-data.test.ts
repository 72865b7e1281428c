import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError } from '../../src/pdu/errors.js';
import * as cd from '../../src/pdu/client-data.js';
import * as gcc from '../../src/pdu/gcc.js';
import * as mcs from '../../src/pdu/mcs.js';
import { FIXTURES } from './fixtures-mcs.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

type CiName = 'xfreerdpConnectInitial' | 'rdesktopConnectInitial' | 'nmapConnectInitial' | 'tlsXfreerdpConnectInitial';
const blocksOf = (name: CiName): Uint8Array =>
  gcc.decodeConferenceCreateRequest(mcs.decodeMcsConnectInitial(FIXTURES[name]().bytes).userData).userData;
const clientData = (name: CiName): cd.ClientData => cd.collectClientData(cd.decodeClientDataBlocks(blocksOf(name)));

describe('client data blocks from real clients', () => {
  it('rdesktop 1.9.0 offers 40-bit and 128-bit (encryptionMethods 0x03)', () => {
    const d = clientData('rdesktopConnectInitial');
    assert.deepEqual(d.security, { encryptionMethods: 0x03, extEncryptionMethods: 0 });
    assert.deepEqual(cd.flagNames(d.security!.encryptionMethods, cd.ENCRYPTION_METHOD_NAMES), ['ENCRYPTION_METHOD_40BIT', 'ENCRYPTION_METHOD_128BIT']);
    const core = d.core!;
    assert.equal(cd.rdpVersionName(core.version), 'RDP 5.0-8.1');
    assert.equal(core.version, cd.RDP_VERSION_5_PLUS);
    assert.equal(core.desktopWidth, 1024);
    assert.equal(core.desktopHeight, 768);
    assert.equal(core.colorDepth, cd.RNS_UD_COLOR_8BPP);
    assert.equal(core.SASSequence, cd.RNS_UD_SAS_DEL);
    assert.equal(core.keyboardLayout, 0x409);
    assert.equal(core.clientBuild, 2600);
    assert.equal(core.clientName, 'vm');
    assert.equal(core.highColorDepth, 24);
    assert.equal(core.earlyCapabilityFlags, cd.RNS_UD_CS_SUPPORT_ERRINFO_PDU);
    // rdesktop's block ends after serverSelectedProtocol (216 bytes with the header)
    assert.equal(core.serverSelectedProtocol, 0);
    assert.equal(core.desktopPhysicalWidth, undefined);
    assert.equal(d.cluster!.Flags, 0x0d);
    assert.equal(cd.clusterRedirectionVersion(d.cluster!.Flags), 4);
    assert.deepEqual(d.network!.channelDefArray.map((c) => c.name), ['cliprdr', 'rdpsnd', 'snddbg', 'rdpdr', 'drdynvc']);
    // rdesktop writes the channel options big-endian: c0 a0 00 00 reads as 0x0000a0c0
    assert.equal(d.network!.channelDefArray[0]!.options, 0x0000a0c0);
    assert.deepEqual(d.raw, []);
  });

  it('xfreerdp 2.11.7 /sec:rdp: RDP 10.7, all optional fields, methods 0x1b, extra raw blocks', () => {
    const d = clientData('xfreerdpConnectInitial');
    const core = d.core!;
    assert.equal(core.version, cd.RDP_VERSION_10_7);
    assert.equal(cd.rdpVersionName(core.version), 'RDP 10.7');
    assert.equal(core.clientBuild, 18363);
    assert.equal(core.earlyCapabilityFlags, 0x05e3);
    assert.deepEqual(cd.flagNames(core.earlyCapabilityFlags!, cd.RNS_UD_CS_FLAG_NAMES), [
      'RNS_UD_CS_SUPPORT_ERRINFO_PDU',
      'RNS_UD_CS_WANT_32BPP_SESSION',
      'RNS_UD_CS_VALID_CONNECTION_TYPE',
      'RNS_UD_CS_SUPPORT_MONITOR_LAYOUT_PDU',
      'RNS_UD_CS_SUPPORT_NETCHAR_AUTODETECT',
      'RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL',
      'RNS_UD_CS_SUPPORT_HEARTBEAT_PDU',
    ]);
    assert.equal(core.connectionType, cd.CONNECTION_TYPE_AUTODETECT);
    assert.equal(core.serverSelectedProtocol, 0);
    assert.equal(core.deviceScaleFactor, 0);
    assert.equal(d.security!.encryptionMethods, 0x1b);
    assert.deepEqual(d.network!.channelDefArray, [
      { name: 'rdpdr', options: 0xc0800000 },
      { name: 'rdpsnd', options: 0xc0000000 },
      { name: 'cliprdr', options: 0xc0a00000 },
      { name: 'drdynvc', options: 0xc0800000 },
    ]);
    assert.deepEqual(d.raw.map((b) => [b.type, hex(b.data)]), [
      [cd.CS_MCS_MSGCHANNEL, '00000000'],
      [cd.CS_MULTITRANSPORT, '00000000'],
    ]);
  });

  it('xfreerdp inside TLS echoes serverSelectedProtocol 1 (SSL) and offers no RDP encryption', () => {
    const d = clientData('tlsXfreerdpConnectInitial');
    assert.equal(d.core!.serverSelectedProtocol, 1);
    assert.equal(d.security!.encryptionMethods, 0);
  });

  it('nmap rdp-enum-encryption offers 40-bit only, under a made-up client name', () => {
    const d = clientData('nmapConnectInitial');
    assert.equal(d.security!.encryptionMethods, cd.ENCRYPTION_METHOD_40BIT);
    assert.equal(d.core!.clientName, 'EMP-LAP-0014');
    assert.equal(d.core!.desktopWidth, 1280);
    assert.equal(d.cluster!.Flags, 0x09);
  });

  for (const name of ['xfreerdpConnectInitial', 'rdesktopConnectInitial', 'nmapConnectInitial', 'tlsXfreerdpConnectInitial'] as const) {
    it(`${name}: blocks re-encode byte for byte, in order`, () => {
      const bytes = blocksOf(name);
      assert.equal(hex(enc(cd.decodeClientDataBlocks(bytes), cd.encodeClientDataBlocks)), hex(bytes));
    });
  }
});

describe('TS_UD_CS_CORE optional fields', () => {
  const core = (): cd.ClientCoreData => clientData('xfreerdpConnectInitial').core!;

  it('stops at any field boundary and rejects a block that ends inside a field', () => {
    const full = enc(core(), cd.encodeClientCoreData);
    assert.equal(full.length, 230);
    const short = cd.decodeClientCoreData(full.subarray(0, 128 + 2 + 2 + 4 + 2 + 2 + 2));
    assert.equal(short.earlyCapabilityFlags, 0x05e3);
    assert.equal(short.clientDigProductId, undefined);
    assert.equal(cd.decodeClientCoreData(full.subarray(0, 128)).postBeta2ColorDepth, undefined);
    throwsDecode(() => cd.decodeClientCoreData(full.subarray(0, 128 + 14 + 10)), 'InvalidField', 'clientDigProductId');
    throwsDecode(() => cd.decodeClientCoreData(full.subarray(0, 127)), 'NotEnoughBytes', 'imeFileName');
    throwsDecode(() => cd.decodeClientCoreData(Buffer.concat([full, Buffer.of(0)])), 'TrailingBytes');
  });

  it('encodes as many optional fields as are set, and refuses gaps', () => {
    const c = core();
    const { desktopPhysicalWidth, desktopPhysicalHeight, desktopOrientation, desktopScaleFactor, deviceScaleFactor, ...upToProtocol } = c;
    assert.equal(enc(upToProtocol, cd.encodeClientCoreData).length, 212);
    assert.throws(() => enc({ ...upToProtocol, deviceScaleFactor: 100 }, cd.encodeClientCoreData), EncodeError);
    assert.throws(() => enc({ ...c, clientName: 'A-NAME-OF-16-CHR' }, cd.encodeClientCoreData), EncodeError);
    assert.equal(cd.decodeClientCoreData(enc({ ...c, clientName: 'FIFTEEN-CHARS-1' }, cd.encodeClientCoreData)).clientName, 'FIFTEEN-CHARS-1');
    assert.throws(() => enc({ ...c, desktopWidth: 70000 }, cd.encodeClientCoreData), EncodeError);
  });
});

describe('TS_UD_CS_SEC / NET / CLUSTER', () => {
  it('round-trips and is strict about sizes', () => {
    const sec = { encryptionMethods: 0x1b, extEncryptionMethods: 0 };
    assert.equal(hex(enc(sec, cd.encodeClientSecurityData)), '1b00000000000000');
    assert.deepEqual(cd.decodeClientSecurityData(Buffer.from('1b00000000000000', 'hex')), sec);
    throwsDecode(() => cd.decodeClientSecurityData(Buffer.from('1b0000000000000000000000', 'hex')), 'TrailingBytes');
    const cluster = { Flags: cd.REDIRECTION_SUPPORTED | cd.REDIRECTED_SESSIONID_FIELD_VALID, RedirectedSessionID: 7 };
    assert.deepEqual(cd.decodeClientClusterData(enc(cluster, cd.encodeClientClusterData)), cluster);
  });

  it('checks channelCount against CHANNEL_MAX_COUNT and the block length', () => {
    throwsDecode(() => cd.decodeClientNetworkData(Buffer.from('20000000', 'hex')), 'InvalidField', 'channelCount');
    throwsDecode(() => cd.decodeClientNetworkData(Buffer.from('01000000' + '00'.repeat(11), 'hex')), 'InvalidField', 'channelCount');
    const net = { channelDefArray: [{ name: 'rdpsnd', options: cd.CHANNEL_OPTION_INITIALIZED }] };
    assert.equal(hex(enc(net, cd.encodeClientNetworkData)), '01000000' + '726470736e640000' + '00000080');
    assert.throws(() => enc({ channelDefArray: [{ name: 'eightchr', options: 0 }] }, cd.encodeClientNetworkData), EncodeError);
  });

  it('rejects a block type seen twice', () => {
    const sec = Buffer.from('02c00c00' + '0300000000000000', 'hex');
    throwsDecode(() => cd.decodeClientDataBlocks(Buffer.concat([sec, sec])), 'InvalidField', 'type');
  });
});

describe('client data fuzz', () => {
  it('random bytes only raise DecodeError', () => {
    fuzzRandom(cd.decodeClientDataBlocks);
    fuzzRandom(cd.decodeClientDataBlocks, Buffer.from('01c0', 'hex'));
    fuzzRandom(cd.decodeClientCoreData, new Uint8Array(0), 300);
    fuzzRandom(cd.decodeClientNetworkData, new Uint8Array(0), 64);
  });
  it('mutated whole Connect-Initials, decoded through every layer, only raise DecodeError', () => {
    const all = (b: Uint8Array): unknown =>
      cd.decodeClientDataBlocks(gcc.decodeConferenceCreateRequest(mcs.decodeMcsConnectInitial(b).userData).userData);
    fuzzMutations(FIXTURES.xfreerdpConnectInitial().bytes, all);
    fuzzMutations(FIXTURES.nmapConnectInitial().bytes, all);
  });
  it('truncated and mutated real blocks only raise DecodeError', () => {
    for (const name of ['rdesktopConnectInitial', 'xfreerdpConnectInitial'] as const) {
      const bytes = blocksOf(name);
      fuzzTruncations(bytes, cd.decodeClientDataBlocks, false);
      fuzzMutations(bytes, cd.decodeClientDataBlocks);
    }
  });
});
