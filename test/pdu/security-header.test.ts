import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReadCursor } from '../../src/pdu/cursor.js';
import { EncodeError } from '../../src/pdu/errors.js';
import * as md from '../../src/pdu/mcs-domain.js';
import * as sec from '../../src/pdu/security-header.js';
import { decodeX224Data } from '../../src/pdu/x224.js';
import { sessionFrames, walkSession } from './fixtures-session.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

const b = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');

/** The userData of every Send Data on the I/O channel of a Standard RDP Security session. */
function userData(capture: string): { dir: string; bytes: Uint8Array }[] {
  const out: { dir: string; bytes: Uint8Array }[] = [];
  for (const f of sessionFrames(capture, 'tcp')) {
    if (f.bytes[0] !== 0x03) continue;
    const p = decodeX224Data(f.bytes);
    if (p[0] === 0x7f) continue;
    const pdu = md.decodeDomainPdu(p);
    if ((pdu.kind === 'sendDataRequest' || pdu.kind === 'sendDataIndication') && pdu.value.channelId === md.MCS_GLOBAL_CHANNEL_ID) {
      out.push({ dir: f.dir, bytes: pdu.value.userData });
    }
  }
  return out;
}

function headers(capture: string, form: sec.SecurityHeaderForm): { dir: string; flags: string; form: string; bytes: Uint8Array; header: sec.SecurityHeader }[] {
  return userData(capture).map(({ dir, bytes }) => {
    const { header } = sec.splitSecurityHeader(bytes, form);
    const flags = header.form === 'none' ? '' : sec.securityFlagNames(header.flags).join('|');
    return { dir, flags, form: header.form, bytes, header };
  });
}

describe('security flags', () => {
  it('have the MS-RDPBCGR 2.2.8.1.1.2.1 values', () => {
    assert.deepEqual(
      [sec.SEC_EXCHANGE_PKT, sec.SEC_TRANSPORT_REQ, sec.SEC_TRANSPORT_RSP, sec.SEC_ENCRYPT, sec.SEC_RESET_SEQNO, sec.SEC_IGNORE_SEQNO, sec.SEC_INFO_PKT, sec.SEC_LICENSE_PKT],
      [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80],
    );
    assert.equal(sec.SEC_LICENSE_ENCRYPT_CS, 0x0200);
    assert.equal(sec.SEC_LICENSE_ENCRYPT_SC, 0x0200);
    assert.deepEqual([sec.SEC_REDIRECTION_PKT, sec.SEC_SECURE_CHECKSUM, sec.SEC_AUTODETECT_REQ, sec.SEC_AUTODETECT_RSP, sec.SEC_HEARTBEAT, sec.SEC_FLAGSHI_VALID], [0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000]);
    assert.deepEqual(sec.securityFlagNames(0x0848), ['SEC_ENCRYPT', 'SEC_INFO_PKT', 'SEC_SECURE_CHECKSUM']);
    assert.deepEqual(sec.securityFlagNames(0x0100), ['0x0100']);
  });
});

