/**
 * A Windows client's CredSSP / LSA registry export read as a client profile
 * (src/connector/client-reg.ts), and readClientInput telling the three forms apart
 * (src/connector/client-input.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ClientInputError, detectClientInputForm, readClientInput } from '../../src/connector/client-input.js';
import { checkProfile, clientProfile, connectorConfigFor } from '../../src/connector/client-profiles.js';
import { readClientReg } from '../../src/connector/client-reg.js';
import { PolicyError } from '../../src/policy/errors.js';
import { encodeRegUtf16 } from '../../src/policy/reg-file.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/clients/', import.meta.url));
const fixture = (name: string): Buffer => readFileSync(`${FIXTURES}${name}`);
const CREDS = { user: 'alice', domain: '', ntHash: Buffer.from('10b2f1961375b20126508c2267862bf0', 'hex'), password: new Uint8Array(Buffer.from('S3cret!', 'utf16le')) };
const HEADER = 'Windows Registry Editor Version 5.00\n\n';
const CREDSSP_KEY = '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\CredSSP\\Parameters]\n';

describe('client .reg exports', () => {
  it('AllowEncryptionOracle=2 makes the client the catalogue mstsc-win10-aeo2; LmCompatibilityLevel 2 is noted, not modelled', () => {
    const r = readClientReg(fixture('client-aeo2.reg'), { file: 'client-aeo2.reg' });
    assert.equal(r.allowEncryptionOracle, 2);
    checkProfile(r.profile);
    assert.deepEqual(connectorConfigFor(r.profile, { credentials: CREDS }), connectorConfigFor(clientProfile('mstsc-win10-aeo2'), { credentials: CREDS }));
    assert.equal(r.lmCompatibilityLevel, 2);
    const lm = r.notes.find((n) => n.setting.endsWith('LmCompatibilityLevel'));
    assert.equal(lm?.modelled, false);
    assert.match(lm?.effect ?? '', /NTLMv1/);
    assert.match(r.profile.notModelled ?? '', /LmCompatibilityLevel 2/);
    assert.deepEqual(r.xpCredsspProvider, { tspkg: false });
    assert.equal(r.ignored.find((i) => i.setting.endsWith('NoLmHash'))?.reason, 'not a client CredSSP setting we read');
  });

  it('XP SP3 with CredSSP turned on (KB951608): both halves recorded, ControlSet001 read as CurrentControlSet', () => {
    const r = readClientReg(fixture('xp-sp3-credssp.reg'));
    assert.deepEqual(r.xpCredsspProvider, { tspkg: true, credsspDll: true });
    assert.ok(r.notes.every((n) => !n.modelled));
    assert.equal(r.profile.credssp?.allowEncryptionOracle, 1);
  });

  it('a deleted AllowEncryptionOracle is the OS default, Mitigated', () => {
    const r = readClientReg(`${HEADER}${CREDSSP_KEY}"AllowEncryptionOracle"=-\n`, { base: 'mstsc-win10-aeo2' });
    assert.equal(r.profile.credssp?.allowEncryptionOracle, 1);
    assert.equal(r.allowEncryptionOracle, undefined);
  });

  it('an unpatched base has no AllowEncryptionOracle: noted as no effect', () => {
    const r = readClientReg(`${HEADER}${CREDSSP_KEY}"AllowEncryptionOracle"=dword:00000000\n`, { base: 'mstsc-win7-unpatched' });
    assert.equal(r.profile.credssp?.allowEncryptionOracle, undefined);
    assert.match(r.notes.at(-1)?.effect ?? '', /no effect/);
    checkProfile(r.profile);
  });

  it('out-of-range values fail with their line', () => {
    assert.throws(
      () => readClientReg(`${HEADER}${CREDSSP_KEY}"AllowEncryptionOracle"=dword:00000003\n`, { file: 'x.reg' }),
      (e: unknown) => e instanceof ClientInputError && e.line === 4 && e.kind === 'InvalidValue' && e.file === 'x.reg',
    );
    assert.throws(() => readClientReg(`${HEADER}[HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa]\n"LmCompatibilityLevel"="3"\n`), ClientInputError);
  });

  it('random bytes and random lines only raise PolicyError', () => {
    const LINE = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(CREDSSP_KEY.trim(), '"AllowEncryptionOracle"=dword:', '"AllowEncryptionOracle"=dword:ffffffff', '"Security Packages"=hex(7):74,00,\\', '[HKLM\\SYSTEM\\ControlSet001\\Control\\Lsa]', '"LmCompatibilityLevel"=-'));
    const only = (fn: () => unknown): void => {
      try {
        fn();
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => only(() => readClientReg(b))), { numRuns: 500 });
    fc.assert(fc.property(fc.array(LINE, { maxLength: 12 }), (lines) => only(() => readClientReg(encodeRegUtf16(HEADER + lines.join('\n'))))), { numRuns: 500 });
  });
});

describe('readClientInput', () => {
  it('tells the three forms apart by extension or by content', () => {
    assert.equal(detectClientInputForm(fixture('mstsc-saved.rdp')), 'rdp-file');
    assert.equal(detectClientInputForm(fixture('macos-export.rdp')), 'rdp-file');
    assert.equal(detectClientInputForm(fixture('client-aeo2.reg')), 'reg');
    assert.equal(detectClientInputForm('/usr/bin/xfreerdp /v:h'), 'xfreerdp');
    assert.equal(detectClientInputForm('/v:h /sec:tls'), 'xfreerdp');
    assert.equal(detectClientInputForm('anything', 'x.RDP'), 'rdp-file');
    assert.equal(readClientInput(fixture('credssp-off.rdp')).form, 'rdp-file');
    assert.equal(readClientInput(fixture('client-aeo2.reg'), { file: 'client-aeo2.reg' }).profile.credssp?.allowEncryptionOracle, 2);
    assert.equal(readClientInput(fixture('xfreerdp-gateway.txt')).form, 'xfreerdp');
  });

  it('names the forms when it cannot tell', () => {
    assert.throws(() => readClientInput('hello world'), (e: unknown) => e instanceof ClientInputError && /\.rdp file.*xfreerdp.*\.reg/.test(e.message));
  });

  it('random bytes only raise PolicyError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(undefined, 'a.rdp', 'a.reg', 'a.txt'), (b, file) => {
        try {
          readClientInput(b, file ? { file } : {});
        } catch (e) {
          if (!(e instanceof PolicyError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});
