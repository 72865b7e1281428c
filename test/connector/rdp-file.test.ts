/**
 * .rdp files read as client profiles (src/connector/rdp-file.ts): an mstsc "Save As" file in
 * UTF-16LE with a BOM, an mstsc file edited to turn CredSSP off, a Microsoft Remote Desktop for
 * macOS export with an RD Gateway; errors with line and column; random input.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ClientInputError } from '../../src/connector/client-input.js';
import { ServerAcceptor } from '../../src/acceptor/acceptor.js';
import { acceptorPolicy } from '../../src/acceptor/from-server-policy.js';
import { ServerIdentity } from '../../src/acceptor/server-identity.js';
import { attemptOutcome, checkProfile, clientProfile, connectorConfigFor, nextAttempt, type ClientProfile } from '../../src/connector/client-profiles.js';
import { ClientConnector } from '../../src/connector/connector.js';
import { loadCredsspClient } from '../../src/connector/credssp-loader.js';
import { readRdpFile, parseRdpText } from '../../src/connector/rdp-file.js';
import { readXfreerdpArgs } from '../../src/connector/xfreerdp-args.js';
import { generateRsaKeyPairLE } from '../../src/crypto/rsa.js';
import { preset } from '../../src/policy/presets.js';
import { NEG_REQ_FLAGS, PROTOCOL } from '../../src/pdu/nego.js';
import { PolicyError } from '../../src/policy/errors.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/clients/', import.meta.url));
const fixture = (name: string): Buffer => readFileSync(`${FIXTURES}${name}`);
const CREDS = { user: 'alice', domain: 'CORP', ntHash: Buffer.from('10b2f1961375b20126508c2267862bf0', 'hex'), password: new Uint8Array(Buffer.from('S3cret!', 'utf16le')) };

function onlyPolicyError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
  }
}

describe('.rdp files', () => {
  it('reads an mstsc file saved as UTF-16LE with a BOM; security defaults leave the profile as mstsc-win10', () => {
    const r = readRdpFile(fixture('mstsc-saved.rdp'), { file: 'mstsc-saved.rdp' });
    assert.equal(r.encoding, 'utf-16le');
    assert.equal(r.serverAuthentication, 'warn');
    assert.deepEqual(r.target, { host: 'ts01.corp.example', port: 3389 });
    assert.equal(r.user, 'alice');
    assert.equal(r.domain, 'CORP');
    checkProfile(r.profile);
    assert.deepEqual(connectorConfigFor(r.profile, { credentials: CREDS }), connectorConfigFor(clientProfile('mstsc-win10'), { credentials: CREDS }));
    // gatewayusagemethod 4 is recorded, not simulated
    const gw = r.notes.find((n) => n.setting === 'gatewayusagemethod');
    assert.equal(gw?.modelled, false);
    assert.match(gw?.effect ?? '', /not simulated/);
    // display settings are listed as unrelated, not as unknown
    assert.equal(r.ignored.find((i) => i.setting === 'desktopwidth')?.reason, 'not a security setting');
  });

  it('never keeps a saved password: listed by name only, its bytes nowhere in the result', () => {
    const r = readRdpFile(fixture('mstsc-saved.rdp'));
    const pw = r.ignored.find((i) => i.setting === 'password 51');
    assert.ok(pw);
    assert.equal(pw.value, undefined);
    assert.ok(!JSON.stringify(r).includes('01000000D08C9DDF'));
  });

  it('enablecredsspsupport:i:0 requests TLS alone, without CredSSP, and refuses a HYBRID selection', () => {
    const r = readRdpFile(fixture('credssp-off.rdp'), { file: 'credssp-off.rdp' });
    assert.deepEqual(
      r.profile.attempts.map((a) => a.requestedProtocols),
      [['SSL'], ['RDP']], // the base's fallback to Standard RDP Security stays
    );
    assert.equal(r.profile.credssp, undefined);
    assert.deepEqual(r.profile.accepts, ['RDP', 'SSL']);
    assert.equal(r.serverAuthentication, 'connect-without-warning');
    assert.deepEqual(r.target, { host: 'legacy-host', port: 3390 });
    const [cfg] = connectorConfigFor(r.profile, { credentials: { user: 'bob', domain: '', ntHash: new Uint8Array(16) } });
    assert.equal(cfg?.requestedProtocols, PROTOCOL.SSL);
    assert.deepEqual(cfg?.acceptedProtocols, [PROTOCOL.RDP, PROTOCOL.SSL]);
    assert.equal(cfg?.credssp, undefined);
    assert.match(r.profile.unverified ?? '', /enablecredsspsupport:i:0/);
  });

  it('a macOS export with an RD Gateway: the gateway is noted as future work, not dropped', () => {
    const r = readRdpFile(fixture('macos-export.rdp'));
    assert.equal(r.encoding, 'utf-8');
    assert.deepEqual(r.gateway, { hostname: 'rdgw.example.com', usageMethod: 1, credentialsSource: 0 });
    for (const n of r.notes.filter((x) => x.setting.startsWith('gateway'))) assert.equal(n.modelled, false);
    assert.match(r.notes.find((n) => n.setting === 'gatewayhostname')?.effect ?? '', /future work/);
    assert.match(r.profile.notModelled ?? '', /RD Gateway rdgw\.example\.com/);
    assert.equal(r.notes.find((n) => n.setting === 'allowed security protocols')?.modelled, true);
    assert.equal(r.user, 'alice@example.com');
    assert.deepEqual(r.target, { host: '10.20.30.40' });
    assert.deepEqual(
      r.profile.attempts.map((a) => a.requestedProtocols),
      [['SSL', 'HYBRID', 'HYBRID_EX'], ['RDP']],
    );
  });

  it('restricted admin and RDSAAD change the request', () => {
    const r = readRdpFile('full address:s:h\nrestricted administrative mode:i:1\nenablerdsaadauth:i:1\n');
    assert.equal(r.profile.restrictedAdmin, true);
    assert.deepEqual(r.profile.attempts[0]?.requestedProtocols, ['SSL', 'HYBRID', 'HYBRID_EX', 'RDSAAD']);
    const [cfg] = connectorConfigFor(r.profile);
    assert.equal(cfg?.negReqFlags, NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED);
    checkProfile(r.profile);
  });

  it('a later line overrides an earlier one, which is listed', () => {
    const r = readRdpFile('authentication level:i:0\nauthentication level:i:1\n');
    assert.equal(r.serverAuthentication, 'do-not-connect');
    assert.match(r.ignored.find((i) => i.setting === 'authentication level')?.reason ?? '', /line 2/);
  });

  it('keeps the base it is given (another mstsc profile) and refuses a non-mstsc base', () => {
    const r = readRdpFile('enablecredsspsupport:i:1\n', { base: 'mstsc-win10-aeo2' });
    assert.equal(r.profile.credssp?.allowEncryptionOracle, 2);
    assert.throws(() => readRdpFile('x:i:1', { base: 'xfreerdp-2.11' }), ClientInputError);
  });

  it('malformed lines fail with line and column', () => {
    const cases: [string, number, number, string][] = [
      ['screen mode id:i:1\nno colon here\n', 2, 14, 'Syntax'],
      ['a:q:1', 1, 3, 'Syntax'],
      ['session bpp:i:lots', 1, 15, 'InvalidValue'],
      ['x:b:0g', 1, 5, 'InvalidValue'],
      ['\n\nauthentication level:i:7', 3, 24, 'InvalidValue'],
      ['enablecredsspsupport:s:0', 1, 24, 'InvalidValue'],
    ];
    for (const [text, line, column, kind] of cases) {
      assert.throws(
        () => readRdpFile(text, { file: 't.rdp' }),
        (e: unknown) => e instanceof ClientInputError && e.line === line && e.column === column && e.kind === kind && e.file === 't.rdp',
        text,
      );
    }
  });

  it('a malformed password line never echoes its value', () => {
    const r = parseRdpText('password 51:b:zz-not-hex');
    assert.deepEqual(r, [{ name: 'password 51', type: 'b', value: '', line: 1, column: 15 }]);
  });

  it('an oversized file is refused before decoding', () => {
    assert.throws(() => readRdpFile(new Uint8Array(1024 * 1024 + 1)), (e: unknown) => e instanceof ClientInputError && e.kind === 'Encoding');
  });
});

describe('.rdp files under random input', () => {
  const RUNS = 500;
  const LINE = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('authentication level:i:', 'enablecredsspsupport:i:0', 'gatewayusagemethod:i:9', 'password 51:b:', 'full address:s:[::1]:99999', ':::', 'a:i:99999999999', 'server port:i:0', 'username:s:\\'),
  );
  it('random bytes only raise PolicyError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => onlyPolicyError(() => readRdpFile(b))), { numRuns: RUNS });
  });
  it('random lines only raise PolicyError', () => {
    fc.assert(fc.property(fc.array(LINE, { maxLength: 12 }), (lines) => onlyPolicyError(() => readRdpFile(lines.join('\r\n')))), { numRuns: RUNS });
  });
  it('every truncation and random edits of the mstsc file only raise PolicyError', () => {
    const sample = fixture('mstsc-saved.rdp');
    for (let n = 0; n <= sample.length; n += 7) onlyPolicyError(() => readRdpFile(sample.subarray(0, n)));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: sample.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const b = Buffer.from(sample);
        for (const [i, v] of edits) b[i] = v;
        onlyPolicyError(() => readRdpFile(b));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('derived profiles against the acceptor (in memory, no TLS handshake)', () => {
  before(() => loadCredsspClient());
  const IDENTITY = new ServerIdentity(generateRsaKeyPairLE(1024));
  const SERVER_KEY = Buffer.concat([Buffer.from('3082010a02820101', 'hex'), randomBytes(257), Buffer.from('0203010001', 'hex')]);

  /** The client's attempts as its graph says, each as [requestedProtocols, how it ended]. */
  function run(profile: ClientProfile, presetName: string): [number | null, string][] {
    const configs = connectorConfigFor(profile, { stopAfter: 'negotiation' });
    const path: [number | null, string][] = [];
    for (let i: number | undefined = 0; i !== undefined && path.length < 10; ) {
      const s = new ServerAcceptor(acceptorPolicy(preset(presetName)), IDENTITY, randomBytes);
      const c = new ClientConnector(configs[i]!);
      const toClient: Uint8Array[] = [];
      const toServer = (out: Uint8Array[]): void => {
        for (const o of out) if (!s.done) toClient.push(...s.step(o).output);
      };
      toServer(c.step(null).output);
      for (let guard = 0; !c.done && guard < 50; guard++) {
        if (c.pause) {
          s.markSecurityUpgradeDone({ version: 'TLSv1.2', serverPublicKey: SERVER_KEY });
          toServer(c.markSecurityUpgradeDone({ version: 'TLSv1.2', serverPublicKey: SERVER_KEY }).output);
          continue;
        }
        const next = toClient.shift();
        if (!next) break;
        toServer(c.step(next).output);
      }
      path.push([configs[i]!.requestedProtocols, c.done ? attemptOutcome(c) : 'waiting']);
      i = c.done ? nextAttempt(profile, i, c) : undefined;
    }
    return path;
  }

  it('mstsc with enablecredsspsupport:i:0 meets an NLA-only server: HYBRID_REQUIRED_BY_SERVER', () => {
    const p = readRdpFile(fixture('credssp-off.rdp')).profile;
    assert.deepEqual(run(p, 'windows-2019'), [[PROTOCOL.SSL, 'HYBRID_REQUIRED_BY_SERVER']]);
    assert.deepEqual(run(p, 'windows-2008r2-tls10'), [[PROTOCOL.SSL, 'connected']]);
  });

  it('xfreerdp -sec-tls against xrdp: TLS selected and refused, then RDP without RDP_NEG_REQ', () => {
    const p = readXfreerdpArgs('xfreerdp /v:h -sec-tls').profile;
    assert.deepEqual(run(p, 'xrdp-debian'), [
      [PROTOCOL.SSL | PROTOCOL.HYBRID, 'UNEXPECTED_PROTOCOL'],
      [null, 'connected'],
    ]);
  });
});
