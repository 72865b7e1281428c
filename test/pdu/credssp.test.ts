/**
 * CredSSP TSRequest (MS-CSSP 2.2.1) and the NTLM messages inside its negoTokens (MS-NLMP 2.2.1),
 * against the decrypted TLS data of the real captures (FreeRDP 2.11.7 shadow server with
 * xfreerdp 2.11.7, nmap 7.93 rdp-ntlm-info and impacket 0.10.0 rdp_check), plus synthetic edge
 * cases and fuzzing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EncodeError } from '../../src/pdu/errors.js';
import {
  TSREQUEST_HINT,
  TSREQUEST_MAX_SIZE,
  decodeTsRequest,
  encodeTsRequest,
  type TsRequest,
} from '../../src/pdu/credssp.js';
import {
  AV_ID,
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_56,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  NTLMSSP_NEGOTIATE_NTLM,
  NTLMSSP_NEGOTIATE_SEAL,
  NTLMSSP_NEGOTIATE_SIGN,
  NTLMSSP_NEGOTIATE_TARGET_INFO,
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLMSSP_NEGOTIATE_VERSION,
  NTLMSSP_REQUEST_TARGET,
  NTLMSSP_REVISION_W2K3,
  NTLM_AUTHENTICATE,
  NTLM_CHALLENGE,
  NTLM_NEGOTIATE,
  decodeChallengeMessage,
  decodeNegotiateMessage,
  decodeTargetInfo,
  encodeNegotiateMessage,
  filetimeToDate,
  ntlmFlagNames,
  ntlmMessageType,
} from '../../src/pdu/ntlm.js';
import { frames, loadCapture, streamBytes, type Direction } from '../fixtures/pcaps.js';
import { decodesOrDecodeError, fuzzMutations, fuzzRandom, fuzzTruncations, hex, RUNS, throwsDecode } from './fuzz-helpers.js';
import { fuzzDerTrees } from './der-fuzz.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// ---------------------------------------------------------------------------------------------
// the captures

/** The TSRequests one side sent over TLS, framed with TSREQUEST_HINT, and why framing stopped. */
function tsRequests(capture: string, dir: Direction): { frames: Buffer[]; stop: string; rest: Buffer } {
  const conns = loadCapture(capture).connections.filter((c) => c.tls.length > 0);
  assert.equal(conns.length, 1, `${capture}: one TLS connection`);
  const split = frames(streamBytes(conns[0]!, dir, 'tls'), TSREQUEST_HINT);
  return { frames: split.frames, stop: split.stop, rest: split.rest };
}

const TYPE_NAMES: Record<number, string> = { 1: 'NEGOTIATE', 2: 'CHALLENGE', 3: 'AUTHENTICATE' };

/** The NTLM message type of a token, '?' for anything else. */
function tokenType(x: Uint8Array): string {
  try {
    return TYPE_NAMES[ntlmMessageType(x)] ?? '?';
  } catch {
    return '?';
  }
}

/** "6 negoTokens:NEGOTIATE clientNonce(32)": the version, then the fields present in tag order. */
function summary(t: TsRequest): string {
  const parts = [String(t.version)];
  if (t.negoTokens) parts.push(`negoTokens:${t.negoTokens.map(tokenType).join(',')}`);
  if (t.authInfo) parts.push('authInfo');
  if (t.pubKeyAuth) parts.push(`pubKeyAuth(${t.pubKeyAuth.length})`);
  if (t.errorCode !== undefined) parts.push(`errorCode=0x${t.errorCode.toString(16)}`);
  if (t.clientNonce) parts.push(`clientNonce(${t.clientNonce.length})`);
  if (t.unknownFields) parts.push('unknown');
  return parts.join(' ');
}

interface Expected {
  c2s: string[];
  s2c: string[];
  /** 'rejected' when an RDP TPKT follows the CredSSP exchange on that side */
  stop: { c2s: string; s2c: string };
}

const EXPECTED: Record<string, Expected> = {
  // xfreerdp 2.11.7 speaks v6 and puts its clientNonce in every TSRequest; v6 binding hash: pubKeyAuth 16 + 32
  'shadow-nla--xfreerdp-ok': {
    c2s: ['6 negoTokens:NEGOTIATE clientNonce(32)', '6 negoTokens:AUTHENTICATE pubKeyAuth(48) clientNonce(32)', '6 authInfo clientNonce(32)'],
    s2c: ['6 negoTokens:CHALLENGE clientNonce(32)', '6 pubKeyAuth(48) clientNonce(32)'],
    stop: { c2s: 'rejected', s2c: 'rejected' },
  },
  'shadow-negotiate--xfreerdp-default': {
    c2s: ['6 negoTokens:NEGOTIATE clientNonce(32)', '6 negoTokens:AUTHENTICATE pubKeyAuth(48) clientNonce(32)', '6 authInfo clientNonce(32)'],
    s2c: ['6 negoTokens:CHALLENGE clientNonce(32)', '6 pubKeyAuth(48) clientNonce(32)'],
    stop: { c2s: 'rejected', s2c: 'rejected' },
  },
  // wrong password: the server closes TLS after AUTHENTICATE, with no errorCode TSRequest
  'shadow-nla--xfreerdp-badpw': {
    c2s: ['6 negoTokens:NEGOTIATE clientNonce(32)', '6 negoTokens:AUTHENTICATE pubKeyAuth(48) clientNonce(32)'],
    s2c: ['6 negoTokens:CHALLENGE clientNonce(32)'],
    stop: { c2s: 'end', s2c: 'end' },
  },
  // nmap 7.93 rdp-ntlm-info writes version 0x60 (96); the server still answers 6, with a clientNonce
  'shadow-nla--nmap-rdp-ntlm-info': {
    c2s: ['96 negoTokens:NEGOTIATE'],
    s2c: ['6 negoTokens:CHALLENGE clientNonce(32)'],
    stop: { c2s: 'end', s2c: 'end' },
  },
  'shadow-rdp--nmap-rdp-ntlm-info': {
    c2s: ['96 negoTokens:NEGOTIATE'],
    s2c: ['6 negoTokens:CHALLENGE clientNonce(32)'],
    stop: { c2s: 'end', s2c: 'end' },
  },
  // impacket 0.10.0 speaks v2 (no nonce, the sealed raw RSA key: 16 + 270 bytes); the server
  // announces 6 and sends a clientNonce, yet answers with the v2 pubKeyAuth (key + 1)
  'shadow-nla--impacket-rdp_check-ok': {
    c2s: ['2 negoTokens:NEGOTIATE', '2 negoTokens:AUTHENTICATE pubKeyAuth(286)', '2 authInfo'],
    s2c: ['6 negoTokens:CHALLENGE clientNonce(32)', '6 pubKeyAuth(286) clientNonce(32)'],
    stop: { c2s: 'end', s2c: 'end' },
  },
  'shadow-nla--impacket-rdp_check-badpw': {
    c2s: ['2 negoTokens:NEGOTIATE', '2 negoTokens:AUTHENTICATE pubKeyAuth(286)'],
    s2c: ['6 negoTokens:CHALLENGE clientNonce(32)'],
    stop: { c2s: 'end', s2c: 'end' },
  },
};

