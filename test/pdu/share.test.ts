import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError } from '../../src/pdu/errors.js';
import * as sh from '../../src/pdu/share.js';
import * as sd from '../../src/pdu/share-data.js';
import * as ei from '../../src/pdu/error-info.js';
import { CLEAR_SESSIONS, findStep, walkSession } from './fixtures-session.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

const b = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');
const shareOf = (capture: string, label: string, dir: 'c2s' | 's2c', layer: 'tcp' | 'tls' = 'tcp', nth = 0) => findStep(walkSession(capture, layer), label, dir, nth);
const data = (p: sh.SharePdu): sh.DataPdu => (p as Extract<sh.SharePdu, { kind: 'data' }>).value;

describe('share PDUs of real sessions', () => {
  it('every share PDU of every walkable session re-encodes byte for byte', () => {
    let count = 0;
    for (const { capture, layer } of CLEAR_SESSIONS) {
      for (const s of walkSession(capture, layer).filter((x) => x.share)) {
        assert.equal(hex(Buffer.concat(s.share!.map((p) => enc(p, sh.encodeSharePdu)))), hex(s.payload!), `${capture} ${s.label}`);
        count++;
      }
    }
    assert.equal(count, 50);
  });

  it('Demand Active: xrdp and shadow, "RDP\\0", shareId 0x103ea + user, sessionId 0', () => {
    const xrdp = shareOf('xrdp-rdp-none--xfreerdp-sec-rdp', 'PDUTYPE_DEMANDACTIVEPDU', 's2c').share![0]!;
    assert.equal(xrdp.kind, 'demandActive');
    assert.equal(xrdp.pduSource, 1008);
    const v = (xrdp as Extract<sh.SharePdu, { kind: 'demandActive' }>).value;
    assert.deepEqual([v.shareId, Buffer.from(v.sourceDescriptor).toString('latin1'), v.sessionId, v.capabilitySets.length], [0x103ea, 'RDP\0', 0, 13]);
    const shadow = (shareOf('shadow-rdp--xfreerdp-sec-rdp', 'PDUTYPE_DEMANDACTIVEPDU', 's2c').share![0] as Extract<sh.SharePdu, { kind: 'demandActive' }>);
    assert.deepEqual([shadow.pduSource, shadow.value.shareId, shadow.value.sessionId, shadow.value.capabilitySets.length], [1009, 0x103f1, 0, 14]);
  });

  it('Confirm Active from xfreerdp: originatorId 0x03EA, "FREERDP\\0", the share id it was given', () => {
    const c = shareOf('xrdp-rdp-none--xfreerdp-sec-rdp', 'PDUTYPE_CONFIRMACTIVEPDU', 'c2s').share![0] as Extract<sh.SharePdu, { kind: 'confirmActive' }>;
    assert.deepEqual([c.pduSource, c.value.shareId, c.value.originatorId, Buffer.from(c.value.sourceDescriptor).toString('latin1')], [1008, 0x103ea, sh.CONFIRM_ACTIVE_ORIGINATOR_ID, 'FREERDP\0']);
    assert.equal(c.value.pad2Octets, undefined);
  });

  it('client finalization (xfreerdp): Synchronize, Control Cooperate, Control Request, Font List', () => {
    const steps = walkSession('shadow-rdp--xfreerdp-sec-rdp').filter((s) => s.dir === 'c2s' && s.label.startsWith('PDUTYPE_DATAPDU'));
    assert.deepEqual(steps.map((s) => data(s.share![0]!).body), [
      { kind: 'synchronize', value: { messageType: sd.SYNCMSGTYPE_SYNC, targetUser: 1009 } },
      { kind: 'control', value: { action: sd.CTRLACTION_COOPERATE, grantId: 0, controlId: 0 } },
      { kind: 'control', value: { action: sd.CTRLACTION_REQUEST_CONTROL, grantId: 0, controlId: 0 } },
      { kind: 'fontList', value: { numberFonts: 0, totalNumFonts: 0, listFlags: sd.FONTLIST_FIRST | sd.FONTLIST_LAST, entrySize: 0x32 } },
    ]);
    const first = data(steps[0]!.share![0]!);
    assert.deepEqual({ ...first, body: undefined }, { shareId: 0x103f1, streamId: sh.STREAM_LOW, uncompressedLength: 4, compressedType: 0, compressedLength: 0, body: undefined });
  });

  it('server finalization: shadow grants control to the user; xrdp targets 1002 and writes totalLength as both lengths', () => {
    const shadow = walkSession('shadow-rdp--xfreerdp-sec-rdp').filter((s) => s.dir === 's2c' && s.label.startsWith('PDUTYPE_DATAPDU')).map((s) => data(s.share![0]!));
    assert.deepEqual(shadow.map((d) => d.body), [
      { kind: 'synchronize', value: { messageType: 1, targetUser: 1009 } },
      { kind: 'control', value: { action: sd.CTRLACTION_COOPERATE, grantId: 0, controlId: 0 } },
      { kind: 'control', value: { action: sd.CTRLACTION_GRANTED_CONTROL, grantId: 1009, controlId: 1002 } },
      { kind: 'fontMap', value: { numberEntries: 0, totalNumEntries: 0, mapFlags: sd.FONTMAP_FIRST | sd.FONTMAP_LAST, entrySize: 4 } },
    ]);
    const xrdp = walkSession('xrdp-rdp-none--xfreerdp-sec-rdp').filter((s) => s.dir === 's2c' && s.label.startsWith('PDUTYPE_DATAPDU'));
    const sync = data(xrdp[0]!.share![0]!);
    assert.deepEqual(sync.body, { kind: 'synchronize', value: { messageType: 1, targetUser: 1002 } });
    // not what FreeRDP writes: uncompressedLength and compressedLength both hold totalLength (22)
    assert.deepEqual([sync.uncompressedLength, sync.compressedType, sync.compressedLength], [22, 0, 22]);
    assert.deepEqual(data(xrdp[2]!.share![0]!).body, { kind: 'control', value: { action: sd.CTRLACTION_GRANTED_CONTROL, grantId: 0, controlId: 1002 } });
    // the canonical (FreeRDP) lengths when unset: uncompressedLength = body length
    const canonical = enc({ kind: 'data', pduSource: 1008, value: { ...sync, uncompressedLength: undefined, compressedLength: 0 } } as sh.SharePdu, sh.encodeSharePdu);
    assert.equal(hex(canonical), '16001700f003ea030100000104001f0000000100ea03');
  });

  it('labels PDUs for transcripts', () => {
    assert.equal(sh.sharePduLabel(shareOf('xrdp-tls--xfreerdp-default', 'PDUTYPE_DATAPDU/PDUTYPE2_FONTMAP', 's2c', 'tls').share![0]!), 'PDUTYPE_DATAPDU/PDUTYPE2_FONTMAP');
    assert.equal(sh.pduTypeName(0xa), 'PDUTYPE_SERVER_REDIR_PKT');
    assert.equal(sd.pduType2Name(0x2f), 'PDUTYPE2_SET_ERROR_INFO_PDU');
  });
});

