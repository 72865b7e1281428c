import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError } from '../../src/pdu/errors.js';
import * as ci from '../../src/pdu/client-info.js';
import { CLEAR_SESSIONS, findStep, walkSession } from './fixtures-session.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

const infoStep = (capture: string, layer: 'tcp' | 'tls') => findStep(walkSession(capture, layer), 'Client Info', 'c2s');

const UTC = 'Coordinated Universal Time';
const ZERO_TIME: ci.SystemTime = { wYear: 0, wMonth: 0, wDayOfWeek: 0, wDay: 0, wHour: 0, wMinute: 0, wSecond: 0, wMilliseconds: 0 };

describe('Client Info PDU from xfreerdp 2.11.7 (real)', () => {
  it('to xrdp: user "test", Unicode, autologon, RDP 6.1 compression, extended info with UTC time zone', () => {
    const info = infoStep('xrdp-rdp-none--xfreerdp-sec-rdp', 'tcp').info!;
    assert.equal(info.userName, 'test');
    assert.equal(info.domain, '');
    assert.equal(info.password.length, 4);
    assert.equal(info.codePage, 0);
    assert.equal(info.flags, 0x000b47fb);
    assert.deepEqual(ci.infoFlagNames(info.flags), [
      'INFO_MOUSE', 'INFO_DISABLECTRLALTDEL', 'INFO_AUTOLOGON', 'INFO_UNICODE', 'INFO_MAXIMIZESHELL', 'INFO_LOGONNOTIFY',
      'INFO_COMPRESSION', 'INFO_ENABLEWINDOWSKEY', 'INFO_FORCE_ENCRYPTED_CS_PDU', 'INFO_LOGONERRORS', 'INFO_MOUSE_HAS_WHEEL', 'INFO_NOAUDIOPLAYBACK',
    ]);
    assert.equal(ci.infoCompressionType(info.flags), 3);
    const x = info.extraInfo!;
    assert.equal(x.clientAddressFamily, ci.AF_INET);
    assert.equal(x.clientAddress, '127.0.0.1');
    assert.equal(x.clientDir, 'C:\\Windows\\System32\\mstscax.dll');
    assert.deepEqual(x.clientTimeZone, { bias: 0, standardName: UTC, standardDate: ZERO_TIME, standardBias: 0, daylightName: UTC, daylightDate: ZERO_TIME, daylightBias: 0 });
    assert.equal(x.clientSessionId, 0);
    assert.equal(x.performanceFlags, ci.PERF_ENABLE_FONT_SMOOTHING | ci.PERF_ENABLE_DESKTOP_COMPOSITION);
    assert.equal(x.autoReconnectCookie!.length, 0);
    assert.equal(x.reserved1, undefined);
  });

  it('to the shadow server: user "alice"; under NLA without INFO_AUTOLOGON (credentials went in CredSSP)', () => {
    const rdp = infoStep('shadow-rdp--xfreerdp-sec-rdp', 'tcp').info!;
    assert.equal(rdp.userName, 'alice');
    assert.ok(rdp.flags & ci.INFO_AUTOLOGON);
    const nla = infoStep('shadow-nla--xfreerdp-ok', 'tls').info!;
    assert.equal(nla.userName, 'alice');
    assert.equal(nla.flags, rdp.flags & ~ci.INFO_AUTOLOGON);
  });

  it('every real Client Info re-encodes byte for byte, with the user each session expects', () => {
    for (const { capture, layer, userName } of CLEAR_SESSIONS) {
      const step = infoStep(capture, layer);
      assert.equal(step.info!.userName, userName, capture);
      assert.equal(hex(enc(step.info!, ci.encodeInfoPacket)), hex(step.payload!), capture);
    }
  });

  it('the cb* lengths exclude the terminator (8 for "test"); cbClientAddress includes it (20)', () => {
    const body = infoStep('xrdp-rdp-none--xfreerdp-sec-rdp', 'tcp').payload!;
    assert.equal(hex(body.subarray(8, 18)), '00000800080000000000');
    assert.equal(hex(body.subarray(18, 20)), '0000'); // empty Domain: its terminator alone
    assert.equal(hex(body.subarray(20, 30)), '74006500730074000000');
    const at = body.indexOf(0x14, 40);
    assert.equal(hex(body.subarray(at - 2, at + 2)), '02001400');
  });
});