/** Every captured TSRequest, for the round-trip and fuzz tests. */
function allCaptured(): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  for (const name of Object.keys(EXPECTED)) {
    for (const dir of ['c2s', 's2c'] as const) {
      tsRequests(name, dir).frames.forEach((bytes, i) => out.push({ name: `${name} ${dir}[${i}]`, bytes }));
    }
  }
  return out;
}

/** The NTLM token of the first TSRequest `dir` sent in `capture`. */
function firstToken(capture: string, dir: Direction): Uint8Array {
  const t = decodeTsRequest(tsRequests(capture, dir).frames[0]!);
  assert.equal(t.negoTokens?.length, 1);
  return t.negoTokens[0]!;
}

describe('TSRequest: the captures', () => {
  for (const [name, exp] of Object.entries(EXPECTED)) {
    it(`${name}: frames and decodes every TSRequest`, () => {
      for (const dir of ['c2s', 's2c'] as const) {
        const got = tsRequests(name, dir);
        assert.deepEqual(got.frames.map((f) => summary(decodeTsRequest(f))), exp[dir], `${dir}`);
        assert.equal(got.stop, exp.stop[dir], `${dir} stop`);
        // what follows the exchange is the RDP connection sequence (a TPKT), which the hint refuses
        if (got.stop === 'rejected') assert.equal(got.rest[0], 0x03);
      }
    });
  }

  it('each TLS record holds exactly one TSRequest', () => {
    const conn = loadCapture('shadow-nla--xfreerdp-ok').connections[0]!;
    const records = conn.tls.slice(0, 5);
    assert.deepEqual(records.map((r) => r.dir), ['c2s', 's2c', 'c2s', 's2c', 'c2s']);
    for (const r of records) assert.equal(TSREQUEST_HINT.findSize(r.bytes), r.bytes.length);
  });

  it('re-encodes every captured TSRequest byte for byte (all peers write canonical DER)', () => {
    const all = allCaptured();
    assert.equal(all.length, 25);
    for (const { name, bytes } of all) assert.equal(hex(encodeTsRequest(decodeTsRequest(bytes))), hex(bytes), name);
  });

  it('the shadow server echoes the client nonce of xfreerdp and invents one for nmap', () => {
    const c = decodeTsRequest(tsRequests('shadow-nla--xfreerdp-ok', 'c2s').frames[0]!);
    const s = decodeTsRequest(tsRequests('shadow-nla--xfreerdp-ok', 's2c').frames[0]!);
    assert.equal(hex(s.clientNonce!), hex(c.clientNonce!));
    const n = decodeTsRequest(tsRequests('shadow-nla--nmap-rdp-ntlm-info', 's2c').frames[0]!);
    assert.equal(n.clientNonce!.length, 32);
  });

  it('the hint sizes every prefix of a real TSRequest as "need more" or the whole size', () => {
    for (const { name, bytes } of allCaptured()) {
      for (let n = 0; n < bytes.length; n++) {
        const size = TSREQUEST_HINT.findSize(bytes.subarray(0, n));
        assert.ok(size === null || size === bytes.length, `${name} prefix ${n}: ${size}`);
      }
      // and a stream split anywhere frames the same way once complete
      const two = Buffer.concat([bytes, bytes]);
      assert.deepEqual(frames(two, TSREQUEST_HINT).frames.map(hex), [hex(bytes), hex(bytes)]);
    }
  });
});

