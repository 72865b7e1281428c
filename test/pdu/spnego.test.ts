/**
 * SPNEGO (RFC 4178) tokens: published vectors, the negoTokens of the real captures, hostile
 * input and fuzzing.
 *
 * Vectors from public sources (bytes copied as published):
 * - pyspnego (jborean93/pyspnego, tests/test_spnego.py): test_pack_mech_type_list,
 *   test_pack_neg_token_init, test_pack_neg_token_init2, test_pack_neg_token_resp;
 * - a Windows-era NegTokenResp carrying an NTLM CHALLENGE_MESSAGE, "test data from a real SPNEGO
 *   NegTokenResp message" (TheManticoreProject/Manticore, network/smb/smb_v10/spnego/spnego_test.go);
 * - a server's NegTokenInit2 (negHints "not_defined_in_RFC4178@please_ignore"), the security
 *   buffer of the SMB2 NEGOTIATE response in emc-isilon/pike's README.md.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EncodeError } from '../../src/pdu/errors.js';
import { decodeTsRequest, TSREQUEST_HINT } from '../../src/pdu/credssp.js';
import {
  CONTEXT_FLAG_CONF,
  CONTEXT_FLAG_DELEG,
  CONTEXT_FLAG_INTEG,
  CONTEXT_FLAG_MUTUAL,
  KERBEROS_OID,
  MS_KERBEROS_OID,
  NEG_STATE_ACCEPT_INCOMPLETE,
  NEG_STATE_REQUEST_MIC,
  NTLMSSP_OID,
  SPNEGO_OID,
  classifyNegoToken,
  decodeNegTokenInit,
  decodeNegTokenResp,
  decodeNegotiationToken,
  encodeMechTypeList,
  encodeNegTokenInit,
  encodeNegTokenResp,
  type NegTokenInit,
  type NegTokenResp,
} from '../../src/pdu/spnego.js';
import { frames, loadCapture, streamBytes } from '../fixtures/pcaps.js';
import { fuzzMutations, fuzzRandom, fuzzTruncations, hex, RUNS, throwsDecode } from './fuzz-helpers.js';
import { fuzzDerTrees, tlv } from './der-fuzz.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// pyspnego tests/test_spnego.py
const PYSPNEGO_MECH_LIST = h('3017 06092a864886f712010202 060a2b06010401823702020a');
const PYSPNEGO_INIT = h(`603d 06062b0601050502 a033 3031 a019 3017 06092a864886f712010202 060a2b06010401823702020a
  a104 03020004 a206 040400000000 a306 040401010101`);
const PYSPNEGO_INIT2 = h(`6070 06062b0601050502 a066 3064 a019 3017 06092a864886f712010202 060a2b06010401823702020a
  a104 03020004 a206 040400000000 a331 302f a005 1b03 73706e a126 0424 6e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265
  a406 040401010101`);
const PYSPNEGO_RESP = h('a125 3023 a003 0a0103 a10c 060a2b06010401823702020a a206 040400000000 a306 040401010101');
// TheManticoreProject/Manticore network/smb/smb_v10/spnego/spnego_test.go
const MANTICORE_RESP = h(`a181e83081e5a0030a0101a10c060a2b06010401823702020aa281cf0481cc4e544c4d5353500002000000180018003800000005828aa2cfa9315d6d0bc75200000000000000007c007c00500000000501280a0000000f5400480049004e004b005000410044002d00580036003100020018005400480049004e004b005000410044002d00580036003100010018005400480049004e004b005000410044002d00580036003100040018007400680069006e006b007000610064002d00780036003100030018007400680069006e006b007000610064002d00780036003100060004000100000000000000`);
// emc-isilon/pike README.md, SMB2 NEGOTIATE response security buffer (offset 0x80, 0x55 bytes)
const PIKE_INIT2 = h(`605306062b0601050502a0493047a019301706092a864886f712010202060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265`);

/** pyspnego writes reqFlags as 03 02 00 04; DER for a named bit list trims the trailing zero bits. */
const derReqFlags = (b: Buffer): string => hex(b).replace('a10403020004', 'a10403020204');

