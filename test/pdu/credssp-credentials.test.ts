/**
 * TSCredentials and what it carries (MS-CSSP 2.2.1.2): password, smart card and Remote
 * Credential Guard credentials, restricted admin's empty ones, strictness and fuzzing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EncodeError } from '../../src/pdu/errors.js';
import {
  CRED_TYPE_PASSWORD,
  CRED_TYPE_REMOTE_GUARD,
  CRED_TYPE_SMARTCARD,
  decodeTsCredentials,
  decodeTsPasswordCreds,
  decodeTsRemoteGuardCreds,
  decodeTsSmartCardCreds,
  encodePasswordCredentials,
  encodeRestrictedAdminCredentials,
  encodeTsCredentials,
  encodeTsPasswordCreds,
  encodeTsRemoteGuardCreds,
  encodeTsSmartCardCreds,
  isRestrictedAdminCredentials,
  type TsRemoteGuardCreds,
  type TsSmartCardCreds,
} from '../../src/pdu/credssp-credentials.js';
import { fuzzMutations, fuzzRandom, fuzzTruncations, hex, RUNS, throwsDecode } from './fuzz-helpers.js';
import { fuzzDerTrees, tlv } from './der-fuzz.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
/** [n] { OCTET STRING value } */
const field = (n: number, value: Uint8Array): Uint8Array => tlv(0xa0 + n, tlv(0x04, value));
const seq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, Buffer.concat(parts));

describe('restricted admin (MS-RDPBCGR 2.2.1.1.1, MS-CSSP 3.1.5)', () => {
  it('encodes three empty OCTET STRINGs inside credType 1, as FreeRDP does', () => {
    const bytes = encodeRestrictedAdminCredentials();
    assert.equal(hex(bytes), '3017a003020101a110040e300ca0020400a1020400a2020400');
    const creds = decodeTsCredentials(bytes);
    assert.equal(creds.credType, CRED_TYPE_PASSWORD);
    assert.deepEqual(decodeTsPasswordCreds(creds.credentials), { domainName: '', userName: '', password: new Uint8Array(0) });
    assert.equal(isRestrictedAdminCredentials(creds), true);
  });

  it('an empty TSPasswordCreds SEQUENCE (FreeRDP without an identity) is the same thing', () => {
    const empty = decodeTsPasswordCreds(h('3000'));
    assert.equal(isRestrictedAdminCredentials(empty), true);
    assert.equal(hex(encodeTsPasswordCreds(empty)), '300ca0020400a1020400a2020400');
  });

  it('anything with a name or a password, or another credType, is not restricted admin', () => {
    assert.equal(isRestrictedAdminCredentials({ domainName: '', userName: 'u', password: new Uint8Array(0) }), false);
    assert.equal(isRestrictedAdminCredentials({ domainName: '', userName: '', password: u16('x') }), false);
    assert.equal(isRestrictedAdminCredentials({ credType: CRED_TYPE_SMARTCARD, credentials: h('3000') }), false);
    const partial = seq(field(0, new Uint8Array(0)));
    throwsDecode(() => decodeTsPasswordCreds(partial), 'InvalidField', 'password'); // only the fully empty SEQUENCE is lenient
  });
});

