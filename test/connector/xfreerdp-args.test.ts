/**
 * xfreerdp command lines read as client profiles (src/connector/xfreerdp-args.ts). The attempts
 * are generated from FreeRDP 2.x nego.c; for the default options and /sec:nla, /sec:tls and
 * /sec:rdp they must be exactly the catalogue's xfreerdp profiles, which were checked against
 * captures, so generator and data agree.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ClientInputError } from '../../src/connector/client-input.js';
import { checkProfile, clientProfile, connectorConfigFor, type ClientProfile } from '../../src/connector/client-profiles.js';
import { freerdpAttempts, readXfreerdpArgs, splitCommandLine } from '../../src/connector/xfreerdp-args.js';
import { NEG_REQ_FLAGS } from '../../src/pdu/nego.js';
import { PolicyError } from '../../src/policy/errors.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/clients/', import.meta.url));
const CREDS = { user: 'alice', domain: 'CORP', ntHash: Buffer.from('10b2f1961375b20126508c2267862bf0', 'hex'), password: new Uint8Array(Buffer.from('S3cret!', 'utf16le')) };

/** The attempts without their notes, each `on` list sorted: what the fallback graph says. */
function graph(p: ClientProfile): unknown {
  return p.attempts.map((a) => ({
    requestedProtocols: a.requestedProtocols,
    stopAfter: a.stopAfter,
    encryptionMethods: a.encryptionMethods,
    after: a.after?.map((x) => ({ attempt: x.attempt, on: [...x.on].sort() })),
  }));
}

