/**
 * `rdpsec explain`'s matcher against the real catalogue: each example of issue 6 finds the right
 * entry (a pasted dialog with line breaks and a computer name, codes in any base, FreeRDP names
 * with and without their prefix, exit codes only when written as such, xrdp and OpenSSL log
 * lines), the ranking (code > whole phrase > part of a phrase), what is said when nothing
 * matches, the JSON contract and the terminal text. Random strings never throw and stay fast.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { errorCatalogue } from '../../src/diagnose/explain-catalogue.js';
import { explain, type ExplainResult } from '../../src/diagnose/explain.js';
import { explainJson, renderExplain } from '../../src/diagnose/explain-render.js';
import { MAX_INPUT_CHARS, normaliseText, readNumber, tokenize } from '../../src/diagnose/explain-text.js';

const index = errorCatalogue();
const run = (text: string): ExplainResult => explain(text, index);
const ids = (text: string): string[] => run(text).matches.map((m) => m.entry.id);
const top = (text: string) => run(text).matches[0];

const ORACLE_DIALOG = `Remote Desktop Connection

An authentication error has occurred.
The function requested is not supported

Remote computer: SRV-APP-01.corp.example.com
This could be due to CredSSP encryption oracle remediation.
For more information, see https://go.microsoft.com/fwlink/?linkid=866660`;

const XRDP_MAC_CLIENT_LOG = `[20220911-22:21:17] [INFO ] Socket 12: AF_INET6 connection received from ::ffff:192.0.2.7 port 41606
[20220911-22:21:17] [INFO ] Security protocol: configured [SSL|RDP], requested [SSL|HYBRID|RDP], selected [SSL]
[20220911-22:21:17] [ERROR] SSL_read: Failure in SSL library (protocol error?)
[20220911-22:21:17] [ERROR] SSL: error:0A000126:SSL routines::unexpected eof while reading
[20220911-22:21:17] [ERROR] libxrdp_force_read: header read error
[20220911-22:21:17] [ERROR] Processing [ITU-T T.125] Connect-Initial failed
[20220911-22:21:17] [ERROR] xrdp_sec_incoming: xrdp_mcs_incoming failed`;

describe('explain: the examples of issue 6', () => {
  it('a pasted mstsc encryption-oracle dialog, with line breaks and the remote computer name', () => {
    const r = run(ORACLE_DIALOG);
    assert.equal(r.matches[0]!.entry.id, 'credssp-encryption-oracle');
    assert.ok(r.matches[0]!.confidence >= 0.85);
    assert.ok(r.matches[0]!.evidence.some((e) => e.kind === 'phrase' && e.line === 3), 'the whole dialog, from line 3');
    // the generic first sentence and "The function requested is not supported" are explained by the dialog
    assert.deepEqual(ids(ORACLE_DIALOG), ['credssp-encryption-oracle']);
    // another computer name, all on one line, other case: the same answer
    assert.deepEqual(ids(ORACLE_DIALOG.replace('SRV-APP-01.corp.example.com', '10.1.2.3').replace(/\n+/g, ' ').toUpperCase()), ['credssp-encryption-oracle']);
    // only its last sentence
    assert.equal(top('This could be due to CredSSP encryption oracle remediation.')!.entry.id, 'credssp-encryption-oracle');
  });

  it('"0x507" says that no documented meaning exists, alone or in its dialog', () => {
    for (const text of ['0x507', '0X0507', '1287', 'An authentication error has occurred (code 0x507)', 'An authentication error has occurred.\n(Code: 0x507)']) {
      const m = top(text)!;
      assert.equal(m.entry.id, 'mstsc-0x507', text);
      assert.equal(m.entry.documented, false, text);
      assert.deepEqual(m.entry.fixes, [], text);
    }
    // a bare "507" is read as hex as well, with less confidence
    const guess = top('507')!;
    assert.equal(guess.entry.id, 'mstsc-0x507');
    assert.equal(guess.confidence, 0.85);
    assert.match(guess.evidence[0]!.note!, /read as hexadecimal 0x507/);
  });

  it('"50331671" and "0x03000017" give the same gateway entry, and so does its text', () => {
    for (const text of ['50331671', '0x03000017', '0x3000017', 'error code: 50331671', 'a security package error occurred in the transport layer']) {
      assert.equal(top(text)!.entry.id, 'gateway-0x03000017', text);
    }
  });

  it('ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED, without its prefix, as 0x2000C, and as "exit code 133"', () => {
    const full = top('ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED')!;
    assert.equal(full.entry.id, 'freerdp-security-nego-connect-failed');
    assert.equal(full.confidence, 1);
    const bare = top('SECURITY_NEGO_CONNECT_FAILED')!;
    assert.equal(bare.entry.id, 'freerdp-security-nego-connect-failed');
    assert.equal(bare.confidence, 0.95);
    for (const text of ['exit code 133', 'xfreerdp exited with status 133', 'Exit status: 133', '0x2000C', '[0x0002000C]', 'freerdp_set_last_error ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED [0x2000C]']) {
      assert.equal(top(text)!.entry.id, 'freerdp-security-nego-connect-failed', text);
    }
    assert.equal(top('exit code 133')!.confidence, 0.9);
  });

  it('an exit code counts only when written as one: a bare 133 or a pid is not an exit code', () => {
    assert.deepEqual(ids('133'), []);
    assert.deepEqual(ids('xfreerdp[133]: started'), []);
    assert.deepEqual(ids('# echo $?\n133'), ['freerdp-security-nego-connect-failed']);
    assert.deepEqual(ids('exit code 131'), ['freerdp-exit-131']);
  });

  it('"-1073741715", "0xC000006D", "C000006D" and 3221225581 all give STATUS_LOGON_FAILURE', () => {
    for (const text of ['-1073741715', '0xC000006D', '0xc000006d', 'C000006D', '3221225581', 'errorCode: -1073741715', 'STATUS_LOGON_FAILURE']) {
      const m = top(text)!;
      assert.equal(m.entry.id, 'credssp-status-logon-failure', text);
      assert.equal(m.confidence, 1, text);
    }
    // LOGON_FAILURE without a prefix names both the NTSTATUS and FreeRDP's ERRCONNECT code
    assert.deepEqual(new Set(ids('LOGON_FAILURE')), new Set(['credssp-status-logon-failure', 'freerdp-logon-failure']));
  });

  it('xrdp log lines: the MAC error, and a macOS client dropping the TLS session', () => {
    assert.equal(top('[ERROR] MAC checksum error for non-FIPS PDU')!.entry.id, 'xrdp-mac-checksum-error');
    const r = run(XRDP_MAC_CLIENT_LOG);
    const found = r.matches.map((m) => m.entry.id);
    assert.deepEqual(found.slice(0, 2), ['openssl-unexpected-eof', 'xrdp-ssl-library-failure'], 'the OpenSSL reason (a code) first, then xrdp\'s line');
    assert.ok(found.includes('xrdp-connection-closed-chain'));
    assert.ok(found.indexOf('xrdp-connection-closed-chain') > found.indexOf('xrdp-ssl-library-failure'), 'the consequences after the cause');
    // "configured [SSL|RDP]" is not "configured [RDP]"
    assert.ok(!found.includes('xrdp-classic-security-selected'));
    assert.equal(top('Security protocol: configured [RDP], requested [SSL|HYBRID|RDP], selected [RDP]')!.entry.id, 'xrdp-classic-security-selected');
    // each line says on which line it matched
    const eof = r.matches.find((m) => m.entry.id === 'openssl-unexpected-eof')!;
    assert.equal(eof.evidence[0]!.line, 4);
    const mac = r.matches.find((m) => m.entry.id === 'xrdp-ssl-library-failure')!.entry;
    assert.ok(mac.causes.some((c) => /macOS/.test(c.summary)), 'names the macOS client case');
  });

  it('OpenSSL strings: unexpected eof, bad record mac (both sides), unsupported protocol', () => {
    assert.equal(top('unexpected eof while reading')!.entry.id, 'openssl-unexpected-eof');
    assert.equal(top('error:0A000126')!.entry.id, 'openssl-unexpected-eof');
    assert.equal(top('bad record mac')!.entry.id, 'openssl-decryption-failed-or-bad-record-mac');
    assert.equal(top('SSL routines:ssl3_get_record:decryption failed or bad record mac')!.entry.id, 'openssl-decryption-failed-or-bad-record-mac');
    assert.deepEqual(ids('error:14094414:SSL routines:ssl3_read_bytes:sslv3 alert bad record mac'), ['openssl-alert-bad-record-mac']);
    assert.deepEqual(ids('SSL routines::ssl/tls alert bad record mac'), ['openssl-alert-bad-record-mac']);
    const up = run('[ERROR] SSL_accept: Failure in SSL library (protocol error?)\n[ERROR] SSL: error:0A000102:SSL routines::unsupported protocol');
    assert.equal(up.matches[0]!.entry.id, 'openssl-unsupported-protocol');
    assert.ok(up.matches.some((m) => m.entry.id === 'xrdp-ssl-library-failure'));
  });

  it('the other user-facing errors of the brief', () => {
    assert.equal(top('The remote computer requires Network Level Authentication, which your computer does not support.')!.entry.id, 'mstsc-0xb09');
    assert.equal(top('[WARN][com.freerdp.core.nego] - Error: HYBRID_REQUIRED_BY_SERVER')!.entry.id, 'neg-hybrid-required-by-server');
    assert.equal(top('RDP_NEG_FAILURE failureCode 5')!.entry.id, 'neg-hybrid-required-by-server');
    assert.equal(top('An authentication error has occurred. The Local Security Authority cannot be contacted.')!.entry.id, 'mstsc-lsa-cannot-be-contacted');
    assert.equal(top('An authentication error has occurred (Code: 0x80090302)')!.entry.id, 'credssp-sec-e-unsupported-function');
    const disc = ids('Error code: 0x904\nExtended error code: 0x7');
    assert.deepEqual(disc, ['mstsc-0x904', 'mstsc-extended-0x7']);
    assert.deepEqual(ids('EnforceChannelBinding'), ['gateway-status-bad-bindings']);
    assert.deepEqual(ids('AllowEncryptionOracle'), ['credssp-encryption-oracle']);
  });
});

describe('explain: reading codes and text', () => {
  it('reads numbers in any base, negative int32 included, and nothing above 32 bits', () => {
    assert.deepEqual(readNumber('0x507', false), { value: 0x507, form: 'hex' });
    assert.deepEqual(readNumber('0x0002000c', false), { value: 0x2000c, form: 'hex' });
    assert.deepEqual(readNumber('c000006d', false), { value: 0xc000006d, form: 'hex-bare' });
    assert.deepEqual(readNumber('1073741715', true), { value: 0xc000006d, form: 'negative' });
    assert.deepEqual(readNumber('50331671', false), { value: 50331671, form: 'decimal' });
    assert.equal(readNumber('4294967296', false), undefined);
    assert.equal(readNumber('0x100000000', false), undefined);
    assert.equal(readNumber('12345678', false)?.form, 'decimal', 'eight digits without a letter are decimal');
    assert.equal(readNumber('sec_nla', false), undefined);
  });

  it('a minus sign counts only in front of a number that starts a word', () => {
    const t = tokenize('xfreerdp -sec-nla x-5 -1073741715');
    const neg = t.tokens.filter((_, i) => t.negative[i] === 1);
    assert.deepEqual(neg, ['1073741715']);
  });

  it('normalises case, quotes, spaces and the remote computer name', () => {
    assert.equal(normaliseText('Remote computer: SRV01.example.com\nThis could'), 'remote computer:\nthis could');
    assert.equal(normaliseText('Remote computer:\n  10.0.0.1 This'), 'remote computer: this');
    assert.equal(normaliseText('can\u2019t find the computer \u201cSRV01\u201d.'), "can't find the computer.");
    assert.equal(normaliseText('A\u00a0B'), 'a b');
  });

  it('decimal numbers inside running text count only after a code word or with six digits', () => {
    assert.deepEqual(ids('2308'), ['mstsc-0x904'], 'the whole input');
    assert.deepEqual(ids('disconnect reason 2308'), ['mstsc-0x904']);
    assert.deepEqual(ids('xrdp[2308]: connection received'), [], 'a pid');
    assert.deepEqual(ids('port 2308 open'), []);
    assert.deepEqual(ids('[20220911-22:21:17] started 50331671 times'), ['gateway-0x03000017'], 'eight digits count anywhere');
  });

  it('small codes need their context: "5" alone is nothing, "failureCode 5" is HYBRID_REQUIRED_BY_SERVER', () => {
    assert.deepEqual(ids('5'), []);
    assert.deepEqual(ids('error 5'), []);
    assert.deepEqual(ids('RDP_NEG_FAILURE 0x00000001'), ['neg-ssl-required-by-server']);
    assert.deepEqual(ids('ERRCONNECT 0x0C'), ['freerdp-security-nego-connect-failed']);
    assert.deepEqual(ids('Early User Authorization Result: 5 (AUTHZ_ACCESS_DENIED)'), ['credssp-early-user-auth-denied']);
  });

  it('ranks an exact code above a whole phrase above part of a phrase', () => {
    const r = run('An authentication error has occurred (code 0x507)');
    assert.deepEqual(r.matches.map((m) => [m.entry.id, m.evidence[0]!.kind]), [
      ['mstsc-0x507', 'code'],
      ['mstsc-authentication-error', 'phrase'],
    ]);
    const partial = top('Your computer cannot connect because a security package error occurred somewhere')!;
    assert.equal(partial.evidence[0]!.kind, 'partial-phrase');
    assert.ok(partial.confidence < 0.65);
    for (const text of [ORACLE_DIALOG, XRDP_MAC_CLIENT_LOG]) {
      const c = run(text).matches.map((m) => m.confidence);
      assert.deepEqual(c, [...c].sort((a, b) => b - a), 'sorted by confidence');
    }
  });

  it('nothing matched: no matches, and says what was tried', () => {
    const r = run('hello world, the printer is on fire (code 42)');
    assert.deepEqual(r.matches, []);
    assert.deepEqual(r.tried.numbers.map((n) => n.value), [42]);
    assert.ok(r.tried.phrases > 90);
    const text = renderExplain(r, { color: false, detailed: 5 });
    assert.match(text, /^No entry of the catalogue matches this text\./);
    assert.match(text, /numbers read as codes: 42 = 0x02A/);
    assert.match(text, /exit codes: none \(write them as "exit code 133"\)/);
  });

  it(`reads at most ${MAX_INPUT_CHARS} characters and says so`, () => {
    const long = 'x '.repeat(MAX_INPUT_CHARS) + ' 0x507';
    const r = run(long);
    assert.equal(r.input.truncated, true);
    assert.equal(r.input.chars, MAX_INPUT_CHARS);
    assert.deepEqual(r.matches, [], 'the code after the limit is not read');
    assert.match(renderExplain(r, { color: false, detailed: 5 }), /only the first 64 KiB of the input was read/);
    assert.equal(run('0x507').input.truncated, false);
  });
});

describe('explain: output', () => {
  it('JSON: matches[] with id, title, confidence, causes (summary, confirm) and fixes (summary, where, safety, steps, undo)', () => {
    const j = explainJson(run(ORACLE_DIALOG));
    assert.equal(j.schemaVersion, 1);
    assert.equal(j.matches.length, 1);
    const m = j.matches[0]!;
    assert.equal(m.id, 'credssp-encryption-oracle');
    assert.equal(typeof m.title, 'string');
    assert.equal(typeof m.confidence, 'number');
    assert.ok(m.causes.length >= 1);
    for (const c of m.causes) assert.deepEqual(Object.keys(c).filter((k) => k !== 'command').sort(), ['confirm', 'summary']);
    for (const f of m.fixes) {
      assert.ok(['server', 'client', 'gateway', 'network'].includes(f.where));
      assert.ok(['safe', 'weakens-security'].includes(f.safety));
      assert.ok(f.steps.length > 0 && typeof f.undo === 'string');
      if (f.safety === 'weakens-security') assert.ok(f.weakens && f.saferAlternative);
    }
    assert.equal(m.fixes[0]!.safety, 'safe');
    assert.equal(JSON.parse(JSON.stringify(j)).matches[0].id, m.id, 'plain JSON');
    const none = explainJson(run('nothing to see'));
    assert.deepEqual(none.matches, []);
    assert.ok(Array.isArray(none.tried.numbers));
  });

  it('terminal: meaning, causes with confirm, fixes safest first with the weakens-security marker after the safe ones', () => {
    const text = renderExplain(run(ORACLE_DIALOG), { color: false, detailed: 5, width: 100 });
    assert.match(text, /^rdpsec explain: 1 match/);
    assert.match(text, /Likely causes, most likely first:/);
    assert.match(text, /confirm: rdpsec probe shows the server's CredSSP/);
    assert.match(text, /run: rdpsec probe HOST/);
    const safe = text.indexOf('1. [safe] (server) Install the CredSSP update on the server');
    const weak = text.indexOf('[weakens-security] (client) Set AllowEncryptionOracle=2');
    assert.ok(safe > 0 && weak > safe, 'the safe fix first');
    assert.match(text.slice(weak), /weakens: CredSSP's protection against CVE-2018-0886/);
    assert.match(text.slice(weak), /prefer: Patch the server/);
    for (const line of text.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
    const undocumented = renderExplain(run('0x507'), { color: false, detailed: 5 });
    assert.match(undocumented, /No documented meaning\./);
    assert.match(undocumented, /To find out what failed:/);
    assert.doesNotMatch(undocumented, /Fixes, safest first/);
  });

  it('terminal: matches beyond the detailed ones are listed one per line', () => {
    const text = renderExplain(run(XRDP_MAC_CLIENT_LOG), { color: false, detailed: 1 });
    assert.match(text, /Also matched \(use --all to see them in full\):\n2\. /);
  });
});

describe('explain under random input', () => {
  it('never throws on random strings, and answers each in a few milliseconds', () => {
    let slowest = 0;
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.array(fc.constantFrom('0x507', '-', 'error', 'code', 'exit', '133', 'remote computer:', '"', '\n', 'ssl', 'mac', 'bad', 'record', ' ', 'C000006D', '_', 'failure'), { maxLength: 60 }).map((a) => a.join(' '))), (s) => {
        const t0 = performance.now();
        const r = run(s);
        slowest = Math.max(slowest, performance.now() - t0);
        assert.ok(Array.isArray(r.matches));
        for (const m of r.matches) assert.ok(m.confidence > 0 && m.confidence <= 1);
      }),
      { numRuns: 2000 },
    );
    assert.ok(slowest < 100, `slowest ${slowest.toFixed(1)} ms`);
  });

  it('stays fast on the worst 64 KiB inputs: one catalogue word repeated, many numbers, many lines', () => {
    for (const input of ['remote '.repeat(20000), 'computer connect '.repeat(8000), '0x507 '.repeat(20000), 'error code 2308\n'.repeat(5000), 'a'.repeat(200000)]) {
      const t0 = performance.now();
      const r = run(input);
      const ms = performance.now() - t0;
      assert.ok(ms < 1500, `${input.slice(0, 20)}...: ${ms.toFixed(0)} ms`);
      assert.ok(r.input.chars <= MAX_INPUT_CHARS);
    }
  });
});