describe('NTLM inside the captured negoTokens', () => {
  const XFREERDP_FLAGS = 0xe20882b7;
  const IMPACKET_FLAGS = 0xe0888235;

  it('xfreerdp NEGOTIATE: flags 0xe20882b7, version 6.1.7601, re-encodes byte for byte', () => {
    const tok = firstToken('shadow-nla--xfreerdp-ok', 'c2s');
    assert.equal(ntlmMessageType(tok), NTLM_NEGOTIATE);
    const m = decodeNegotiateMessage(tok);
    assert.deepEqual(m, { flags: XFREERDP_FLAGS, version: { major: 6, minor: 1, build: 7601, ntlmRevision: 15 } });
    assert.equal(hex(encodeNegotiateMessage(m)), hex(tok));
  });

  it('nmap NEGOTIATE: the same flags as FreeRDP, but version 10.0.17763', () => {
    const tok = firstToken('shadow-nla--nmap-rdp-ntlm-info', 'c2s');
    const m = decodeNegotiateMessage(tok);
    assert.deepEqual(m, { flags: XFREERDP_FLAGS, version: { major: 10, minor: 0, build: 17763, ntlmRevision: 15 } });
    assert.equal(hex(encodeNegotiateMessage(m)), hex(tok));
  });

  it('impacket NEGOTIATE: 32 bytes, no VERSION flag, no OEM', () => {
    const tok = firstToken('shadow-nla--impacket-rdp_check-ok', 'c2s');
    assert.equal(tok.length, 32);
    const m = decodeNegotiateMessage(tok);
    assert.deepEqual(m, { flags: IMPACKET_FLAGS });
    assert.equal(hex(encodeNegotiateMessage(m)), hex(tok));
    assert.deepEqual(ntlmFlagNames(IMPACKET_FLAGS), [
      'NTLMSSP_NEGOTIATE_UNICODE',
      'NTLMSSP_REQUEST_TARGET',
      'NTLMSSP_NEGOTIATE_SIGN',
      'NTLMSSP_NEGOTIATE_SEAL',
      'NTLMSSP_NEGOTIATE_NTLM',
      'NTLMSSP_NEGOTIATE_ALWAYS_SIGN',
      'NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY',
      'NTLMSSP_NEGOTIATE_TARGET_INFO',
      'NTLMSSP_NEGOTIATE_128',
      'NTLMSSP_NEGOTIATE_KEY_EXCH',
      'NTLMSSP_NEGOTIATE_56',
    ]);
  });

  it('shadow server CHALLENGE to nmap: Target_Name VM, names VM/vm, timestamp, version 6.1.7601', () => {
    const c = decodeChallengeMessage(firstToken('shadow-nla--nmap-rdp-ntlm-info', 's2c'));
    assert.equal(c.flags, 0xe28882b7);
    assert.ok(ntlmFlagNames(c.flags).includes('NTLMSSP_NEGOTIATE_TARGET_INFO'));
    assert.equal(c.targetName, 'VM');
    assert.equal(c.serverChallenge.length, 8);
    assert.deepEqual(c.version, { major: 6, minor: 1, build: 7601, ntlmRevision: NTLMSSP_REVISION_W2K3 });
    const ti = c.targetInfo!;
    assert.equal(ti.nbComputerName, 'VM');
    assert.equal(ti.nbDomainName, 'VM');
    assert.equal(ti.dnsComputerName, 'vm');
    assert.equal(ti.dnsDomainName, 'vm');
    assert.equal(ti.dnsTreeName, undefined);
    assert.equal(ti.flags, undefined);
    assert.equal(ti.channelBindings, undefined);
    assert.deepEqual(
      ti.pairs.map((p) => p.name),
      ['MsvAvNbDomainName', 'MsvAvNbComputerName', 'MsvAvDnsDomainName', 'MsvAvDnsComputerName', 'MsvAvTimestamp'],
    );
    // the capture day (INDEX.md: 2026-11-21); FreeRDP's clock has whole seconds
    assert.equal(ti.timestamp!.filetime, 134397771690000000n);
    assert.equal(ti.timestamp!.date.toISOString(), '2026-11-21T23:26:09.000Z');
  });

  it('every captured CHALLENGE decodes; without NTLMSSP_NEGOTIATE_VERSION there is no version', () => {
    for (const name of Object.keys(EXPECTED)) {
      const c = decodeChallengeMessage(firstToken(name, 's2c'));
      assert.equal(c.targetName, 'VM', name);
      assert.equal(c.targetInfo!.nbComputerName, 'VM', name);
      assert.ok(c.targetInfo!.timestamp!.date.toISOString().startsWith('2026-11-21T23:2'), name);
      if (name.includes('impacket')) {
        assert.equal(c.flags, IMPACKET_FLAGS);
        assert.equal(c.version, undefined);
      } else {
        assert.deepEqual(c.version, { major: 6, minor: 1, build: 7601, ntlmRevision: 15 });
      }
    }
  });

  it('AUTHENTICATE is recognised by its type', () => {
    const t = decodeTsRequest(tsRequests('shadow-nla--xfreerdp-ok', 'c2s').frames[1]!);
    assert.equal(ntlmMessageType(t.negoTokens![0]!), NTLM_AUTHENTICATE);
    throwsDecode(() => decodeChallengeMessage(t.negoTokens![0]!), 'UnexpectedType', 'MessageType');
  });
});

// ---------------------------------------------------------------------------------------------
// synthetic TSRequests

