/**
 * xrdp policies from xrdp.ini, read as xrdp 0.9 reads it (common/file.c for the ini syntax,
 * libxrdp/xrdp_rdp.c xrdp_rdp_read_config for the values, common/ssl_calls.c for
 * ssl_protocols). The installed /etc/xrdp/xrdp.ini is read too when present (read-only).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PolicyError } from '../../src/policy/errors.js';
import { parseXrdpIniSections, policyFromXrdpIni } from '../../src/policy/xrdp-ini.js';

const FIXTURES = fileURLToPath(new URL('../../../test/policy/fixtures/', import.meta.url));
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}`, 'utf8');
const codes = (p: { warnings: { code: string }[] }): string[] => p.warnings.map((w) => w.code);

describe('xrdp.ini syntax (common/file.c)', () => {
  it('cuts comments at # or ; anywhere on the line and trims names and values', () => {
    const { sections } = parseXrdpIniSections('[Globals]\n  crypt_level =  low  ; was high\n#security_layer=rdp\nport=3389# trailing\n');
    assert.deepEqual(sections[0]?.entries.map((e) => [e.key, e.value, e.line]), [
      ['crypt_level', 'low', 2],
      ['port', '3389', 4],
    ]);
  });

  it("reads a line with '[' then ']' as a section header wherever they are, as xrdp does", () => {
    const { sections, warnings } = parseXrdpIniSections('[Globals]\ntls_ciphers=[A|B]\nsecurity_layer=rdp\n');
    assert.deepEqual(sections.map((s) => s.name), ['Globals', 'A|B']);
    assert.deepEqual(warnings.map((w) => w.code), ['xrdp-bracket-value']);
  });

  it('replaces $VAR values from the environment given, empty when unset', () => {
    const { sections, warnings } = parseXrdpIniSections('[Globals]\na=$X\nb=$Y\n', { env: { X: 'from-env' } });
    assert.deepEqual(sections[0]?.entries.map((e) => e.value), ['from-env', '']);
    assert.deepEqual(warnings.map((w) => w.code), ['xrdp-env-unset']);
  });

  it('stops at a line of 2048 bytes or more before its comment (FILE_MAX_LINE_BYTES)', () => {
    const { sections, warnings } = parseXrdpIniSections(`[Globals]\na=1\n; ${'long comment '.repeat(200)}\nb=${'x'.repeat(2100)}\nc=3\n`);
    assert.deepEqual(sections[0]?.entries.map((e) => e.key), ['a']);
    assert.deepEqual(warnings.map((w) => w.code), ['xrdp-line-too-long']);
  });
});

describe('xrdp.ini values (xrdp_rdp_read_config)', () => {
  it('reads keys case-insensitively, values too, and only from [Globals]', () => {
    const p = policyFromXrdpIni(fixture('xrdp-tls-fips.ini'), { file: 'xrdp-tls-fips.ini' });
    assert.deepEqual([p.xrdp.securityLayer, p.xrdp.cryptLevel], ['tls', 'fips']);
    assert.deepEqual(p.protocols, { offered: ['SSL'], required: 'SSL' });
    assert.deepEqual([p.standardSecurity.encryptionLevel, p.standardSecurity.fixedMethod], ['FIPS', 'FIPS']);
    assert.equal(p.tls.ciphers, 'HIGH:!aNULL:!MD5');
    assert.deepEqual([p.tls.minVersion, p.tls.maxVersion], ['TLSv1.2', 'TLSv1.3']);
    assert.deepEqual(p.source, { kind: 'xrdp-ini', file: 'xrdp-tls-fips.ini' });
  });

  it('uses <config dir>/key.pem for a relative key_file, with a warning at its line', () => {
    // xrdp_rdp_read_config: "X.509 key file should use absolute path, using default instead"
    const p = policyFromXrdpIni(fixture('xrdp-tls-fips.ini'), { file: 'xrdp-tls-fips.ini', configDir: '/etc/xrdp' });
    assert.deepEqual(p.tls.certificate, { kind: 'files', certFile: '/etc/xrdp/site-cert.pem', keyFile: '/etc/xrdp/key.pem' });
    const w = p.warnings.find((x) => x.code === 'xrdp-relative-path');
    assert.deepEqual([w?.file, w?.line, w?.key, w?.value], ['xrdp-tls-fips.ini', 9, 'key_file', 'site-key.pem']);
  });

  it('handles the quirks: first [Globals] only, last value wins, $VAR, case-sensitive protocol names', () => {
    const p = policyFromXrdpIni(fixture('xrdp-quirks.ini'), { file: 'xrdp-quirks.ini', env: { RDPSEC_TEST_CIPHERS: 'ECDHE+AESGCM' } });
    assert.equal(p.xrdp.securityLayer, 'rdp'); // the second [Globals] (security_layer=tls) is not read
    assert.equal(p.xrdp.cryptLevel, 'low'); // crypt_level=hihg, then crypt_level = low
    assert.equal(p.tls.ciphers, 'ECDHE+AESGCM');
    // ssl_get_protocols_from_string matches ",TLSv1," and ",TLSv1.2," only: "tlsv1.2" and "SSLv2" are ignored
    assert.deepEqual(p.tls.versions, ['TLSv1', 'TLSv1.2']);
    assert.deepEqual([p.tls.minVersion, p.tls.maxVersion], ['TLSv1.2', 'TLSv1.2']);
    assert.deepEqual(p.tls.certificate, { kind: 'files', certFile: '/etc/xrdp/cert.pem', keyFile: '/etc/xrdp/key.pem' });
    for (const c of ['xrdp-duplicate-key', 'xrdp-second-globals', 'xrdp-unknown-ssl-protocol', 'tls-version-hole', 'xrdp-env-unset']) {
      assert.ok(codes(p).includes(c), c);
    }
  });

  it('falls back to crypt_level=high and security_layer=negotiate on unknown values, with warnings', () => {
    // xrdp_rdp_read_config: "Your configured crypt level is undefined, 'high' will be used";
    // "security_layer=%s is not recognized, will use security_layer=negotiate"
    const p = policyFromXrdpIni('[Globals]\nsecurity_layer=ssl\ncrypt_level=hihg\n', { file: 'x.ini' });
    assert.deepEqual([p.xrdp.securityLayer, p.xrdp.cryptLevel], ['negotiate', 'high']);
    const w = p.warnings.find((x) => x.code === 'xrdp-unknown-crypt-level');
    assert.deepEqual([w?.line, w?.key, w?.value], [3, 'crypt_level', 'hihg']);
    assert.ok(codes(p).includes('xrdp-unknown-security-layer'));
  });

  it('in strict mode, unknown values are PolicyErrors with file, line and value', () => {
    assert.throws(
      () => policyFromXrdpIni('[Globals]\n\ncrypt_level=hihg\n', { file: 'x.ini', strict: true }),
      (e: unknown) => e instanceof PolicyError && e.kind === 'UnknownValue' && e.file === 'x.ini' && e.line === 3 && e.key === 'crypt_level' && e.value === 'hihg' && /^x\.ini:3: crypt_level: /.test(e.message),
    );
  });

  it('without the keys: negotiate, high, TLS 1.2 and 1.3, the default certificate', () => {
    const p = policyFromXrdpIni('[Globals]\nport=3389\n');
    assert.deepEqual([p.xrdp.securityLayer, p.xrdp.cryptLevel, p.tls.versions], ['negotiate', 'high', ['TLSv1.2', 'TLSv1.3']]);
    assert.deepEqual(p.protocols, { offered: ['SSL', 'RDP'], required: null });
  });

  it('the undocumented hybrid layer: accepted, noted, no CredSSP', () => {
    const p = policyFromXrdpIni('[Globals]\nsecurity_layer=hybrid\n');
    assert.equal(p.xrdp.securityLayer, 'hybrid');
    assert.ok(codes(p).includes('xrdp-hybrid-layer'));
    assert.deepEqual(p.nla, { supported: false, required: false });
  });

  it('checks that the certificate and key can be read when told how', () => {
    const p = policyFromXrdpIni(fixture('xrdp-negotiate-low.ini'), { fileReadable: (f) => f !== '/srv/rdp/key.pem' });
    assert.equal(p.tls.certificateAvailable, false);
    assert.deepEqual(p.protocols.offered, ['RDP']);
    assert.ok(codes(p).includes('xrdp-no-certificate'));
    assert.deepEqual([p.standardSecurity.encryptionLevel, p.standardSecurity.fixedMethod], ['LOW', '40BIT']);
    assert.deepEqual([p.tls.minVersion, p.tls.maxVersion], ['TLSv1', 'TLSv1.3']);
  });

  it('rejects a file without [Globals]', () => {
    assert.throws(() => policyFromXrdpIni('[Xorg]\nname=Xorg\n', { file: 'y.ini' }), (e: unknown) => e instanceof PolicyError && e.kind === 'MissingKey' && e.file === 'y.ini');
  });

  it('warns when no TLS version survives', () => {
    assert.ok(codes(policyFromXrdpIni('[Globals]\nssl_protocols=TLS1.2\n')).includes('tls-no-version'));
  });
});

describe('the installed /etc/xrdp/xrdp.ini (read-only)', () => {
  const path = '/etc/xrdp/xrdp.ini';
  it('parses like the Debian default', { skip: existsSync(path) ? false : `${path} is absent` }, () => {
    const p = policyFromXrdpIni(readFileSync(path), { file: path, configDir: '/etc/xrdp' });
    assert.equal(p.flavor, 'xrdp');
    // Debian 12 xrdp 0.9.21.1: security_layer=negotiate, crypt_level=high, ssl_protocols=TLSv1.2, TLSv1.3,
    // certificate= and key_file= empty. If the machine's file was changed, these say how.
    assert.equal(p.xrdp.securityLayer, 'negotiate');
    assert.equal(p.xrdp.cryptLevel, 'high');
    assert.deepEqual(p.tls.versions, ['TLSv1.2', 'TLSv1.3']);
    assert.deepEqual(p.tls.certificate, { kind: 'files', certFile: '/etc/xrdp/cert.pem', keyFile: '/etc/xrdp/key.pem' });
    assert.equal(p.tls.ciphers, null); // #tls_ciphers=HIGH is commented out
    assert.deepEqual(p.warnings, []);
  });
});
