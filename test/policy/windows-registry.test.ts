/**
 * Windows policies from registry exports (.reg) and from flags. The .reg format is what regedit
 * and `reg export` write: UTF-16LE with a BOM and CRLF, "Windows Registry Editor Version 5.00",
 * hex lists continued with a trailing backslash (see src/policy/reg-file.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PolicyError } from '../../src/policy/errors.js';
import { decodeRegText, encodeRegUtf16, parseRegFile } from '../../src/policy/reg-file.js';
import { normalizeKeyPath, policyFromRegExport, readWindowsRegistry } from '../../src/policy/windows-registry.js';
import { fromWindowsFlags } from '../../src/policy/windows-settings.js';

const FIXTURES = fileURLToPath(new URL('../../../test/policy/fixtures/', import.meta.url));
const RDP_TCP = 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp';
const TS_POLICY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';

/** A .reg as Windows writes it, from lines of text. */
function reg(...lines: string[]): Buffer {
  return encodeRegUtf16(['Windows Registry Editor Version 5.00', '', ...lines, ''].join('\n'));
}

function throwsPolicy(fn: () => unknown, expect: Partial<Pick<PolicyError, 'kind' | 'file' | 'line' | 'key' | 'value'>> & { message?: RegExp }): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PolicyError, `not a PolicyError: ${String(err)}`);
    const { message, ...fields } = expect;
    for (const [k, v] of Object.entries(fields)) assert.equal(err[k as keyof PolicyError], v, k);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('the committed sample export (UTF-16LE with BOM)', () => {
  const bytes = readFileSync(`${FIXTURES}rdp-tcp-2019.reg`);

  it('is UTF-16LE with a BOM and CRLF line ends, as regedit writes it', () => {
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xfe]);
    assert.equal(decodeRegText(bytes).encoding, 'utf-16le');
    assert.ok(decodeRegText(bytes).text.includes('\r\n'));
  });

  it('parses keys, values, continued hex lists and line numbers', () => {
    const r = parseRegFile(bytes, 'rdp-tcp-2019.reg');
    assert.equal(r.format, 'regedit5');
    assert.equal(r.keys.length, 3);
    const tcp = r.keys[0]!;
    assert.equal(tcp.path, RDP_TCP);
    assert.equal(tcp.line, 3);
    const sl = tcp.values.find((v) => v.name === 'SecurityLayer');
    assert.deepEqual(sl?.value, { type: 'dword', value: 1 });
    assert.equal(sl?.line, 17);
    const hash = tcp.values.find((v) => v.name === 'SSLCertificateSHA1Hash');
    assert.equal(hash?.value.type === 'hex' && hash.value.bytes.toString('hex'), '67623a75d493c99a121a3407da5e3f2e4e68808f');
    assert.equal(hash?.line, 19); // the line where the value starts, continuation joined
    assert.equal(tcp.values.find((v) => v.name === 'UserAuthentication')?.line, 21);
    assert.deepEqual(tcp.values.find((v) => v.name === 'MaxInstanceCount')?.value, { type: 'dword', value: 0xffffffff });
    assert.deepEqual(tcp.values.find((v) => v.name === 'Comment')?.value, { type: 'string', value: '' });
  });

  it('becomes a Windows policy: Negotiate, NLA required, Client Compatible, the certificate thumbprint', () => {
    const p = policyFromRegExport(bytes, { file: 'rdp-tcp-2019.reg' });
    assert.equal(p.flavor, 'windows');
    assert.deepEqual(
      [p.windows.securityLayer, p.windows.userAuthentication, p.windows.minEncryptionLevel, p.windows.allowSecProtocolNegotiation],
      [1, 1, 2, 1],
    );
    assert.deepEqual(p.protocols, { offered: ['HYBRID_EX', 'HYBRID'], required: 'HYBRID' });
    assert.equal(p.standardSecurity.encryptionLevel, 'CLIENT_COMPATIBLE');
    assert.deepEqual(p.tls.certificate, { kind: 'thumbprint', sha1: '67623a75d493c99a121a3407da5e3f2e4e68808f' });
    assert.deepEqual(p.source, { kind: 'registry', file: 'rdp-tcp-2019.reg' });
  });

  it('lists the values and keys it does not use', () => {
    const r = readWindowsRegistry(bytes);
    const names = r.ignored.map((x) => x.name ?? x.key);
    for (const n of ['PortNumber', 'ColorDepth', 'WdName', `${RDP_TCP}\\TSMMRemotingAllowedApps`]) assert.ok(names.includes(n), n);
    assert.ok(!names.includes('SecurityLayer'));
    assert.ok(policyFromRegExport(bytes).warnings.some((w) => w.code === 'reg-ignored'));
  });
});