describe('TSRequest: encoding and strictness', () => {
  it('errorCode is an unsigned NTSTATUS written as a 4-octet INTEGER', () => {
    const bytes = encodeTsRequest({ version: 6, errorCode: 0xc000006d });
    assert.equal(hex(bytes), '300da003020106a4060204c000006d');
    assert.equal(decodeTsRequest(bytes).errorCode, 0xc000006d);
    assert.equal(hex(encodeTsRequest({ version: 6, errorCode: -1073741715 })), hex(bytes));
    assert.equal(hex(encodeTsRequest({ version: 3, errorCode: 0 })), '300aa003020103a403020100');
    assert.equal(decodeTsRequest(encodeTsRequest({ version: 6, errorCode: 0xffffffff })).errorCode, 0xffffffff);
  });

  it('reads a padded positive errorCode too and re-encodes it in the signed form', () => {
    const t = decodeTsRequest(h('300e a003020106 a407 020500c000006d'));
    assert.equal(t.errorCode, 0xc000006d);
    assert.equal(hex(encodeTsRequest(t)), '300da003020106a4060204c000006d');
  });

  it('round-trips several negoTokens, an empty NegoData and every field', () => {
    const v: TsRequest = {
      version: 6,
      negoTokens: [Buffer.from('aa', 'hex'), new Uint8Array(0), Buffer.alloc(200, 7)],
      authInfo: Buffer.from('0102', 'hex'),
      pubKeyAuth: Buffer.alloc(300, 1),
      errorCode: 0x80090302,
      clientNonce: Buffer.alloc(32, 9),
    };
    const back = decodeTsRequest(encodeTsRequest(v));
    assert.deepEqual(summary(back), '6 negoTokens:?,?,? authInfo pubKeyAuth(300) errorCode=0x80090302 clientNonce(32)');
    assert.deepEqual(back.negoTokens!.map(hex), v.negoTokens!.map(hex));
    assert.deepEqual(decodeTsRequest(encodeTsRequest({ version: 2, negoTokens: [] })), { version: 2, negoTokens: [] });
    assert.equal(hex(encodeTsRequest({ version: 2, negoTokens: [] })), '3009a003020102a1023000');
  });

  it('skips (and keeps) well-formed context fields above [5]', () => {
    const fixed = h('300e a003020106 a5020400 a603020101');
    const t = decodeTsRequest(fixed);
    assert.deepEqual(t.unknownFields?.map((u) => [u.tag, hex(u.contents)]), [[6, '020101']]);
    assert.equal(hex(t.clientNonce!), '');
    assert.equal(hex(encodeTsRequest(t)), hex(fixed));
    // a high-tag-number field, [40]
    const high = decodeTsRequest(h('300b a003020106 bf2803040100'));
    assert.deepEqual(high.unknownFields?.map((u) => u.tag), [40]);
  });

  it('accepts a long-form length where the short form would do, and re-encodes it canonically', () => {
    const bytes = h('3081 0b a08103020106 a403020100');
    const t = decodeTsRequest(bytes);
    assert.deepEqual(t, { version: 6, errorCode: 0 });
    assert.equal(hex(encodeTsRequest(t)), '300aa003020106a403020100');
  });

  it('rejects malformed TSRequests with the field that is wrong', () => {
    throwsDecode(() => decodeTsRequest(h('')), 'NotEnoughBytes');
    throwsDecode(() => decodeTsRequest(h('3100')), 'UnexpectedType', 'SEQUENCE');
    throwsDecode(() => decodeTsRequest(h('3000')), 'InvalidField', 'version'); // missing
    throwsDecode(() => decodeTsRequest(h('3004 a2020400')), 'InvalidField', 'version'); // not first
    throwsDecode(() => decodeTsRequest(h('3005a003020106 00')), 'TrailingBytes'); // after the SEQUENCE
    throwsDecode(() => decodeTsRequest(h('3080 a003020106 0000')), 'UnsupportedValue'); // indefinite
    throwsDecode(() => decodeTsRequest(h('3008 a006020106020100')), 'TrailingBytes', 'version');
    throwsDecode(() => decodeTsRequest(h('3006 a00402020006')), 'InvalidField', 'version'); // padded integer
    throwsDecode(() => decodeTsRequest(h('3005 a0030201ff')), 'InvalidField', 'version'); // negative
    throwsDecode(() => decodeTsRequest(h('3009 a00702050100000000')), 'UnsupportedValue', 'version'); // 2^32
    throwsDecode(() => decodeTsRequest(h('3004 a0020200')), 'InvalidField', 'version'); // empty integer
    throwsDecode(() => decodeTsRequest(h('300a a003020106 a2020400')), 'NotEnoughBytes'); // SEQUENCE longer than the input
    throwsDecode(() => decodeTsRequest(h('300d a003020106 a2020400 a2020400')), 'InvalidField', 'authInfo'); // repeated
    throwsDecode(() => decodeTsRequest(h('300d a003020106 a3020400 a2020400')), 'InvalidField', 'authInfo'); // out of order
    throwsDecode(() => decodeTsRequest(h('300e a003020106 a603020101 a5020400')), 'InvalidField', 'clientNonce');
    throwsDecode(() => decodeTsRequest(h('3007 a003020106 8200')), 'UnexpectedType', 'field'); // primitive [2]
    throwsDecode(() => decodeTsRequest(h('3008 a003020106 020101')), 'UnexpectedType', 'field'); // universal
    throwsDecode(() => decodeTsRequest(h('300b a003020106 a20424020400')), 'UnexpectedType', 'authInfo'); // constructed OCTET STRING
    throwsDecode(() => decodeTsRequest(h('3009 a003020106 a2050400')), 'NotEnoughBytes', 'authInfo'); // [2] longer than the SEQUENCE
    throwsDecode(() => decodeTsRequest(h('300a a003020106 a404020100')), 'NotEnoughBytes', 'errorCode'); // INTEGER longer than [4]
    throwsDecode(() => decodeTsRequest(h('300d a003020106 a1063004a0020400')), 'UnexpectedType', 'negoTokens[0]'); // [0] without its SEQUENCE
    throwsDecode(() => decodeTsRequest(h('300c a003020106 a1053003a00100')), 'NotEnoughBytes', 'negoTokens[0].negoToken'); // [0] holds 00
    throwsDecode(() => decodeTsRequest(h('300d a003020106 a106300430020400')), 'UnexpectedType', 'negoTokens[0].negoToken');
    throwsDecode(() => decodeTsRequest(h('300c a003020106 a605 020101 0500')), 'TrailingBytes', '[6]');
    throwsDecode(() => decodeTsRequest(h('300b a003020106 a604 020101 00')), 'NotEnoughBytes', '[6]'); // 00 is a cut TLV
  });

  it('refuses to encode values DER cannot carry here', () => {
    assert.throws(() => encodeTsRequest({ version: -1 }), EncodeError);
    assert.throws(() => encodeTsRequest({ version: 1.5 }), EncodeError);
    assert.throws(() => encodeTsRequest({ version: 6, errorCode: 0x100000000 }), EncodeError);
    assert.throws(() => encodeTsRequest({ version: 6, unknownFields: [{ tag: 5, contents: h('0400') }] }), EncodeError);
    assert.throws(() => encodeTsRequest({ version: 6, unknownFields: [{ tag: 7, contents: h('0400') }, { tag: 6, contents: h('0400') }] }), EncodeError);
  });

  it('round-trips arbitrary TSRequests (property)', () => {
    const bytesArb = fc.uint8Array({ maxLength: 300 });
    const arb = fc.record(
      {
        version: fc.nat({ max: 0xffffffff }),
        negoTokens: fc.array(bytesArb, { maxLength: 3 }),
        authInfo: bytesArb,
        pubKeyAuth: bytesArb,
        errorCode: fc.nat({ max: 0xffffffff }),
        clientNonce: bytesArb,
      },
      { requiredKeys: ['version'] },
    );
    fc.assert(
      fc.property(arb, (v) => {
        const bytes = encodeTsRequest(v as TsRequest);
        const back = decodeTsRequest(bytes);
        assert.equal(summary(back).replace(/\?/g, ''), summary(v as TsRequest).replace(/\?/g, ''));
        assert.equal(hex(encodeTsRequest(back)), hex(bytes));
        assert.equal(TSREQUEST_HINT.findSize(bytes), bytes.length);
      }),
      { numRuns: 500 },
    );
  });
});