describe('SPNEGO: published vectors', () => {
  it('MechTypeList: the DER mechListMIC is computed over', () => {
    assert.equal(hex(encodeMechTypeList([KERBEROS_OID, NTLMSSP_OID])), hex(PYSPNEGO_MECH_LIST));
    assert.equal(hex(encodeMechTypeList([KERBEROS_OID])), '300b06092a864886f712010202');
  });

  it('NegTokenInit (pyspnego): every field; reqFlags 03 02 00 04 is bit 5, confFlag', () => {
    const t = decodeNegTokenInit(PYSPNEGO_INIT);
    assert.deepEqual(t.mechTypes, [KERBEROS_OID, NTLMSSP_OID]);
    assert.equal(t.reqFlags, CONTEXT_FLAG_CONF);
    assert.equal(hex(t.mechToken!), '00000000');
    assert.equal(hex(t.mechListMIC!), '01010101');
    assert.equal(t.negHints, undefined);
    assert.equal(hex(t.mechTypeListBytes!), hex(PYSPNEGO_MECH_LIST));
    assert.equal(hex(encodeNegTokenInit(t)), derReqFlags(PYSPNEGO_INIT));
  });

  it('NegTokenInit2 (pyspnego): negHints in [3] moves mechListMIC to [4]', () => {
    const t = decodeNegTokenInit(PYSPNEGO_INIT2);
    assert.equal(t.negHints!.hintName, 'spn');
    assert.equal(Buffer.from(t.negHints!.hintAddress!).toString('latin1'), 'not_defined_in_RFC4178@please_ignore');
    assert.equal(hex(t.mechListMIC!), '01010101');
    assert.equal(hex(encodeNegTokenInit(t)), derReqFlags(PYSPNEGO_INIT2));
  });

  it('NegTokenResp (pyspnego): request-mic, NTLM, round-trips byte for byte', () => {
    const t = decodeNegTokenResp(PYSPNEGO_RESP);
    assert.deepEqual({ ...t, responseToken: hex(t.responseToken!), mechListMIC: hex(t.mechListMIC!) }, {
      negState: NEG_STATE_REQUEST_MIC,
      supportedMech: NTLMSSP_OID,
      responseToken: '00000000',
      mechListMIC: '01010101',
    });
    assert.equal(hex(encodeNegTokenResp(t)), hex(PYSPNEGO_RESP));
  });

  it('a real NegTokenResp (Manticore): accept-incomplete, NTLM, a CHALLENGE_MESSAGE; byte for byte', () => {
    const t = decodeNegTokenResp(MANTICORE_RESP);
    assert.equal(t.negState, NEG_STATE_ACCEPT_INCOMPLETE);
    assert.equal(t.supportedMech, NTLMSSP_OID);
    assert.equal(t.responseToken!.length, 0xcc);
    assert.equal(classifyNegoToken(t.responseToken!), 'ntlm');
    assert.equal(hex(t.responseToken!.subarray(8, 12)), '02000000'); // MessageType CHALLENGE
    assert.equal(t.mechListMIC, undefined);
    assert.equal(hex(encodeNegTokenResp(t)), hex(MANTICORE_RESP));
    assert.deepEqual(Object.keys(decodeNegotiationToken(MANTICORE_RESP)), ['resp']);
  });

  it("a real server NegTokenInit2 (pike): Kerberos and NTLM, Windows' hint name; byte for byte", () => {
    const t = decodeNegTokenInit(PIKE_INIT2);
    assert.deepEqual(t.mechTypes, [KERBEROS_OID, NTLMSSP_OID]);
    assert.deepEqual(t.negHints, { hintName: 'not_defined_in_RFC4178@please_ignore' });
    assert.equal(t.mechToken, undefined);
    assert.equal(hex(encodeNegTokenInit(t)), hex(PIKE_INIT2));
    assert.equal(classifyNegoToken(PIKE_INIT2), 'spnego-init');
  });
});