describe('xfreerdp command lines: the generator agrees with the catalogue', () => {
  const cases: [string, string][] = [
    ['', 'xfreerdp-2.11'],
    ['xfreerdp /v:host', 'xfreerdp-2.11'],
    ['xfreerdp /v:host /sec:nla', 'xfreerdp-2.11-sec-nla'],
    ['xfreerdp /v:host /sec:tls', 'xfreerdp-2.11-sec-tls'],
    ['xfreerdp /v:host /sec:rdp', 'xfreerdp-2.11-sec-rdp'],
    ['/v:host -sec-tls -sec-rdp', 'xfreerdp-2.11-sec-nla'],
  ];
  for (const [line, name] of cases) {
    it(`'${line}' makes exactly ${name}`, () => {
      const r = readXfreerdpArgs(line);
      const want = clientProfile(name);
      checkProfile(r.profile);
      assert.deepEqual(graph(r.profile), graph(want));
      assert.deepEqual(r.profile.accepts, want.accepts);
      assert.deepEqual(connectorConfigFor(r.profile, { credentials: CREDS }), connectorConfigFor(want, { credentials: CREDS }));
    });
  }

  it('every combination of enabled protocols gives a consistent graph', () => {
    for (let m = 1; m < 16; m++) {
      const sec = { rdp: !!(m & 1), tls: !!(m & 2), nla: !!(m & 4), ext: !!(m & 8) };
      const { attempts, accepts } = freerdpAttempts(sec);
      checkProfile({ ...clientProfile('xfreerdp-2.11'), attempts, accepts });
      // the first attempt is the highest enabled protocol; the last fallback is RDP when enabled
      assert.ok(attempts.length >= 1);
      assert.equal(attempts.some((a) => a.requestedProtocols === null || a.requestedProtocols.join() === 'RDP'), sec.rdp);
    }
    assert.deepEqual(freerdpAttempts({ rdp: false, tls: false, nla: false, ext: false }).attempts, []);
  });

  it('NLA and RDP without TLS: a TLS selection is refused and RDP follows without RDP_NEG_REQ (nego_recv)', () => {
    const r = readXfreerdpArgs('/v:h -sec-tls');
    assert.deepEqual(r.profile.accepts, ['RDP', 'HYBRID']);
    assert.deepEqual(graph(r.profile), [
      { requestedProtocols: ['SSL', 'HYBRID'], stopAfter: undefined, encryptionMethods: undefined, after: undefined },
      {
        requestedProtocols: ['RDP'],
        stopAfter: undefined,
        encryptionMethods: undefined,
        after: [{ attempt: 0, on: ['SSL_CERT_NOT_ON_SERVER', 'SSL_NOT_ALLOWED_BY_SERVER'] }],
      },
      {
        requestedProtocols: null,
        stopAfter: undefined,
        encryptionMethods: undefined,
        after: [{ attempt: 0, on: ['HYBRID_REQUIRED_BY_SERVER', 'INCONSISTENT_FLAGS', 'SSL_REQUIRED_BY_SERVER', 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER', 'UNEXPECTED_PROTOCOL', 'UNKNOWN_FAILURE_CODE'] }],
      },
    ]);
  });

  it('+sec-ext starts with HYBRID_EX requested and falls back through NLA, TLS and RDP', () => {
    const r = readXfreerdpArgs('xfreerdp /v:h +sec-ext');
    assert.deepEqual(r.profile.attempts[0]?.requestedProtocols, ['SSL', 'HYBRID', 'HYBRID_EX']);
    assert.deepEqual(r.profile.attempts[1]?.requestedProtocols, ['SSL', 'HYBRID']);
    assert.ok(!r.profile.accepts?.includes('HYBRID_EX'));
    assert.match(r.profile.unverified ?? '', /HYBRID_EX/);
    checkProfile(r.profile);
  });
});

describe('xfreerdp command lines: options', () => {
  it('reads the fixture: target, user and domain kept, password dropped, gateway noted', () => {
    const r = readXfreerdpArgs(readFileSync(`${FIXTURES}xfreerdp-gateway.txt`, 'utf8'), { file: 'xfreerdp-gateway.txt' });
    assert.equal(r.program, 'xfreerdp');
    assert.deepEqual(r.target, { host: 'ts01.corp.example', port: 3390 });
    assert.equal(r.user, 'alice');
    assert.equal(r.domain, 'CORP');
    assert.equal(r.serverAuthentication, 'connect-without-warning');
    assert.ok(!JSON.stringify(r).includes('S3cret'));
    assert.deepEqual(r.ignored.find((i) => i.setting === '/p'), { setting: '/p', reason: 'a password on the command line: never kept', line: 1, column: 52 });
    assert.equal(r.notes.find((n) => n.setting === '/g')?.modelled, false);
    assert.match(r.profile.notModelled ?? '', /RD Gateway/);
    assert.equal(r.ignored.find((i) => i.setting === '/size')?.reason, 'not a security option');
    assert.deepEqual(r.profile.accepts, ['HYBRID']);
  });

  it('/restricted-admin and /pth send RESTRICTED_ADMIN_MODE_REQUIRED; the hash is not kept', () => {
    for (const line of ['/v:h /restricted-admin', '/v:h /pth:8846f7eaee8fb117ad06bdd830b7586c']) {
      const r = readXfreerdpArgs(line);
      assert.equal(r.profile.restrictedAdmin, true);
      assert.ok(connectorConfigFor(r.profile).every((c) => c.requestedProtocols === null || c.negReqFlags === NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED));
      assert.ok(!JSON.stringify(r).includes('8846f7ea'));
    }
  });

  it('+auth-only stops after CredSSP; /tls-seclevel and -nego are noted as not modelled', () => {
    const r = readXfreerdpArgs('xfreerdp3 /v:[::1]:3389 +auth-only /tls-seclevel:0 -nego');
    assert.equal(r.profile.stopAfter, 'credssp');
    assert.deepEqual(r.target, { host: '::1', port: 3389 });
    assert.equal(r.notes.find((n) => n.setting === '/tls-seclevel')?.modelled, false);
    assert.equal(r.notes.find((n) => n.setting === '-nego')?.modelled, false);
    assert.match(r.profile.unverified ?? '', /FreeRDP 3/);
  });

  it('FreeRDP 3 /sec:P:on|off toggles one protocol', () => {
    assert.deepEqual(readXfreerdpArgs('/v:h /sec:tls:off').enabled, { rdp: true, tls: false, nla: true, ext: false });
  });

  it('bad input fails with line and column', () => {
    const cases: [string, number, number][] = [
      ["xfreerdp /v:h /u:'alice", 1, 18],
      ['xfreerdp /v:h \\\n  /sec:foo', 2, 3],
      ['xfreerdp /port:70000', 1, 10],
      ['xfreerdp "/v:h', 1, 10],
      ['xfreerdp /tls-seclevel:9', 1, 10],
    ];
    for (const [text, line, column] of cases) {
      assert.throws(() => readXfreerdpArgs(text), (e: unknown) => e instanceof ClientInputError && e.line === line && e.column === column, text);
    }
    assert.throws(() => readXfreerdpArgs('/sec:rdp -sec-rdp'), /no security protocol is enabled/);
  });

  it('shell quoting', () => {
    assert.deepEqual(
      splitCommandLine(`a 'b c' "d \\"e\\"" f\\ g # comment\nh`).map((t) => t.text),
      ['a', 'b c', 'd "e"', 'f g', 'h'],
    );
  });

  it('random text only raises PolicyError', () => {
    const TOKEN = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('xfreerdp', '/v:', '/v:[::1', '/sec:', '/sec:nla:maybe', '+sec-ext', '-sec-nla', '-sec-tls', '-sec-rdp', '/p:x', '/port:', '"', "'", '\\', '/cert:ignore', '/u:a\\b'),
    );
    fc.assert(
      fc.property(fc.array(TOKEN, { maxLength: 10 }), (tokens) => {
        try {
          readXfreerdpArgs(tokens.join(' '));
        } catch (e) {
          if (!(e instanceof PolicyError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