/** `depth` nested copies of a constructed header around `inner`, each with its definite length. */
function nested(depth: number, header: number, inner: Uint8Array): Buffer {
  const heads: Buffer[] = [];
  let len = inner.length;
  for (let i = 0; i < depth; i++) {
    const head = len < 0x80 ? [header, len] : len < 0x100 ? [header, 0x81, len] : len < 0x10000 ? [header, 0x82, len >> 8, len & 0xff] : [header, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
    heads.push(Buffer.from(head));
    len += head.length;
  }
  return Buffer.concat([...heads.reverse(), inner]);
}

describe('TSRequest: hostile DER', () => {
  it('indefinite lengths, at the top and inside, are DecodeErrors', () => {
    throwsDecode(() => decodeTsRequest(h('3080 a003020106 0000')), 'UnsupportedValue', 'SEQUENCE');
    throwsDecode(() => decodeTsRequest(h('300b a080020106 0000 a2020400')), 'UnsupportedValue', 'version');
    throwsDecode(() => decodeTsRequest(h('3009 a003020106 a2 80 0000')), 'UnsupportedValue', 'authInfo');
  });

  it('lengths that disagree with the bytes are DecodeErrors at the element that lies', () => {
    throwsDecode(() => decodeTsRequest(h('3006 a003020106')), 'NotEnoughBytes', 'SEQUENCE'); // outer too long
    throwsDecode(() => decodeTsRequest(h('3004 a003020106')), 'NotEnoughBytes', 'version'); // outer too short: [0] overruns it
    throwsDecode(() => decodeTsRequest(h('3005 a004020106')), 'NotEnoughBytes', 'version'); // [0] claims a byte the input lacks
    throwsDecode(() => decodeTsRequest(h('300c a003020106 a202 0403 aabbcc')), 'NotEnoughBytes', 'authInfo'); // OCTET STRING overruns [2]
    throwsDecode(() => decodeTsRequest(h('3084ffffffff a003020106')), 'NotEnoughBytes', 'SEQUENCE'); // 4 GiB
    throwsDecode(() => decodeTsRequest(h('3089 010000000000000000')), 'UnsupportedValue', 'SEQUENCE'); // 9 length octets
    throwsDecode(() => decodeTsRequest(h('30ff')), 'InvalidField', 'SEQUENCE'); // reserved length octet
    const e = throwsDecode(() => decodeTsRequest(h('300e a003020106 a1073005 3003a00104')), 'NotEnoughBytes', 'negoTokens[0].negoToken');
    assert.equal(e.root().offset, 15); // the 04 whose length octet is missing
  });

  it('10,000-deep nesting, and 64 KiB of nested headers, are DecodeErrors, not stack overflows', () => {
    const deepDefinite = nested(10_000, 0xa1, h('0400'));
    assert.ok(deepDefinite.length > 30_000);
    throwsDecode(() => decodeTsRequest(nested(1, 0x30, deepDefinite)), 'UnsupportedValue', 'negoTokens[0].negoToken');
    throwsDecode(() => decodeTsRequest(nested(10_000, 0x30, h('0400'))), 'UnsupportedValue', 'field'); // a universal tag in a TSRequest
    const inner = nested(10_000, 0xa6, h('0400'));
    const req = Buffer.concat([h('a003020106'), inner]);
    const e = throwsDecode(() => decodeTsRequest(nested(1, 0x30, req)), 'UnsupportedValue', '[6]');
    assert.match(e.message, /nesting depth/);
    const indefinite = Buffer.alloc(64 * 1024);
    for (let i = 0; i < indefinite.length; i += 2) indefinite.set([0x30, 0x80], i);
    throwsDecode(() => decodeTsRequest(indefinite), 'UnsupportedValue', 'field');
    const constructedTags = Buffer.alloc(64 * 1024);
    for (let i = 0; i < constructedTags.length; i += 2) constructedTags.set([0xa1, 0x80], i);
    throwsDecode(() => decodeTsRequest(nested(1, 0x30, Buffer.concat([h('a003020106'), constructedTags]))), 'UnsupportedValue', 'negoTokens[0].negoToken');
  });

  it('huge and malformed INTEGERs are DecodeErrors', () => {
    const huge = Buffer.concat([h('3069 a067 0265 01'), Buffer.alloc(100, 0xab)]);
    assert.equal(huge.length, 0x69 + 2);
    throwsDecode(() => decodeTsRequest(huge), 'UnsupportedValue', 'version');
    const hugeError = Buffer.concat([h('306e a003020106 a467 0265 ff'), Buffer.alloc(100, 0x01)]);
    throwsDecode(() => decodeTsRequest(hugeError), 'UnsupportedValue', 'errorCode');
    throwsDecode(() => decodeTsRequest(h('3009 a003020106 a4020200')), 'InvalidField', 'errorCode'); // no content octets
    throwsDecode(() => decodeTsRequest(h('300b a003020106 a4040202ff80')), 'InvalidField', 'errorCode'); // padded negative
    throwsDecode(() => decodeTsRequest(h('3007 a005 2203 020106')), 'InvalidField', 'version'); // constructed INTEGER
  });

  it('constructed OCTET STRINGs, odd tags and end-of-contents are DecodeErrors', () => {
    throwsDecode(() => decodeTsRequest(h('300f a003020106 a508 2406 0401aa 0401bb')), 'UnexpectedType', 'clientNonce');
    throwsDecode(() => decodeTsRequest(h('3011 a003020106 a10a 3008 3006 a004 24020400')), 'UnexpectedType', 'negoTokens[0].negoToken');
    throwsDecode(() => decodeTsRequest(h('3008 a003020106 bf0200')), 'InvalidField', 'authInfo'); // [2] in the long tag form
    throwsDecode(() => decodeTsRequest(h('3009 a003020106 bf802800')), 'InvalidField', '[40]'); // leading 0x80 in the tag
    throwsDecode(() => decodeTsRequest(h('3009 a003020106 a6020000')), 'InvalidField', '[6]'); // end-of-contents
    throwsDecode(() => decodeTsRequest(h('3009 a003020106 a6021800')), 'InvalidField'); // a GeneralizedTime asn1js throws on
  });

  it('trailing bytes after the TSRequest are DecodeErrors', () => {
    throwsDecode(() => decodeTsRequest(h('3005a003020106 3005a003020106')), 'TrailingBytes', 'SEQUENCE');
    throwsDecode(() => decodeTsRequest(h('3005a003020106 00')), 'TrailingBytes', 'SEQUENCE');
  });
});

describe('TSREQUEST_HINT', () => {
  it('needs the tag and the whole length before it answers', () => {
    assert.equal(TSREQUEST_HINT.findSize(h('')), null);
    assert.equal(TSREQUEST_HINT.findSize(h('30')), null);
    assert.equal(TSREQUEST_HINT.findSize(h('3082 01')), null);
    assert.equal(TSREQUEST_HINT.findSize(h('305b')), 0x5b + 2);
    assert.equal(TSREQUEST_HINT.findSize(h('308201a9')), 0x1a9 + 4);
    assert.equal(TSREQUEST_HINT.findSize(h('3081 5b')), 0x5b + 3);
    assert.equal(TSREQUEST_HINT.findSize(h('3084 0000fffa')), TSREQUEST_MAX_SIZE);
  });

  it('rejects what cannot start a TSRequest, and sizes above the cap', () => {
    throwsDecode(() => TSREQUEST_HINT.findSize(h('0300000c')), 'UnexpectedType', 'SEQUENCE');
    throwsDecode(() => TSREQUEST_HINT.findSize(h('3080')), 'UnsupportedValue', 'length');
    throwsDecode(() => TSREQUEST_HINT.findSize(h('3085')), 'UnsupportedValue', 'length');
    throwsDecode(() => TSREQUEST_HINT.findSize(h('3003')), 'InvalidField', 'length');
    throwsDecode(() => TSREQUEST_HINT.findSize(h('3082fffd')), 'UnsupportedValue', 'length');
    throwsDecode(() => TSREQUEST_HINT.findSize(h('3084ffffffff')), 'UnsupportedValue', 'length');
  });
});

// ---------------------------------------------------------------------------------------------
// synthetic NTLM

/** A CHALLENGE_MESSAGE laid out as FreeRDP does (TargetName, then TargetInfo, after the header). */
function challenge(o: { flags: number; targetName?: Uint8Array; targetInfo?: Uint8Array; version?: boolean }): Buffer {
  const name = o.targetName ?? new Uint8Array(0);
  const info = o.targetInfo ?? new Uint8Array(0);
  const fixed = 48 + (o.version ? 8 : 0);
  const b = Buffer.alloc(fixed + name.length + info.length);
  b.write('NTLMSSP\0', 0, 'latin1');
  b.writeUInt32LE(NTLM_CHALLENGE, 8);
  b.writeUInt16LE(name.length, 12);
  b.writeUInt16LE(name.length, 14);
  b.writeUInt32LE(fixed, 16);
  b.writeUInt32LE(o.flags >>> 0, 20);
  b.set([1, 2, 3, 4, 5, 6, 7, 8], 24);
  b.writeUInt16LE(info.length, 40);
  b.writeUInt16LE(info.length, 42);
  b.writeUInt32LE(fixed + name.length, 44);
  if (o.version) b.set([10, 0, 0x61, 0x4a, 0, 0, 0, 15], 48);
  b.set(name, fixed);
  b.set(info, fixed + name.length);
  return b;
}

function av(id: number, value: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + value.length);
  b.writeUInt16LE(id, 0);
  b.writeUInt16LE(value.length, 2);
  b.set(value, 4);
  return b;
}
const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
const EOL = av(AV_ID.MsvAvEOL, new Uint8Array(0));

