// Unit test of the rdp-enum-encryption output parser on real nmap 7.93 outputs saved from runs
// against the loopback peers (test/peers/nmap-outputs/*.txt; see the file names for the peer and
// its configuration). Not a peer test: it needs neither nmap nor the peers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nmapEnumEncryptionArgs, parseNmapEnumEncryption, type NmapEnumEncryption } from './nmap.js';

/** <repo>/test/peers/nmap-outputs/ (this file compiles to <repo>/dist/test/peers/). */
const OUTPUTS = fileURLToPath(new URL('../../../test/peers/nmap-outputs/', import.meta.url));
const load = (name: string): NmapEnumEncryption => parseNmapEnumEncryption(readFileSync(`${OUTPUTS}${name}.txt`, 'utf8'));

const ALL_SUCCESS = {
  'CredSSP (NLA)': { result: 'SUCCESS', text: 'SUCCESS' },
  'CredSSP with Early User Auth': { result: 'SUCCESS', text: 'SUCCESS' },
  'Native RDP': { result: 'SUCCESS', text: 'SUCCESS' },
  RDSTLS: { result: 'SUCCESS', text: 'SUCCESS' },
  SSL: { result: 'SUCCESS', text: 'SUCCESS' },
};
const failed = (code: string) => ({ result: 'FAILED', failure: code, text: `FAILED (${code})` });
const ALL_METHODS_FAILED = { '40-bit RC4': 'FAILURE', '56-bit RC4': 'FAILURE', '128-bit RC4': 'FAILURE', 'FIPS 140-1': 'FAILURE' };
const VERSION = 'RDP 5.x, 6.x, 7.x, or 8.x server';