describe('Client Info: forms', () => {
  const full: ci.InfoPacket = {
    codePage: 0x0409,
    flags: ci.INFO_MOUSE | ci.INFO_UNICODE | ci.INFO_LOGONNOTIFY,
    domain: 'CORP',
    userName: 'bob',
    password: '',
    alternateShell: '',
    workingDir: 'C:\\',
    extraInfo: {
      clientAddressFamily: ci.AF_INET6,
      clientAddress: '::1',
      clientDir: '',
      clientTimeZone: {
        bias: -60,
        standardName: 'W. Europe Standard Time',
        standardDate: { ...ZERO_TIME, wMonth: 10, wDayOfWeek: 0, wDay: 5, wHour: 3 },
        standardBias: 0,
        daylightName: 'W. Europe Daylight Time',
        daylightDate: { ...ZERO_TIME, wMonth: 3, wDay: 5, wHour: 2 },
        daylightBias: -60,
      },
      clientSessionId: 7,
      performanceFlags: ci.PERF_DISABLE_WALLPAPER,
      autoReconnectCookie: new Uint8Array(28).fill(0xab),
      reserved1: 0,
      reserved2: 0,
      dynamicDSTTimeZoneKeyName: 'W. Europe Standard Time',
      dynamicDaylightTimeDisabled: 0,
    },
  };

  it('round-trips every optional extended field, signed biases included', () => {
    const bytes = new Uint8Array(enc(full, ci.encodeInfoPacket));
    assert.deepEqual(ci.decodeInfoPacket(bytes), full);
  });

  it('stops the extended info at any group boundary', () => {
    const x = full.extraInfo!;
    const cuts: ci.ExtendedInfoPacket[] = [
      { clientAddressFamily: x.clientAddressFamily, clientAddress: x.clientAddress, clientDir: x.clientDir },
      { clientAddressFamily: 2, clientAddress: '', clientDir: '', clientTimeZone: x.clientTimeZone! },
      { clientAddressFamily: 2, clientAddress: '', clientDir: '', clientTimeZone: x.clientTimeZone!, clientSessionId: 1, performanceFlags: 2 },
    ];
    for (const extraInfo of cuts) {
      const v = { ...full, extraInfo };
      assert.deepEqual(ci.decodeInfoPacket(new Uint8Array(enc(v, ci.encodeInfoPacket))), v);
    }
    const rdp4 = { ...full };
    delete rdp4.extraInfo;
    assert.deepEqual(ci.decodeInfoPacket(enc(rdp4, ci.encodeInfoPacket)), rdp4);
  });

  it('ANSI strings (no INFO_UNICODE): one-byte terminators', () => {
    const v: ci.InfoPacket = { codePage: 1252, flags: ci.INFO_MOUSE, domain: 'D', userName: 'caf\u00e9', password: 'p', alternateShell: '', workingDir: '' };
    const bytes = enc(v, ci.encodeInfoPacket);
    assert.equal(hex(bytes.subarray(8)), '01000400010000000000' + '4400' + '636166e900' + '7000' + '00' + '00');
    assert.deepEqual(ci.decodeInfoPacket(bytes), v);
  });

  it('rejects odd Unicode lengths, missing terminators, oversized cookies and trailing junk', () => {
    const base = enc({ ...full, extraInfo: undefined }, ci.encodeInfoPacket);
    const odd = Buffer.from(base);
    odd[8] = 7; // cbDomain
    throwsDecode(() => ci.decodeInfoPacket(odd), 'InvalidField', 'cbDomain');
    const noNul = Buffer.from(base);
    noNul[18 + 8] = 0x41; // Domain "CORP" terminator
    throwsDecode(() => ci.decodeInfoPacket(noNul), 'InvalidField', 'Domain');
    const ext = Buffer.concat([base, Buffer.from('02000300410000', 'hex')]);
    throwsDecode(() => ci.decodeInfoPacket(ext), 'InvalidField', 'cbClientAddress');
    const noTerm = Buffer.concat([base, Buffer.from('020002004100', 'hex')]);
    throwsDecode(() => ci.decodeInfoPacket(noTerm), 'InvalidField', 'clientAddress');
    const withCookie = enc({ ...full, extraInfo: { ...full.extraInfo!, reserved1: undefined, reserved2: undefined, dynamicDSTTimeZoneKeyName: undefined, dynamicDaylightTimeDisabled: undefined } }, ci.encodeInfoPacket);
    const big = Buffer.from(withCookie);
    big.writeUInt16LE(129, big.length - 30);
    throwsDecode(() => ci.decodeInfoPacket(big), 'InvalidField', 'cbAutoReconnectCookie');
    throwsDecode(() => ci.decodeInfoPacket(Buffer.concat([withCookie, Buffer.of(0)])), 'NotEnoughBytes', 'reserved1');
  });

  it('refuses a gap in the optional fields and a too-long time zone name', () => {
    const gap = { ...full, extraInfo: { ...full.extraInfo!, clientSessionId: undefined } };
    assert.throws(() => enc(gap, ci.encodeInfoPacket), EncodeError);
    const long = { ...full, extraInfo: { ...full.extraInfo!, clientTimeZone: { ...full.extraInfo!.clientTimeZone!, standardName: 'x'.repeat(33) } } };
    assert.throws(() => enc(long, ci.encodeInfoPacket), EncodeError);
  });
});

describe('Client Info fuzz', () => {
  const real = infoStep('shadow-rdp--xfreerdp-sec-rdp', 'tcp').payload!;
  it('random bytes only raise DecodeError', () => {
    fuzzRandom(ci.decodeInfoPacket);
    fuzzRandom(ci.decodeInfoPacket, Uint8Array.of(0, 0, 0, 0, 0x10, 0, 0, 0), 200);
  });
  it('truncations and mutations of the real PDUs only raise DecodeError', () => {
    // the extended info is optional group by group, so some prefixes are valid packets
    fuzzTruncations(real, ci.decodeInfoPacket, false);
    fuzzMutations(real, ci.decodeInfoPacket);
    fuzzMutations(infoStep('xrdp-tls--xfreerdp-default', 'tls').payload!, ci.decodeInfoPacket);
  });
});