describe('NTLM: synthetic messages', () => {
  const ours = {
    flags:
      NTLMSSP_NEGOTIATE_UNICODE |
      NTLMSSP_REQUEST_TARGET |
      NTLMSSP_NEGOTIATE_SIGN |
      NTLMSSP_NEGOTIATE_SEAL |
      NTLMSSP_NEGOTIATE_NTLM |
      NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
      NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
      NTLMSSP_NEGOTIATE_TARGET_INFO |
      NTLMSSP_NEGOTIATE_VERSION |
      NTLMSSP_NEGOTIATE_128 |
      NTLMSSP_NEGOTIATE_KEY_EXCH |
      NTLMSSP_NEGOTIATE_56,
    version: { major: 10, minor: 0, build: 19041, ntlmRevision: NTLMSSP_REVISION_W2K3 },
  };

  it('our NEGOTIATE round-trips', () => {
    const bytes = encodeNegotiateMessage(ours);
    assert.equal(bytes.length, 40);
    assert.equal(hex(bytes.subarray(0, 12)), '4e544c4d5353500001000000');
    assert.deepEqual(decodeNegotiateMessage(bytes), { ...ours, flags: ours.flags >>> 0 });
    assert.equal(ours.flags >>> 0, 0xe2888235);
  });

  it('NEGOTIATE: the VERSION flag and the version must agree; names and domains are read', () => {
    assert.throws(() => encodeNegotiateMessage({ flags: ours.flags }), EncodeError);
    assert.throws(() => encodeNegotiateMessage({ flags: NTLMSSP_NEGOTIATE_UNICODE, version: ours.version }), EncodeError);
    assert.throws(() => encodeNegotiateMessage({ flags: ours.flags, version: { ...ours.version, build: 70000 } }), EncodeError);
    const b = Buffer.concat([encodeNegotiateMessage({ flags: 0x3000 }), Buffer.from('DOMWS', 'latin1')]);
    b.writeUInt16LE(3, 16); // DomainNameLen
    b.writeUInt32LE(32, 20); // DomainNameBufferOffset
    b.writeUInt16LE(2, 24); // WorkstationLen
    b.writeUInt32LE(35, 28); // WorkstationBufferOffset
    assert.deepEqual(decodeNegotiateMessage(b), { flags: 0x3000, domainName: 'DOM', workstation: 'WS' });
    b.writeUInt32LE(36, 28);
    b.writeUInt16LE(3, 24);
    throwsDecode(() => decodeNegotiateMessage(b), 'NotEnoughBytes', 'Workstation');
  });

  it('CHALLENGE: OEM target name, MsvAvFlags, channel bindings, SPN, unknown AvIds', () => {
    const info = Buffer.concat([
      av(AV_ID.MsvAvDnsTreeName, u16('corp.example')),
      av(AV_ID.MsvAvFlags, h('02000000')),
      av(AV_ID.MsvAvTargetName, u16('TERMSRV/host')),
      av(AV_ID.MsvAvChannelBindings, Buffer.alloc(16, 0xab)),
      av(0x0b, h('beef')),
      av(AV_ID.MsvAvDnsTreeName, u16('second')),
      EOL,
    ]);
    const c = decodeChallengeMessage(challenge({ flags: 0x00800002, targetName: Buffer.from('SRV', 'latin1'), targetInfo: info }));
    assert.equal(c.targetName, 'SRV');
    assert.equal(c.version, undefined);
    assert.equal(hex(c.serverChallenge), '0102030405060708');
    const ti = c.targetInfo!;
    assert.equal(ti.dnsTreeName, 'corp.example'); // the first of a repeated AvId
    assert.equal(ti.flags, 2);
    assert.equal(ti.targetName, 'TERMSRV/host');
    assert.equal(hex(ti.channelBindings!), 'ab'.repeat(16));
    assert.deepEqual(ti.pairs.map((p) => p.name), [
      'MsvAvDnsTreeName',
      'MsvAvFlags',
      'MsvAvTargetName',
      'MsvAvChannelBindings',
      'AvId_0x000b',
      'MsvAvDnsTreeName',
    ]);
    const withVersion = decodeChallengeMessage(challenge({ flags: NTLMSSP_NEGOTIATE_VERSION | 1, targetName: u16('VM'), version: true }));
    assert.deepEqual(withVersion.version, { major: 10, minor: 0, build: 19041, ntlmRevision: 15 });
    assert.equal(withVersion.targetInfo, undefined);
  });

  it('FILETIME to Date', () => {
    assert.equal(filetimeToDate(116444736000000000n).getTime(), 0);
    assert.equal(filetimeToDate(0n).toISOString(), '1601-01-01T00:00:00.000Z');
    assert.ok(!Number.isNaN(filetimeToDate(0xffffffffffffffffn).getTime()));
  });

  it('hostile offsets and lengths are DecodeErrors', () => {
    const good = challenge({ flags: 1, targetName: u16('VM'), targetInfo: Buffer.concat([av(1, u16('VM')), EOL]) });
    decodeChallengeMessage(good);
    const mutate = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    throwsDecode(() => decodeChallengeMessage(mutate((b) => b.writeUInt32LE(0xffffffff, 44))), 'NotEnoughBytes', 'TargetInfo');
    throwsDecode(() => decodeChallengeMessage(mutate((b) => b.writeUInt16LE(0xffff, 40))), 'NotEnoughBytes', 'TargetInfo');
    throwsDecode(() => decodeChallengeMessage(mutate((b) => b.writeUInt32LE(0xfffffffe, 16))), 'NotEnoughBytes', 'TargetName');
    throwsDecode(() => decodeChallengeMessage(mutate((b) => b.writeUInt32LE(0, 16))), 'InvalidField', 'TargetNameBufferOffset');
    throwsDecode(() => decodeChallengeMessage(mutate((b) => b.writeUInt32LE(47, 44))), 'InvalidField', 'TargetInfoBufferOffset');
    // VERSION set: the fixed part grows to 56 bytes, so TargetName at 48 now points into it
    throwsDecode(() => decodeChallengeMessage(mutate((b) => b.writeUInt32LE(1 | NTLMSSP_NEGOTIATE_VERSION, 20))), 'InvalidField', 'TargetNameBufferOffset');
    throwsDecode(() => decodeChallengeMessage(mutate((b) => b.writeUInt16LE(3, 12))), 'InvalidField', 'TargetName'); // odd UTF-16
    throwsDecode(() => decodeChallengeMessage(mutate((b) => b.writeUInt32LE(1, 8))), 'UnexpectedType', 'MessageType');
    throwsDecode(() => decodeChallengeMessage(mutate((b) => (b[0] = 0x6e))), 'InvalidField', 'Signature');
    throwsDecode(() => decodeChallengeMessage(good.subarray(0, 47)), 'NotEnoughBytes');
    // empty fields may point anywhere
    decodeChallengeMessage(mutate((b) => (b.writeUInt16LE(0, 12), b.writeUInt32LE(0xffffffff, 16))));
  });

  it('AV_PAIR lists must end with an empty MsvAvEOL and nothing after it', () => {
    throwsDecode(() => decodeTargetInfo(av(1, u16('VM'))), 'InvalidField', 'AvId');
    throwsDecode(() => decodeTargetInfo(Buffer.concat([av(1, u16('VM')), av(0, h('00'))])), 'InvalidField', 'AvLen');
    throwsDecode(() => decodeTargetInfo(Buffer.concat([EOL, h('00')])), 'TrailingBytes');
    throwsDecode(() => decodeTargetInfo(Buffer.concat([av(AV_ID.MsvAvTimestamp, h('0001')), EOL])), 'InvalidField', 'MsvAvTimestamp');
    throwsDecode(() => decodeTargetInfo(Buffer.concat([av(AV_ID.MsvAvFlags, h('00')), EOL])), 'InvalidField', 'MsvAvFlags');
    throwsDecode(() => decodeTargetInfo(Buffer.concat([av(1, h('414243')), EOL])), 'InvalidField', 'MsvAvNbComputerName');
    throwsDecode(() => decodeTargetInfo(h('0100ff00')), 'NotEnoughBytes', 'MsvAvNbComputerName');
    throwsDecode(() => decodeTargetInfo(h('01')), 'NotEnoughBytes', 'AvId');
    assert.deepEqual(decodeTargetInfo(EOL), { pairs: [] });
  });

  it('flag names: spec names, reserved bits in hex', () => {
    assert.deepEqual(ntlmFlagNames(0), []);
    assert.deepEqual(ntlmFlagNames(0x80000002), ['NTLM_NEGOTIATE_OEM', 'NTLMSSP_NEGOTIATE_56']);
    assert.deepEqual(ntlmFlagNames(0x10000008 | NTLMSSP_NEGOTIATE_UNICODE), ['NTLMSSP_NEGOTIATE_UNICODE', '0x10000008']);
  });
});