describe('parseNmapEnumEncryption (saved nmap 7.93 outputs)', () => {
  it('xrdp negotiate/high: every protocol SUCCESS (xrdp never sends RDP_NEG_FAILURE), High, 128-bit RC4 only', () => {
    for (const name of ['xrdp-negotiate-high', 'xrdp-negotiate-high--nodebug', 'xrdp-rdp-high']) {
      const r = load(name);
      assert.equal(r.scriptOutput, true, name);
      assert.equal(r.portState, 'open');
      assert.deepEqual(r.protocols, ALL_SUCCESS, name);
      assert.equal(r.encryptionLevel, 'High', name);
      assert.deepEqual(r.methods, { '128-bit RC4': 'SUCCESS' }, name);
      assert.equal(r.rdpProtocolVersion, VERSION, name);
      assert.equal(r.scriptError, undefined);
      assert.deepEqual(r.unparsed, [], name);
    }
  });

  it('xrdp rdp/low and rdp/fips: one method each', () => {
    const low = load('xrdp-rdp-low');
    assert.equal(low.encryptionLevel, 'Low');
    assert.deepEqual(low.methods, { '40-bit RC4': 'SUCCESS' });
    const fips = load('xrdp-rdp-fips');
    assert.equal(fips.encryptionLevel, 'FIPS Compliant');
    assert.deepEqual(fips.methods, { 'FIPS 140-1': 'SUCCESS' });
    assert.deepEqual(fips.protocols, ALL_SUCCESS);
  });

  it('xrdp rdp/none: no encryption section at all (method None matches no offer) and no version', () => {
    const r = load('xrdp-rdp-none');
    assert.deepEqual(r.protocols, ALL_SUCCESS);
    assert.deepEqual(r.methods, {});
    assert.equal(r.encryptionLevel, undefined);
    assert.equal(r.rdpProtocolVersion, undefined);
    assert.deepEqual(r.unparsed, []);
  });

  it('xrdp tls/high: the script crashes; -d shows the Lua error, without -d a one-line ERROR', () => {
    const dbg = load('xrdp-tls-high');
    assert.equal(dbg.scriptOutput, false);
    assert.equal(dbg.portState, 'open');
    assert.match(dbg.scriptError ?? '', /asn1\.lua:\d+: bad argument #2 to 'unpack' \(data string too short\)/);
    assert.deepEqual(dbg.protocols, {});
    const plain = load('xrdp-tls-high--nodebug');
    assert.equal(plain.scriptOutput, true);
    assert.equal(plain.scriptError, 'Script execution failed (use -d to debug)');
    assert.deepEqual(plain.protocols, {});
    assert.deepEqual(plain.unparsed, []);
  });

  it('shadow nla: only CredSSP succeeds, the others fail with HYBRID_REQUIRED_BY_SERVER; methods FAILURE without a level', () => {
    const r = load('shadow-nla');
    assert.deepEqual(r.protocols, {
      'CredSSP (NLA)': { result: 'SUCCESS', text: 'SUCCESS' },
      'CredSSP with Early User Auth': failed('HYBRID_REQUIRED_BY_SERVER'),
      'Native RDP': failed('HYBRID_REQUIRED_BY_SERVER'),
      RDSTLS: failed('HYBRID_REQUIRED_BY_SERVER'),
      SSL: failed('HYBRID_REQUIRED_BY_SERVER'),
    });
    assert.deepEqual(r.methods, ALL_METHODS_FAILED);
    assert.equal(r.encryptionLevel, undefined);
    // printed although SSL failed: nmap starts TLS anyway and the server answers its MCS Connect Initial
    assert.equal(r.rdpProtocolVersion, VERSION);
    assert.deepEqual(r.unparsed, []);
  });

  it('shadow rdp: only Native RDP; no method lines (the server picks encryption None)', () => {
    const r = load('shadow-rdp');
    assert.deepEqual(r.protocols, {
      'CredSSP (NLA)': failed('SSL_NOT_ALLOWED_BY_SERVER'),
      'CredSSP with Early User Auth': failed('SSL_NOT_ALLOWED_BY_SERVER'),
      'Native RDP': { result: 'SUCCESS', text: 'SUCCESS' },
      RDSTLS: failed('SSL_NOT_ALLOWED_BY_SERVER'),
      SSL: failed('SSL_NOT_ALLOWED_BY_SERVER'),
    });
    assert.deepEqual(r.methods, {});
    assert.equal(r.encryptionLevel, undefined);
    assert.equal(r.rdpProtocolVersion, VERSION);
  });

  it('shadow tls: SSL and "CredSSP (NLA)" SUCCESS (nmap counts RSP selectedProtocol=SSL for a 0x3 request)', () => {
    const r = load('shadow-tls');
    assert.deepEqual(r.protocols, {
      'CredSSP (NLA)': { result: 'SUCCESS', text: 'SUCCESS' },
      'CredSSP with Early User Auth': failed('SSL_REQUIRED_BY_SERVER'),
      'Native RDP': failed('SSL_REQUIRED_BY_SERVER'),
      RDSTLS: failed('SSL_REQUIRED_BY_SERVER'),
      SSL: { result: 'SUCCESS', text: 'SUCCESS' },
    });
    assert.deepEqual(r.methods, ALL_METHODS_FAILED);
  });

  it('shadow negotiate and ext', () => {
    const neg = load('shadow-negotiate');
    assert.deepEqual(
      Object.fromEntries(Object.entries(neg.protocols).map(([k, v]) => [k, v.result])),
      { 'CredSSP (NLA)': 'SUCCESS', 'CredSSP with Early User Auth': 'FAILED', 'Native RDP': 'SUCCESS', RDSTLS: 'FAILED', SSL: 'SUCCESS' },
    );
    assert.equal(neg.protocols.RDSTLS?.failure, 'SSL_NOT_ALLOWED_BY_SERVER');
    assert.deepEqual(neg.methods, {});
    const ext = load('shadow-ext');
    for (const v of Object.values(ext.protocols)) assert.deepEqual(v, failed('SSL_REQUIRED_BY_SERVER'));
    assert.equal(Object.keys(ext.protocols).length, 5);
    assert.deepEqual(ext.methods, ALL_METHODS_FAILED);
  });

  it('every saved output parses without leftovers', () => {
    const files = readdirSync(OUTPUTS).filter((f) => f.endsWith('.txt'));
    assert.ok(files.length >= 6);
    for (const f of files) {
      const r = parseNmapEnumEncryption(readFileSync(`${OUTPUTS}${f}`, 'utf8'));
      assert.deepEqual(r.unparsed, [], f);
      assert.ok(r.scriptOutput || r.scriptError, `${f}: neither output nor error`);
    }
  });

  it('handles synthetic variants: Unknown, FAILED without code, inline errors', () => {
    const r = parseNmapEnumEncryption(
      [
        'PORT     STATE SERVICE',
        '3389/tcp open  ms-wbt-server',
        '| rdp-enum-encryption: ',
        '|   Security layer',
        '|     Native RDP: Unknown',
        '|     SSL: FAILED',
        '|   RDP Encryption level: Client Compatible',
        '|     56-bit RC4: SUCCESS',
        '|_  RDP Protocol Version: Unknown',
        '',
      ].join('\n'),
    );
    assert.deepEqual(r.protocols, { 'Native RDP': { result: 'Unknown', text: 'Unknown' }, SSL: { result: 'FAILED', text: 'FAILED' } });
    assert.equal(r.encryptionLevel, 'Client Compatible');
    assert.deepEqual(r.methods, { '56-bit RC4': 'SUCCESS' });
    assert.equal(r.rdpProtocolVersion, 'Unknown');
    const e = parseNmapEnumEncryption('3389/tcp open  ms-wbt-server\n|_rdp-enum-encryption: ERROR: Failed to connect to server\n');
    assert.equal(e.scriptError, 'Failed to connect to server');
    const none = parseNmapEnumEncryption('3389/tcp closed ms-wbt-server\n');
    assert.equal(none.scriptOutput, false);
    assert.equal(none.portState, 'closed');
  });

  it('builds the loopback-only command line', () => {
    // -n: no reverse DNS lookup, whose query would leave loopback
    assert.deepEqual(nmapEnumEncryptionArgs(33891), ['-d', '-n', '-p', '33891', '--script', '+rdp-enum-encryption', '127.0.0.1']);
    assert.deepEqual(nmapEnumEncryptionArgs(33891, { debug: false }), ['-n', '-p', '33891', '--script', '+rdp-enum-encryption', '127.0.0.1']);
    assert.throws(() => nmapEnumEncryptionArgs(0), RangeError);
  });
});