describe('a .reg generated as Windows writes it', () => {
  const full = reg(
    `[${RDP_TCP}]`,
    '"SecurityLayer"=dword:00000002',
    '"UserAuthentication"=dword:00000000',
    '"MinEncryptionLevel"=dword:00000002',
    '',
    `[${TS_POLICY}]`,
    '"MinEncryptionLevel"=dword:00000003',
    '"UserAuthentication"=dword:00000001',
    '"fDenyTSConnections"=dword:00000000',
    '',
    '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server]',
    '"Enabled"=dword:00000000',
    '"DisabledByDefault"=dword:00000001',
    '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.1\\Server]',
    '"Enabled"=dword:00000000',
    '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.1\\Client]',
    '"Enabled"=dword:00000000',
    '',
    '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\CredSSP\\Parameters]',
    '"AllowEncryptionOracle"=dword:00000000',
  );

  it('lets the Group Policy key override RDP-Tcp, value by value', () => {
    // fact sheet section 8: "Policy overrides live in HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
    const r = readWindowsRegistry(full, { file: 'gpo.reg' });
    assert.deepEqual([r.flags.securityLayer, r.flags.userAuthentication, r.flags.minEncryptionLevel], [2, 1, 3]);
    assert.deepEqual(r.fromGroupPolicy.sort(), ['minEncryptionLevel', 'userAuthentication']);
    const w = r.warnings.find((x) => x.code === 'reg-policy-overrides' && x.key === 'UserAuthentication');
    assert.ok(w);
    assert.equal(w.line, 10);
    assert.match(w.message, /gpo\.reg:10: UserAuthentication: Group Policy UserAuthentication=1 overrides RDP-Tcp UserAuthentication=0/);
  });

  it('reads the SChannel server protocols and the CredSSP oracle policy', () => {
    const p = policyFromRegExport(full, { file: 'gpo.reg' });
    assert.deepEqual(p.tls.versions, ['TLSv1.2']);
    assert.deepEqual([p.tls.minVersion, p.tls.maxVersion], ['TLSv1.2', 'TLSv1.2']);
    // KB4295591: 0 = Force Updated Clients, the server rejects unpatched clients
    assert.deepEqual(p.credssp, { versions: [2, 3, 4, 5, 6], checkNonce: true, allowEncryptionOracle: 0 });
    assert.deepEqual(p.protocols, { offered: ['HYBRID_EX', 'HYBRID'], required: 'HYBRID' });
    assert.equal(p.standardSecurity.encryptionLevel, 'HIGH');
  });

  it('reads the FIPS algorithm policy (current and XP/2003 forms)', () => {
    const modern = policyFromRegExport(
      reg(`[${RDP_TCP}]`, '"SecurityLayer"=dword:00000000', '"UserAuthentication"=dword:00000000', '"MinEncryptionLevel"=dword:00000002', '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy]', '"Enabled"=dword:00000001'),
    );
    assert.equal(modern.standardSecurity.encryptionLevel, 'FIPS');
    assert.ok(modern.warnings.some((w) => w.code === 'windows-fips-policy'));
    const old = readWindowsRegistry(reg(`[${RDP_TCP}]`, '"SecurityLayer"=dword:00000000', '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa]', '"FIPSAlgorithmPolicy"=dword:00000001', '"LmCompatibilityLevel"=dword:00000005'));
    assert.equal(old.flags.fipsAlgorithmPolicy, true);
    assert.ok(old.ignored.some((x) => x.name === 'LmCompatibilityLevel'));
  });

  it('reads ControlSet001, HKLM and any letter case as the same key', () => {
    assert.equal(normalizeKeyPath('HKLM\\System\\ControlSet001\\Control\\Terminal Server\\WinStations\\rdp-tcp'), normalizeKeyPath(RDP_TCP));
    const r = readWindowsRegistry(reg('[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Terminal Server\\WinStations\\rdp-tcp]', '"securitylayer"=dword:00000002', '"USERAUTHENTICATION"=dword:00000001', '"MinEncryptionLevel"=dword:3'));
    assert.deepEqual([r.flags.securityLayer, r.flags.userAuthentication, r.flags.minEncryptionLevel], [2, 1, 3]);
  });

  it('assumes the documented defaults for absent values, and says so', () => {
    const r = readWindowsRegistry(reg(`[${RDP_TCP}]`, '"PortNumber"=dword:00000d3d'));
    assert.deepEqual([r.flags.securityLayer, r.flags.userAuthentication, r.flags.minEncryptionLevel], [1, 0, 2]);
    assert.equal(r.warnings.filter((w) => w.code === 'reg-value-absent').length, 3);
  });

  it('treats deleted values and keys as absent, and ignores the 32-bit policy view', () => {
    const r = readWindowsRegistry(
      reg(`[${RDP_TCP}]`, '"SecurityLayer"=-', '"UserAuthentication"=dword:00000001', `[-${TS_POLICY}]`, `[HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Policies\\Microsoft\\Windows NT\\Terminal Services]`, '"MinEncryptionLevel"=dword:00000004'),
    );
    assert.equal(r.flags.securityLayer, 1);
    assert.equal(r.flags.minEncryptionLevel, 2);
    assert.deepEqual(r.warnings.map((w) => w.code).filter((c) => c !== 'reg-value-absent'), ['reg-value-deleted', 'reg-key-deleted', 'reg-wow64-policy']);
  });
});