describe('SPNEGO: encoding', () => {
  it('round-trips what CredSSP clients send: NTLM first, a NEGOTIATE_MESSAGE as mechToken', () => {
    const v: NegTokenInit = { mechTypes: [NTLMSSP_OID], mechToken: h('4e544c4d5353500001000000b78208e2') };
    const bytes = encodeNegTokenInit(v);
    assert.equal(bytes[0], 0x60);
    assert.equal(bytes[1], bytes.length - 2);
    assert.equal(hex(bytes.subarray(2, 11)), '06062b0601050502a0');
    const back = decodeNegTokenInit(bytes);
    assert.deepEqual(back.mechTypes, [NTLMSSP_OID]);
    assert.equal(hex(back.mechToken!), hex(v.mechToken!));
    assert.equal(classifyNegoToken(bytes), 'spnego-init');
  });

  it('reqFlags: a DER named bit list, bit n of the BIT STRING is 1 << n', () => {
    const flags = (f: number): string => hex(encodeNegTokenInit({ mechTypes: [NTLMSSP_OID], reqFlags: f })).slice(-12);
    assert.equal(flags(0).slice(-6), '030100');
    assert.equal(flags(CONTEXT_FLAG_CONF), 'a10403020204');
    assert.equal(flags(CONTEXT_FLAG_DELEG | CONTEXT_FLAG_MUTUAL | CONTEXT_FLAG_INTEG), 'a104030201c2');
    for (const f of [0, 1, 0x7f, 0x80, 0x8000, 0x80000000, 0xffffffff]) {
      assert.equal(decodeNegTokenInit(encodeNegTokenInit({ mechTypes: [], reqFlags: f })).reqFlags, f);
    }
    assert.throws(() => encodeNegTokenInit({ mechTypes: [], reqFlags: -1 }), EncodeError);
  });

  it('an empty NegTokenResp, and a reject', () => {
    assert.equal(hex(encodeNegTokenResp({})), 'a1023000');
    assert.deepEqual(decodeNegTokenResp(h('a1073005a0030a0102')), { negState: 2 });
    assert.throws(() => encodeNegTokenResp({ negState: 4 }), EncodeError);
  });

  it('refuses OIDs that are not dotted object identifiers', () => {
    for (const bad of ['', '1', '3.1', '1.40', '1.2.', '1..2', '1.2.a', '1.02']) {
      assert.throws(() => encodeMechTypeList([bad]), EncodeError, bad);
    }
    assert.equal(hex(encodeMechTypeList(['2.999'])), '3004 0602 8837'.replace(/ /g, ''));
  });

  it('round-trips arbitrary tokens (property)', () => {
    const oid = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.nat({ max: 2 ** 40 }), { maxLength: 5 })).map(([a, b, rest]) => [a, b, ...rest].join('.'));
    const bytes = fc.uint8Array({ maxLength: 200 });
    const init = fc.record({ mechTypes: fc.array(oid, { maxLength: 4 }), reqFlags: fc.nat({ max: 0xffffffff }), mechToken: bytes, mechListMIC: bytes }, { requiredKeys: ['mechTypes'] });
    const resp = fc.record({ negState: fc.integer({ min: 0, max: 3 }), supportedMech: oid, responseToken: bytes, mechListMIC: bytes }, { requiredKeys: [] });
    fc.assert(
      fc.property(init, resp, (i, r) => {
        const ib = encodeNegTokenInit(i as NegTokenInit);
        const back = decodeNegTokenInit(ib);
        assert.deepEqual(back.mechTypes, i.mechTypes);
        assert.equal(back.reqFlags, i.reqFlags);
        assert.equal(hex(encodeNegTokenInit(back)), hex(ib));
        const rb = encodeNegTokenResp(r as NegTokenResp);
        assert.equal(hex(encodeNegTokenResp(decodeNegTokenResp(rb))), hex(rb));
      }),
      { numRuns: RUNS / 4 },
    );
  });
});

describe('classifyNegoToken', () => {
  it('the captured negoTokens are raw NTLM (FreeRDP, nmap, impacket)', () => {
    for (const name of ['shadow-nla--xfreerdp-ok', 'shadow-nla--nmap-rdp-ntlm-info', 'shadow-nla--impacket-rdp_check-ok']) {
      const conn = loadCapture(name).connections.find((c) => c.tls.length > 0)!;
      for (const dir of ['c2s', 's2c'] as const) {
        for (const f of frames(streamBytes(conn, dir, 'tls'), TSREQUEST_HINT).frames) {
          for (const t of decodeTsRequest(f).negoTokens ?? []) assert.equal(classifyNegoToken(t), 'ntlm', `${name} ${dir}`);
        }
      }
    }
  });

  it('SPNEGO by first octet and OID; everything else is unknown', () => {
    assert.equal(classifyNegoToken(PYSPNEGO_INIT), 'spnego-init');
    assert.equal(classifyNegoToken(PYSPNEGO_RESP), 'spnego-resp');
    assert.equal(classifyNegoToken(h('6082ffff 06062b0601050502')), 'spnego-init');
    assert.equal(classifyNegoToken(h('6010 06092a864886f712010202 0100')), 'unknown'); // a raw Kerberos AP-REQ token
    assert.equal(classifyNegoToken(h('4e544c4d535350')), 'unknown'); // 7 bytes of the signature
    assert.equal(classifyNegoToken(h('')), 'unknown');
    assert.equal(classifyNegoToken(h('60')), 'unknown');
  });
});