// ---------------------------------------------------------------------------------------------
// fuzzing: only DecodeError, ever

describe('fuzz', () => {
  const captured = allCaptured();
  const challengeTok = firstToken('shadow-nla--nmap-rdp-ntlm-info', 's2c');

  it('decodeTsRequest: random bytes, with and without a SEQUENCE tag', () => {
    fuzzRandom(decodeTsRequest);
    fuzzRandom(decodeTsRequest, h('30'));
    fuzzRandom(decodeTsRequest, h('3081'));
    fuzzRandom(decodeTsRequest, h('3040a003020106'));
  });

  it('decodeTsRequest: random DER trees, changed and cut', () => {
    fuzzDerTrees(decodeTsRequest);
  });

  it('decodeTsRequest: every truncation of every captured TSRequest fails', () => {
    for (const { bytes } of captured) fuzzTruncations(bytes, decodeTsRequest, true);
  });

  it('decodeTsRequest: mutations of captured TSRequests', () => {
    fuzzMutations(tsRequests('shadow-nla--xfreerdp-ok', 'c2s').frames[1]!, decodeTsRequest);
    fuzzMutations(tsRequests('shadow-nla--impacket-rdp_check-ok', 's2c').frames[0]!, decodeTsRequest);
  });

  it('decodeChallengeMessage: random, truncated and mutated', () => {
    fuzzRandom(decodeChallengeMessage, h('4e544c4d53535000 02000000'));
    fuzzRandom(decodeChallengeMessage, Uint8Array.from(challengeTok.subarray(0, 48)));
    fuzzTruncations(challengeTok, decodeChallengeMessage, true);
    fuzzMutations(challengeTok, decodeChallengeMessage);
  });

  it('decodeNegotiateMessage and decodeTargetInfo: random and mutated', () => {
    fuzzRandom(decodeNegotiateMessage, h('4e544c4d53535000 01000000'));
    fuzzMutations(firstToken('shadow-nla--xfreerdp-ok', 'c2s'), decodeNegotiateMessage);
    fuzzRandom(decodeTargetInfo);
  });

  it('TSREQUEST_HINT.findSize: null, a size within bounds, or a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.boolean(), (b, tag) => {
        const bytes = tag && b.length ? Uint8Array.from([0x30, ...b.subarray(1)]) : b;
        decodesOrDecodeError(() => {
          const size = TSREQUEST_HINT.findSize(bytes);
          if (size !== null) assert.ok(Number.isInteger(size) && size >= 7 && size <= TSREQUEST_MAX_SIZE, `size ${size}`);
        });
      }),
      { numRuns: RUNS * 5 },
    );
    for (const { bytes } of captured) fuzzTruncations(bytes, (b) => TSREQUEST_HINT.findSize(b), false);
  });
});