describe('TSPasswordCreds', () => {
  const creds = { domainName: 'domain name', userName: 'username', password: u16('password') };
  const inner = seq(field(0, u16('domain name')), field(1, u16('username')), field(2, u16('password')));

  it('encodes UTF-16LE strings in field order, inside a TSCredentials of type 1', () => {
    assert.equal(hex(encodeTsPasswordCreds(creds)), hex(inner));
    const outer = encodePasswordCredentials(creds);
    assert.equal(hex(outer), hex(seq(tlv(0xa0, h('020101')), field(1, inner))));
    assert.equal(hex(outer.subarray(0, 11)), '304da003020101a1460444');
    assert.equal(hex(encodeTsCredentials({ credType: 1, credentials: inner })), hex(outer));
  });

  it('decodes to strings and a password that is a view into the input (zeroing it zeroes the input)', () => {
    const outer = encodePasswordCredentials(creds);
    const p = decodeTsPasswordCreds(decodeTsCredentials(outer).credentials);
    assert.equal(p.domainName, 'domain name');
    assert.equal(p.userName, 'username');
    assert.equal(Buffer.from(p.password).toString('utf16le'), 'password');
    p.password.fill(0);
    assert.equal(outer.includes(u16('password')), false);
    assert.equal(hex(outer.subarray(outer.length - 16)), '00'.repeat(16));
  });

  it('non-ASCII names and passwords round-trip', () => {
    const v = { domainName: 'ÉCOLE', userName: 'Pénélope', password: u16('mot de passe ✓ 𝄞') };
    const back = decodeTsPasswordCreds(encodeTsPasswordCreds(v));
    assert.deepEqual({ ...back, password: hex(back.password) }, { ...v, password: hex(v.password) });
  });

  it('rejects what the layout forbids', () => {
    throwsDecode(() => decodeTsPasswordCreds(seq(field(0, u16('d')), field(1, h('41')), field(2, u16('p')))), 'InvalidField', 'userName');
    throwsDecode(() => decodeTsPasswordCreds(seq(field(0, u16('d')), field(1, u16('u')), field(2, h('41')))), 'InvalidField', 'password');
    throwsDecode(() => decodeTsPasswordCreds(seq(field(1, u16('u')), field(0, u16('d')), field(2, u16('p')))), 'InvalidField', 'domainName');
    throwsDecode(() => decodeTsPasswordCreds(seq(field(0, u16('d')), field(2, u16('p')))), 'InvalidField', 'userName');
    throwsDecode(() => decodeTsPasswordCreds(seq(field(0, u16('d')), field(1, u16('u')), field(2, u16('p')), field(3, u16('x')))), 'UnexpectedType', '[3]');
    throwsDecode(() => decodeTsPasswordCreds(Buffer.concat([inner, h('00')])), 'TrailingBytes');
    throwsDecode(() => decodeTsPasswordCreds(h('3080 0000')), 'UnsupportedValue');
    assert.throws(() => encodeTsPasswordCreds({ domainName: '', userName: '', password: h('41') }), EncodeError);
  });
});

describe('TSCredentials', () => {
  it('credType must be 1, 2 or 6', () => {
    for (const t of [CRED_TYPE_PASSWORD, CRED_TYPE_SMARTCARD, CRED_TYPE_REMOTE_GUARD]) {
      assert.equal(decodeTsCredentials(encodeTsCredentials({ credType: t, credentials: h('3000') })).credType, t);
    }
    throwsDecode(() => decodeTsCredentials(seq(tlv(0xa0, h('020103')), field(1, h('3000')))), 'InvalidField', 'credType');
    throwsDecode(() => decodeTsCredentials(seq(tlv(0xa0, h('02020001')), field(1, h('3000')))), 'InvalidField', 'credType');
    throwsDecode(() => decodeTsCredentials(seq(tlv(0xa0, h('020101')))), 'InvalidField', 'credentials');
    assert.throws(() => encodeTsCredentials({ credType: 3, credentials: h('3000') }), EncodeError);
  });
});

describe('TSSmartCardCreds (MS-CSSP 2.2.1.2.2)', () => {
  // the values of MS-CSSP's smart card example, as pyspnego's tests use them
  const full: TsSmartCardCreds = {
    pin: u16('bbbbbbbbbbbb'),
    cspData: {
      keySpec: 1,
      cardName: 'Card Name',
      readerName: 'OMNIKEY CardMan 3x21 0',
      containerName: 'le-MSSmartcardUser-8bda019f-1266--53268',
      cspName: 'Microsoft Base Smart Card Crypto Provider',
    },
    userHint: 'user_hint',
    domainHint: 'domain_hint',
  };

  it('round-trips with every field, and with the optional ones left out', () => {
    const bytes = encodeTsSmartCardCreds(full);
    const back = decodeTsSmartCardCreds(bytes);
    assert.deepEqual({ ...back, pin: hex(back.pin) }, { ...full, pin: hex(full.pin) });
    assert.equal(hex(encodeTsSmartCardCreds(back)), hex(bytes));
    const min: TsSmartCardCreds = { pin: u16('1234'), cspData: { keySpec: 2, readerName: 'R' } };
    const minBytes = encodeTsSmartCardCreds(min);
    assert.equal(hex(minBytes), hex(seq(field(0, u16('1234')), tlv(0xa1, seq(tlv(0xa0, h('020102')), field(2, u16('R')))))));
    const m = decodeTsSmartCardCreds(minBytes);
    assert.deepEqual({ ...m, pin: hex(m.pin) }, { ...min, pin: hex(min.pin) });
  });

  it('inside a TSCredentials of type 2', () => {
    const outer = encodeTsCredentials({ credType: CRED_TYPE_SMARTCARD, credentials: encodeTsSmartCardCreds(full) });
    assert.equal(decodeTsSmartCardCreds(decodeTsCredentials(outer).credentials).cspData.cspName, full.cspData.cspName);
  });

  it('cspData is required and strict', () => {
    throwsDecode(() => decodeTsSmartCardCreds(seq(field(0, u16('1')))), 'InvalidField', 'cspData');
    throwsDecode(() => decodeTsSmartCardCreds(seq(field(0, u16('1')), tlv(0xa1, seq(field(1, u16('c')))))), 'InvalidField', 'cspData.keySpec');
    throwsDecode(() => decodeTsSmartCardCreds(seq(field(0, u16('1')), tlv(0xa1, seq(tlv(0xa0, h('020101')), field(2, h('41')))))), 'InvalidField', 'cspData.readerName');
    throwsDecode(() => decodeTsSmartCardCreds(seq(field(0, u16('1')), field(1, h('00')))), 'UnexpectedType', 'cspData');
  });
});