describe('share PDUs the captures do not hold (synthetic)', () => {
  const header = (pduType2: number, body: string, source = 0) => b(`${((18 + body.length / 2) & 0xff).toString(16).padStart(2, '0')}00 1700 ${source.toString(16).padStart(4, '0')} ea030100 00 01 0000 ${pduType2.toString(16)} 00 0000 ${body}`);
  it('Set Error Info: pduSource 0, errorInfo named from the MS-RDPBCGR 2.2.5.1.1 table', () => {
    const pdu = sh.decodeSharePdu(header(0x2f, '0b000000'));
    const body = data(pdu).body as Extract<sd.DataPduBody, { kind: 'setErrorInfo' }>;
    assert.equal(ei.errorInfoName(body.value.errorInfo), 'ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER');
    assert.equal(ei.errorInfoCategory(body.value.errorInfo), 'protocol-independent');
    assert.equal(ei.errorInfoName(0x10d4), 'ERRINFO_CONFIRMACTIVEWRONGSHAREID');
    assert.equal(ei.errorInfoCategory(0x10d4), 'rdp-specific');
    assert.equal(ei.errorInfoCategory(ei.ERRINFO_LICENSE_NO_LICENSE), 'licensing');
    assert.equal(ei.errorInfoCategory(ei.ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS), 'connection-broker');
    assert.equal(ei.errorInfoName(0xdeadbeef), 'unknown (0xdeadbeef)');
    for (const [name, code] of Object.entries(ei).filter(([k]) => k.startsWith('ERRINFO_') && k !== 'ERRINFO_NAMES')) assert.equal(ei.ERRINFO_NAMES[code as number], name);
    assert.equal(Object.keys(ei.ERRINFO_NAMES).length, 118);
  });

  it('Deactivate All, Shutdown Request / Denied, Save Session Info, Monitor Layout, compressed and redirect PDUs', () => {
    const cases: sh.SharePdu[] = [
      { kind: 'deactivateAll', pduSource: 1002, value: { shareId: 0x103ea, sourceDescriptor: new Uint8Array(1) } },
      { kind: 'data', pduSource: 1008, value: { shareId: 0x103ea, streamId: sh.STREAM_LOW, uncompressedLength: 0, compressedType: 0, compressedLength: 0, body: { kind: 'shutdownRequest' } } },
      { kind: 'data', pduSource: 1002, value: { shareId: 0x103ea, streamId: sh.STREAM_LOW, uncompressedLength: 0, compressedType: 0, compressedLength: 0, body: { kind: 'shutdownDenied' } } },
      { kind: 'data', pduSource: 1002, value: { shareId: 0x103ea, streamId: sh.STREAM_LOW, uncompressedLength: 8, compressedType: 0, compressedLength: 0, body: { kind: 'saveSessionInfo', value: { infoType: sd.INFOTYPE_LOGON_PLAINNOTIFY, infoData: new Uint8Array(4) } } } },
      { kind: 'data', pduSource: 1002, value: { shareId: 0x103ea, streamId: sh.STREAM_LOW, uncompressedLength: 44, compressedType: 0, compressedLength: 0, body: { kind: 'monitorLayout', value: { monitors: [{ left: 0, top: 0, right: 1919, bottom: 1079, flags: sd.TS_MONITOR_PRIMARY }, { left: -1280, top: 0, right: -1, bottom: 1023, flags: 0 }] } } } },
      { kind: 'data', pduSource: 1002, value: { shareId: 1, streamId: sh.STREAM_MED, uncompressedLength: 40, compressedType: sh.PACKET_COMPRESSED | 1, compressedLength: 3, body: { kind: 'raw', pduType2: sd.PDUTYPE2_UPDATE, data: new Uint8Array([1, 2, 3]) } } },
      { kind: 'raw', pduType: sh.PDUTYPE_SERVER_REDIR_PKT, pduSource: 0, data: new Uint8Array([0, 0, 4, 0]) },
    ];
    for (const v of cases) assert.deepEqual(sh.decodeSharePdu(new Uint8Array(enc(v, sh.encodeSharePdu))), v);
  });

  it('splits concatenated share PDUs (one Send Data may carry several)', () => {
    const steps = walkSession('shadow-rdp--xfreerdp-sec-rdp').filter((s) => s.dir === 's2c' && s.label.startsWith('PDUTYPE_DATAPDU'));
    const joined = Buffer.concat(steps.map((s) => s.payload!));
    assert.deepEqual(sh.decodeSharePdus(joined).map(sh.sharePduLabel), steps.map((s) => s.label));
  });
});