describe('SPNEGO: hostile input', () => {
  it('an InitialContextToken for another mechanism, or without its inner token', () => {
    throwsDecode(() => decodeNegTokenInit(h('600d 06092a864886f712010202 0100')), 'UnexpectedType', 'thisMech');
    throwsDecode(() => decodeNegTokenInit(h('6008 06062b0601050502')), 'InvalidField', 'negTokenInit');
    throwsDecode(() => decodeNegTokenInit(h('600c 06062b0601050502 a1023000')), 'UnexpectedType', 'negTokenInit');
    throwsDecode(() => decodeNegTokenInit(h('a1023000')), 'UnexpectedType', 'InitialContextToken');
    throwsDecode(() => decodeNegTokenInit(h('600c 06062b0601050502 a0023000')), 'InvalidField', 'mechTypes');
  });

  it('malformed fields name themselves', () => {
    const init = (body: string): Buffer => Buffer.from(tlv(0x60, Buffer.concat([h('06062b0601050502'), tlv(0xa0, tlv(0x30, h(body)))])));
    throwsDecode(() => decodeNegTokenInit(init('a004 3002 0600')), 'InvalidField', 'mechTypes[0]'); // empty OID
    const cut = throwsDecode(() => decodeNegTokenInit(init('a005 3003 060180')), 'NotEnoughBytes', 'mechTypes'); // asn1js: incomplete arc
    assert.equal(cut.root().offset, 18);
    throwsDecode(() => decodeNegTokenInit(init('a006 3004 06028001')), 'InvalidField', 'mechTypes[0]'); // not minimal
    throwsDecode(() => decodeNegTokenInit(init('a00d 300b 0609 2affffffffffffff7f')), 'UnsupportedValue', 'mechTypes[0]');
    throwsDecode(() => decodeNegTokenInit(init('a0023000 a103 030107')), 'InvalidField', 'reqFlags'); // unused bits, no octets
    throwsDecode(() => decodeNegTokenInit(init('a0023000 a104 03020101')), 'InvalidField', 'reqFlags'); // unused bit set
    throwsDecode(() => decodeNegTokenInit(init('a0023000 a108 0306000000000001')), 'UnsupportedValue', 'reqFlags');
    throwsDecode(() => decodeNegTokenInit(init('a0023000 a3020400 a4020400')), 'InvalidField', 'mechListMIC');
    throwsDecode(() => decodeNegTokenInit(init('a0023000 a2023000')), 'UnexpectedType', 'mechToken');
    throwsDecode(() => decodeNegTokenResp(h('a1073005a0030a0104')), 'InvalidField', 'negState');
    throwsDecode(() => decodeNegTokenResp(h('a1073005a003020101')), 'UnexpectedType', 'negState'); // INTEGER, not ENUMERATED
    throwsDecode(() => decodeNegTokenResp(h('a10c300aa0030a0100a0030a0100')), 'InvalidField', 'negState'); // repeated
    throwsDecode(() => decodeNegTokenResp(h('a1093007a0030a01000000')), 'InvalidField'); // end-of-contents octets
    throwsDecode(() => decodeNegTokenResp(h('a1023000 00')), 'TrailingBytes');
  });

  it('skips context fields after the last one defined (the ... extension marker)', () => {
    assert.deepEqual(decodeNegTokenResp(h('a10b3009a0030a0100a5020500')), { negState: 0 });
  });

  it('deep nesting is a DecodeError, not a stack overflow', () => {
    const deep = new Uint8Array(64 * 1024);
    for (let i = 0; i < deep.length; i += 2) deep.set([0xa1, 0x80], i);
    throwsDecode(() => decodeNegTokenResp(deep), 'UnsupportedValue');
    throwsDecode(() => decodeNegTokenInit(deep), 'UnsupportedValue');
  });
});

describe('fuzz: SPNEGO decoders raise only DecodeError', () => {
  it('random bytes and random DER trees', () => {
    fuzzRandom(decodeNegTokenInit, h('6040 06062b0601050502 a036'), 200);
    fuzzRandom(decodeNegTokenResp, h('a140 303e'), 200);
    fuzzDerTrees(decodeNegTokenInit, [0x60]);
    fuzzDerTrees(decodeNegTokenResp, [0xa1]);
  });

  it('truncations of every vector fail, mutations only raise DecodeError', () => {
    for (const v of [PYSPNEGO_INIT, PYSPNEGO_INIT2, PIKE_INIT2]) {
      fuzzTruncations(v, decodeNegTokenInit, true);
      fuzzMutations(v, decodeNegTokenInit);
    }
    for (const v of [PYSPNEGO_RESP, MANTICORE_RESP]) {
      fuzzTruncations(v, decodeNegTokenResp, true);
      fuzzMutations(v, decodeNegTokenResp);
    }
  });

  it('classifyNegoToken never throws', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 20 }), (b) => void classifyNegoToken(b)), { numRuns: RUNS });
    assert.equal(SPNEGO_OID, '1.3.6.1.5.5.2');
    assert.equal(MS_KERBEROS_OID, '1.2.840.48018.1.2.2');
  });
});