describe('security headers of real sessions', () => {
  it('encryption NONE (xrdp, shadow) and TLS: basic headers on Client Info and licensing only', () => {
    for (const [capture, layer] of [['xrdp-rdp-none--xfreerdp-sec-rdp', 'tcp'], ['shadow-tls--xfreerdp-default', 'tls']] as const) {
      const steps = walkSession(capture, layer).filter((s) => s.security);
      assert.deepEqual(steps[0]!.security, { form: 'basic', flags: sec.SEC_INFO_PKT, flagsHi: 0 });
      for (const s of steps.slice(1)) assert.equal(s.security!.form === 'basic' && s.security!.flags, sec.SEC_LICENSE_PKT);
    }
  });

  it('xrdp puts the licensing message size in flagsHi (uninitialised without SEC_FLAGSHI_VALID)', () => {
    const steps = walkSession('xrdp-rdp-none--xfreerdp-sec-rdp').filter((s) => s.dir === 's2c' && s.security);
    assert.deepEqual(steps.map((s) => s.security), [
      { form: 'basic', flags: sec.SEC_LICENSE_PKT, flagsHi: 318 },
      { form: 'basic', flags: sec.SEC_LICENSE_PKT, flagsHi: 16 },
    ]);
    assert.deepEqual(steps.map((s) => s.payload!.length), [318, 16]);
  });

  it('rdesktop against xrdp, 128-bit RC4: exchange, encrypted Client Info, licensing in clear, encrypted share PDUs', () => {
    const h = headers('xrdp-rdp-high--rdesktop', 'rc4');
    assert.deepEqual(h.map((x) => `${x.dir} ${x.form} ${x.flags}`), [
      'c2s basic SEC_EXCHANGE_PKT',
      'c2s rc4 SEC_ENCRYPT|SEC_INFO_PKT',
      's2c basic SEC_LICENSE_PKT',
      'c2s basic SEC_LICENSE_PKT',
      's2c basic SEC_LICENSE_PKT',
      's2c rc4 SEC_ENCRYPT',
      'c2s rc4 SEC_ENCRYPT|SEC_RESET_SEQNO|SEC_IGNORE_SEQNO',
      'c2s rc4 SEC_ENCRYPT',
      'c2s rc4 SEC_ENCRYPT',
      'c2s rc4 SEC_ENCRYPT',
    ]);
    const info = h[1]!.header as Extract<sec.SecurityHeader, { form: 'rc4' }>;
    assert.equal(hex(info.dataSignature), '1691cb7bd25b72cd');
    // rdesktop sends unsalted MACs: no SEC_SECURE_CHECKSUM anywhere
    assert.ok(h.every((x) => !x.flags.includes('SEC_SECURE_CHECKSUM')));
    for (const x of h) {
      const { header, body } = sec.splitSecurityHeader(x.bytes, 'rc4');
      assert.equal(hex(sec.joinSecurityHeader(header, body)), hex(x.bytes));
    }
  });

  it('xfreerdp against xrdp FIPS: TS_SECURITY_HEADER2 with padlen, salted MACs, even its license request encrypted', () => {
    const h = headers('xrdp-rdp-fips--xfreerdp-sec-rdp', 'fips');
    assert.deepEqual(h.slice(0, 6).map((x) => `${x.dir} ${x.form} ${x.flags}`), [
      'c2s basic SEC_EXCHANGE_PKT|SEC_LICENSE_ENCRYPT_CS',
      'c2s fips SEC_ENCRYPT|SEC_INFO_PKT|SEC_SECURE_CHECKSUM',
      's2c basic SEC_LICENSE_PKT',
      'c2s fips SEC_ENCRYPT|SEC_LICENSE_PKT|SEC_LICENSE_ENCRYPT_CS|SEC_SECURE_CHECKSUM',
      's2c basic SEC_LICENSE_PKT',
      's2c fips SEC_ENCRYPT',
    ]);
    const info = h[1]!.header as Extract<sec.SecurityHeader, { form: 'fips' }>;
    assert.deepEqual({ ...info, dataSignature: hex(info.dataSignature) }, {
      form: 'fips', flags: 0x0848, flagsHi: 0, length: 16, version: sec.TSFIPS_VERSION1, padlen: 4, dataSignature: '4376da9e6fc98ec8',
    });
    for (const x of h) {
      assert.equal(x.header.form === 'fips' ? (x.bytes.length - 16) % 8 : 0, 0, 'FIPS bodies are whole 3DES blocks');
      const { header, body } = sec.splitSecurityHeader(x.bytes, 'fips');
      assert.equal(hex(sec.joinSecurityHeader(header, body)), hex(x.bytes));
    }
  });

  it('the Security Exchange PDUs: 256-byte encrypted client randoms (2048-bit keys) plus 8 zero bytes', () => {
    for (const [capture, flags] of [['xrdp-rdp-high--rdesktop', 0x0001], ['xrdp-rdp-fips--xfreerdp-sec-rdp', 0x0201], ['xrdp-rdp-low--xfreerdp-sec-rdp', 0x0201]] as const) {
      const bytes = userData(capture)[0]!.bytes;
      const x = sec.decodeSecurityExchangePdu(bytes);
      assert.equal(x.flags, flags, capture);
      assert.equal(x.packet.encryptedClientRandom.length, 256);
      assert.equal(hex(bytes.subarray(4, 8)), '08010000');
      assert.equal(hex(enc(x, sec.encodeSecurityExchangePdu)), hex(bytes));
    }
  });
});