describe('share PDU refusals', () => {
  const sync = walkSession('shadow-rdp--xfreerdp-sec-rdp').find((s) => s.label === 'PDUTYPE_DATAPDU/PDUTYPE2_SYNCHRONIZE')!.payload!;
  const demandBytes = shareOf('shadow-rdp--xfreerdp-sec-rdp', 'PDUTYPE_DEMANDACTIVEPDU', 's2c').payload!;
  it('totalLength must match; the version must be 1; Flow PDUs are unsupported', () => {
    throwsDecode(() => sh.decodeSharePdu(sync.subarray(0, 20)), 'NotEnoughBytes', 'totalLength');
    throwsDecode(() => sh.decodeSharePdu(Buffer.concat([sync, Buffer.of(0)])), 'InvalidField', 'totalLength');
    const v2 = Buffer.from(sync);
    v2[2] = 0x27;
    throwsDecode(() => sh.decodeSharePdu(v2), 'UnsupportedValue', 'pduType');
    throwsDecode(() => sh.decodeSharePdu(b('0080 4200 0000 0000')), 'UnsupportedValue', 'totalLength');
    const e = throwsDecode(() => sh.decodeSharePdus(Buffer.concat([sync, b('0600 2700 0000')])), 'UnsupportedValue', 'pduType');
    assert.equal(e.field, 'pdu[1]');
    throwsDecode(() => sh.decodeSharePdus(b('0300 1700')), 'InvalidField', 'totalLength');
  });

  it('lengthCombinedCapabilities and numberCapabilities must agree with the sets', () => {
    assert.equal(Buffer.from(demandBytes.subarray(14, 18)).toString('latin1'), 'RDP\0');
    const shorter = Buffer.from(demandBytes);
    shorter.writeUInt16LE(shorter.readUInt16LE(12) - 1, 12); // lengthCombinedCapabilities
    throwsDecode(() => sh.decodeSharePdu(shorter), 'InvalidField', 'lengthCapability');
    const fewer = Buffer.from(demandBytes);
    assert.equal(fewer.readUInt16LE(18), 14);
    fewer.writeUInt16LE(13, 18); // numberCapabilities
    throwsDecode(() => sh.decodeSharePdu(fewer), 'TrailingBytes');
  });

  it('fixed data bodies must be exact; a Monitor Layout count must match; encoders refuse overflow', () => {
    throwsDecode(() => sh.decodeSharePdu(b('1700 1700 0000 ea030100 00 01 0000 1f 00 0000 0100ea0300')), 'TrailingBytes');
    throwsDecode(() => sh.decodeSharePdu(b('1a00 1700 0000 ea030100 00 01 0000 37 00 0000 02000000 00000000')), 'InvalidField', 'monitorCount');
    throwsDecode(() => sh.decodeSharePdu(b('1500 1700 0000 ea030100 00 01 0000 26 00 0000 000000')), 'NotEnoughBytes', 'infoType');
    const bad = { kind: 'data', pduSource: 0, value: { shareId: 0, streamId: 1, compressedType: 0, compressedLength: 0, body: { kind: 'control', value: { action: 0x10000, grantId: 0, controlId: 0 } } } } as sh.SharePdu;
    assert.throws(() => enc(bad, sh.encodeSharePdu), EncodeError);
    const huge = { kind: 'raw', pduType: 0xa, pduSource: 0, data: new Uint8Array(0x8000) } as sh.SharePdu;
    assert.throws(() => enc(huge, sh.encodeSharePdu), EncodeError);
  });
});

describe('share PDU fuzz', () => {
  const real = CLEAR_SESSIONS.slice(0, 2).flatMap(({ capture, layer }) => walkSession(capture, layer).filter((s) => s.share).map((s) => s.payload!));
  it('random bytes only raise DecodeError', () => {
    fuzzRandom(sh.decodeSharePdus);
    for (const t of [0x11, 0x13, 0x16, 0x17]) fuzzRandom((x) => sh.decodeSharePdu(Uint8Array.from([(x.length + 6) & 0xff, (x.length + 6) >> 8, t, 0, 0, 0, ...x])), new Uint8Array(0), 300);
    for (const t2 of [0x14, 0x1f, 0x26, 0x27, 0x28, 0x2f, 0x37]) {
      fuzzRandom((x) => sh.decodeSharePdu(Uint8Array.from([(x.length + 18) & 0xff, 0, 0x17, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, t2, 0, 0, 0, ...x])), new Uint8Array(0), 60);
    }
  });
  it('every truncation of every real share PDU fails; mutations only raise DecodeError', () => {
    for (const p of real) fuzzTruncations(p, sh.decodeSharePdu, true);
    for (const p of real) fuzzMutations(p, sh.decodeSharePdus);
  });
});