describe('TSRemoteGuardCreds (MS-CSSP 2.2.1.2.3)', () => {
  it('round-trips package names and raw buffers, with none, no and several supplemental creds', () => {
    // the sizes of Microsoft's 2018 interop example, as pyspnego's tests use them
    const cases: TsRemoteGuardCreds[] = [
      { logonCred: { packageName: 'Kerberos', credBuffer: Buffer.alloc(2611, 0x11) }, supplementalCreds: [{ packageName: 'NTLM', credBuffer: Buffer.alloc(204, 0x22) }] },
      { logonCred: { packageName: 'Package 1', credBuffer: h('313233') } },
      { logonCred: { packageName: 'Package 1', credBuffer: h('313233') }, supplementalCreds: [] },
    ];
    for (const v of cases) {
      const bytes = encodeTsRemoteGuardCreds(v);
      const back = decodeTsRemoteGuardCreds(bytes);
      // Buffer.toJSON runs before a replacer sees the value: turn {type:'Buffer'} back into hex
      const norm = (x: TsRemoteGuardCreds): string =>
        JSON.stringify(x, (_k, val: unknown) => (val instanceof Uint8Array ? hex(val) : (val as { type?: string })?.type === 'Buffer' ? hex(Buffer.from((val as { data: number[] }).data)) : val));
      assert.equal(norm(back), norm(v));
      assert.equal(hex(encodeTsRemoteGuardCreds(back)), hex(bytes));
    }
    const small = encodeTsRemoteGuardCreds(cases[1]!);
    assert.equal(hex(small), hex(seq(tlv(0xa0, seq(field(0, u16('Package 1')), field(1, h('313233')))))));
  });

  it('rejects a logonCred without its credBuffer', () => {
    throwsDecode(() => decodeTsRemoteGuardCreds(seq(tlv(0xa0, seq(field(0, u16('NTLM')))))), 'InvalidField', 'logonCred.credBuffer');
    throwsDecode(() => decodeTsRemoteGuardCreds(seq(tlv(0xa1, h('3000')))), 'InvalidField', 'logonCred');
  });
});

describe('fuzz: credentials decoders raise only DecodeError', () => {
  const password = encodePasswordCredentials({ domainName: 'DOM', userName: 'user', password: u16('secret') });
  const smartcard = encodeTsSmartCardCreds({ pin: u16('1234'), cspData: { keySpec: 1, cardName: 'c', cspName: 'p' }, userHint: 'u' });
  const guard = encodeTsRemoteGuardCreds({ logonCred: { packageName: 'Kerberos', credBuffer: h('0102') }, supplementalCreds: [{ packageName: 'NTLM', credBuffer: h('03') }] });

  it('random bytes and random DER trees', () => {
    for (const decode of [decodeTsCredentials, decodeTsPasswordCreds, decodeTsSmartCardCreds, decodeTsRemoteGuardCreds]) {
      fuzzRandom(decode, h('30'), 200);
      fuzzDerTrees(decode);
    }
  });

  it('every truncation fails, mutations only raise DecodeError', () => {
    for (const [bytes, decode] of [
      [password, decodeTsCredentials],
      [decodeTsCredentials(password).credentials, decodeTsPasswordCreds],
      [smartcard, decodeTsSmartCardCreds],
      [guard, decodeTsRemoteGuardCreds],
    ] as const) {
      fuzzTruncations(bytes, decode, true);
      fuzzMutations(bytes, decode);
    }
  });

  it('arbitrary password credentials round-trip (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 60 }), (d, u, p) => {
        const v = { domainName: d, userName: u, password: u16(p) };
        const back = decodeTsPasswordCreds(decodeTsCredentials(encodePasswordCredentials(v)).credentials);
        assert.equal(back.domainName, Buffer.from(u16(d)).toString('utf16le'));
        assert.equal(back.userName, Buffer.from(u16(u)).toString('utf16le'));
        assert.equal(hex(back.password), hex(v.password));
      }),
      { numRuns: RUNS / 4 },
    );
  });
});