describe('security headers: forms, sizes and refusals', () => {
  it('none reads nothing; rc4 and fips without SEC_ENCRYPT read the basic header only', () => {
    const r = new ReadCursor(b('0800 0000'));
    assert.deepEqual(sec.decodeSecurityHeader(r, 'none'), { form: 'none' });
    assert.equal(r.offset, 0);
    assert.deepEqual(sec.splitSecurityHeader(b('8000 0000 ff'), 'fips'), { header: { form: 'basic', flags: 0x80, flagsHi: 0 }, body: b('ff') });
    assert.deepEqual([0, 4, 4, 12, 16, 4].map(Number), [
      sec.securityHeaderSize('none', 8), sec.securityHeaderSize('basic', 8), sec.securityHeaderSize('rc4', 0x80),
      sec.securityHeaderSize('rc4', 8), sec.securityHeaderSize('fips', 8), sec.securityHeaderSize('fips', 0),
    ]);
    assert.equal(hex(sec.joinSecurityHeader({ form: 'none' }, b('aa'))), 'aa');
  });

  it('securityHeaderForm follows the encryption level and method the server chose', () => {
    assert.deepEqual(['clientInfo', 'licensing', 'other'].map((p) => sec.securityHeaderForm(0, 0, p as 'other', 's2c')), ['basic', 'basic', 'none']);
    assert.equal(sec.securityHeaderForm(0x02, 3, 'other', 'c2s'), 'rc4');
    assert.equal(sec.securityHeaderForm(0x01, 1, 'other', 'c2s'), 'rc4');
    assert.equal(sec.securityHeaderForm(0x01, 1, 'other', 's2c'), 'basic');
    assert.equal(sec.securityHeaderForm(0x10, 4, 'licensing', 's2c'), 'fips');
  });

  it('rejects a FIPS length other than 16, a padlen of 8, short signatures and a bad exchange', () => {
    throwsDecode(() => sec.splitSecurityHeader(b('08000000 1100 01 00 0000000000000000'), 'fips'), 'InvalidField', 'length');
    throwsDecode(() => sec.splitSecurityHeader(b('08000000 1000 01 08 0000000000000000'), 'fips'), 'InvalidField', 'padlen');
    throwsDecode(() => sec.splitSecurityHeader(b('08000000 00000000000000'), 'rc4'), 'NotEnoughBytes', 'dataSignature');
    throwsDecode(() => sec.splitSecurityHeader(b('0800'), 'basic'), 'NotEnoughBytes', 'flagsHi');
    throwsDecode(() => sec.decodeSecurityExchangePdu(b('40000000 0800000000000000 00000000')), 'UnexpectedType', 'flags');
    throwsDecode(() => sec.decodeSecurityExchangePdu(b('01000000 0b000000 0000000000000000 0000')), 'InvalidField', 'length');
    throwsDecode(() => sec.decodeSecurityExchangePdu(b('01000000 07000000 00000000000000')), 'InvalidField', 'length');
    throwsDecode(() => sec.decodeSecurityExchangePdu(b('01000000 09000000 aa 0000000000000001')), 'InvalidField', 'padding');
    throwsDecode(() => sec.decodeSecurityExchangePdu(b('01000000 09000000 aa 0000000000000000 00')), 'TrailingBytes');
    assert.equal(sec.decodeSecurityPacket(b('08000000 0000000000000000')).encryptedClientRandom.length, 0);
  });

  it('refuses to encode a signature without SEC_ENCRYPT or of the wrong size', () => {
    assert.throws(() => enc({ form: 'rc4', flags: 0, flagsHi: 0, dataSignature: new Uint8Array(8) } as sec.SecurityHeader, sec.encodeSecurityHeader), EncodeError);
    assert.throws(() => enc({ form: 'rc4', flags: 8, flagsHi: 0, dataSignature: new Uint8Array(7) } as sec.SecurityHeader, sec.encodeSecurityHeader), EncodeError);
    assert.throws(() => enc({ form: 'fips', flags: 8, flagsHi: 0, length: 16, version: 1, padlen: 8, dataSignature: new Uint8Array(8) } as sec.SecurityHeader, sec.encodeSecurityHeader), EncodeError);
    const fips: sec.SecurityHeader = { form: 'fips', flags: 8, flagsHi: 0, length: 16, version: 1, padlen: 3, dataSignature: b('0102030405060708') };
    assert.equal(hex(enc(fips, sec.encodeSecurityHeader)), '08000000100001030102030405060708');
  });
});

describe('security header fuzz', () => {
  const fipsUserData = userData('xrdp-rdp-fips--xfreerdp-sec-rdp');
  const split = (form: sec.SecurityHeaderForm) => (x: Uint8Array) => sec.splitSecurityHeader(x, form);
  it('random bytes only raise DecodeError', () => {
    for (const form of ['basic', 'rc4', 'fips'] as const) fuzzRandom(split(form), new Uint8Array(0), 40);
    fuzzRandom(split('fips'), b('0800'), 40);
    fuzzRandom(sec.decodeSecurityExchangePdu, b('01000000'), 300);
  });
  it('truncations and mutations of real headers only raise DecodeError', () => {
    for (const x of fipsUserData) {
      fuzzTruncations(x.bytes.subarray(0, 16), split('fips'), false);
      fuzzMutations(x.bytes.subarray(0, 24), split('fips'));
    }
    fuzzTruncations(fipsUserData[0]!.bytes, sec.decodeSecurityExchangePdu, true);
    fuzzMutations(fipsUserData[0]!.bytes, sec.decodeSecurityExchangePdu);
  });
});