describe('.reg encodings', () => {
  const text = ['Windows Registry Editor Version 5.00', '', `[${RDP_TCP}]`, '"SecurityLayer"=dword:00000002', '"UserAuthentication"=dword:00000001', '"MinEncryptionLevel"=dword:00000003', ''].join('\r\n');

  it('reads UTF-16LE, UTF-16BE, UTF-8 with and without BOM, and text', () => {
    const be = Buffer.from(text, 'utf16le');
    be.swap16();
    const inputs: [string, Uint8Array | string][] = [
      ['utf-16le', encodeRegUtf16(text)],
      ['utf-16be', Buffer.concat([Buffer.from([0xfe, 0xff]), be])],
      ['utf-8', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
      ['utf-8', Buffer.from(text)],
      ['utf-8', text],
    ];
    for (const [enc, input] of inputs) {
      const r = parseRegFile(input);
      assert.equal(r.encoding, enc);
      assert.equal(readWindowsRegistry(r).flags.minEncryptionLevel, 3, enc);
    }
  });

  it('reads an ANSI REGEDIT4 file (bytes that are not UTF-8)', () => {
    const ansi = Buffer.from(['REGEDIT4', '', `[${RDP_TCP}]`, '"Comment"="Caf\u00e9 server"', '"SecurityLayer"=dword:00000000', ''].join('\r\n'), 'latin1');
    const r = parseRegFile(ansi);
    assert.deepEqual([r.format, r.encoding], ['regedit4', 'latin1']);
    assert.deepEqual(r.keys[0]?.values[0]?.value, { type: 'string', value: 'Caf\u00e9 server' });
  });

  it('reads escaped strings, default values, comments and hex(N) types', () => {
    const r = parseRegFile(
      reg(`[${RDP_TCP}]`, '; a comment', '@="default"', '"Quoted \\"name\\""="C:\\\\Windows\\\\ \\"x\\""', '"Multi"=hex(7):41,00,00,00,00,00', '"Q"=hex(b):01,00,00,00,00,00,00,00'),
    );
    const v = r.keys[0]!.values;
    assert.deepEqual(v.map((e) => e.name), ['', 'Quoted "name"', 'Multi', 'Q']);
    assert.deepEqual(v[1]?.value, { type: 'string', value: 'C:\\Windows\\ "x"' });
    assert.equal(v[2]?.value.type === 'hex' && v[2].value.hexType, 7);
    assert.equal(v[3]?.value.type === 'hex' && v[3].value.hexType, 0xb);
  });
});

describe('PolicyError from .reg files: file, line, value', () => {
  it('rejects a file without the header', () => {
    throwsPolicy(() => parseRegFile(encodeRegUtf16(`[${RDP_TCP}]\n"SecurityLayer"=dword:00000002\n`), 'x.reg'), { kind: 'MissingHeader', file: 'x.reg', line: 1 });
  });

  it('rejects a SecurityLayer out of range, naming the line and the value', () => {
    throwsPolicy(() => policyFromRegExport(reg(`[${RDP_TCP}]`, '"UserAuthentication"=dword:00000001', '"SecurityLayer"=dword:00000007'), { file: 'bad.reg' }), {
      kind: 'InvalidValue',
      file: 'bad.reg',
      line: 5,
      key: 'SecurityLayer',
      value: 'dword:00000007',
      message: /^bad\.reg:5: SecurityLayer: 7 is not one of 0, 1, 2$/,
    });
  });

  it('rejects UserAuthentication=2 (the unattend example value) and MinEncryptionLevel=0', () => {
    throwsPolicy(() => policyFromRegExport(reg(`[${RDP_TCP}]`, '"UserAuthentication"=dword:00000002')), { kind: 'InvalidValue', key: 'UserAuthentication', line: 4 });
    throwsPolicy(() => policyFromRegExport(reg(`[${RDP_TCP}]`, '"MinEncryptionLevel"=dword:00000000')), { kind: 'InvalidValue', key: 'MinEncryptionLevel' });
  });

  it('rejects a knob that is not a dword', () => {
    throwsPolicy(() => readWindowsRegistry(reg(`[${TS_POLICY}]`, '"SecurityLayer"="2"'), { file: 'p.reg' }), { kind: 'InvalidValue', file: 'p.reg', line: 4, key: 'SecurityLayer', value: '"2"' });
  });

  it('rejects syntax errors with their line', () => {
    throwsPolicy(() => parseRegFile(reg(`[${RDP_TCP}]`, '"Bad"=hex:01,zz'), 's.reg'), { kind: 'Syntax', line: 4, key: 'Bad', value: 'hex:01,zz' });
    throwsPolicy(() => parseRegFile(reg(`[${RDP_TCP}]`, '"Open=dword:1')), { kind: 'Syntax', line: 4 });
    throwsPolicy(() => parseRegFile(reg(`[${RDP_TCP}]`, '"X"=qword:1')), { kind: 'Syntax', line: 4, key: 'X' });
    throwsPolicy(() => parseRegFile(reg('"Orphan"=dword:1')), { kind: 'Syntax', line: 3 });
    throwsPolicy(() => parseRegFile(reg(`[${RDP_TCP}`)), { kind: 'Syntax', line: 3 });
  });

  it('rejects a truncated UTF-16 file and a file without the RDP keys', () => {
    throwsPolicy(() => parseRegFile(Buffer.concat([encodeRegUtf16('Windows Registry Editor Version 5.00\n'), Buffer.from([0x41])]), 't.reg'), { kind: 'Encoding', file: 't.reg' });
    throwsPolicy(() => policyFromRegExport(reg('[HKEY_CURRENT_USER\\Software\\Microsoft\\Terminal Server Client]', '"RDGClientTransport"=dword:00000001'), { file: 'c.reg' }), { kind: 'MissingKey', file: 'c.reg' });
  });
});

describe('fromWindowsFlags', () => {
  it('normalizes the knobs', () => {
    const p = fromWindowsFlags({ securityLayer: 2, userAuthentication: 0, minEncryptionLevel: 3 });
    assert.deepEqual(p.protocols, { offered: ['HYBRID_EX', 'HYBRID', 'SSL'], required: 'SSL' });
    assert.deepEqual(p.nla, { supported: true, required: false });
    assert.deepEqual([p.tls.minVersion, p.tls.maxVersion], ['TLSv1', 'TLSv1.2']);
    assert.equal(p.standardSecurity.encryptionLevel, 'HIGH');
    assert.deepEqual(p.source, { kind: 'flags' });
  });

  it('Negotiate without NLA offers everything, RDP last', () => {
    assert.deepEqual(fromWindowsFlags({ securityLayer: 1, userAuthentication: 0, minEncryptionLevel: 2 }).protocols.offered, ['HYBRID_EX', 'HYBRID', 'SSL', 'RDP']);
  });

  it('rejects values out of range with the flag name', () => {
    throwsPolicy(() => fromWindowsFlags({ securityLayer: 3, userAuthentication: 0, minEncryptionLevel: 2 }), { kind: 'InvalidValue', key: 'SecurityLayer', value: '3' });
    throwsPolicy(() => fromWindowsFlags({ securityLayer: 1, userAuthentication: 0.5, minEncryptionLevel: 2 }), { kind: 'InvalidValue', key: 'UserAuthentication' });
  });

  it('warns about SecurityLayer=2 with MinEncryptionLevel=1 (WMI SetSecurityLayer)', () => {
    // Win32_TSGeneralSetting SetSecurityLayer: "This setting is not compatible with a MinEncryptionLevel value of 1"
    assert.ok(fromWindowsFlags({ securityLayer: 2, userAuthentication: 0, minEncryptionLevel: 1 }).warnings.some((w) => w.code === 'windows-tls-with-low-level'));
  });

  it('warns about a TLS version set with a hole and offers its newest contiguous range', () => {
    const p = fromWindowsFlags({ securityLayer: 1, userAuthentication: 0, minEncryptionLevel: 2, tlsVersions: ['TLSv1.2', 'TLSv1'] });
    assert.deepEqual(p.tls.versions, ['TLSv1', 'TLSv1.2']);
    assert.deepEqual([p.tls.minVersion, p.tls.maxVersion], ['TLSv1.2', 'TLSv1.2']);
    assert.ok(p.warnings.some((w) => w.code === 'tls-version-hole'));
  });
});
