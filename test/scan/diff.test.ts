/**
 * diffScans on postures from real probes of our own server (presets on 127.0.0.1, port 0) and on
 * hand-modified copies of them: TLS 1.0 dropped, NLA now required, a certificate replaced, hosts
 * gone, appeared or unreachable, a client that stops connecting. Property tests: a scan against
 * itself has no changes, and diff(a, b) is the mirror of diff(b, a). Memory: 5,000 endpoints of
 * large records diff while holding only their facts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { generateSelfSignedCertificate, type PemPair } from '../../src/crypto/self-signed.js';
import { postureFindings } from '../../src/diagnose/posture-findings.js';
import { preset } from '../../src/policy/presets.js';
import type { Posture } from '../../src/probe/posture.js';
import { probeServer } from '../../src/probe/probe.js';
import { diffScans, recordChanges } from '../../src/scan/diff.js';
import type { HostScanRecord, PostureChange, ScanDiff } from '../../src/scan/record.js';
import { summarizePosture } from '../../src/scan/summary.js';
import { serve } from '../../src/serve/server.js';

const PRESETS = ['windows-2008r2-tls10', 'windows-2019', 'windows-hardened', 'windows-legacy-rdp'] as const;
type PresetName = (typeof PRESETS)[number];

let tls: PemPair;
let otherTls: PemPair;
const real = new Map<string, Posture>();
const closers: (() => Promise<void> | void)[] = [];

async function probePreset(name: string, cert: PemPair): Promise<Posture> {
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset(name), tls: cert, onConnection: () => {} });
  closers.push(() => l!.close());
  const p = await probeServer({ host: '127.0.0.1', port: l!.port, timeoutMs: 3000, parallel: 4 });
  p.findings = postureFindings(p);
  return p;
}

before(async () => {
  [tls, otherTls] = await Promise.all([generateSelfSignedCertificate('diff-a'), generateSelfSignedCertificate('diff-b')]);
  const probed = await Promise.all([...PRESETS.map((n) => probePreset(n, tls)), probePreset('windows-2019', otherTls)]);
  PRESETS.forEach((n, i) => real.set(n, probed[i]!));
  real.set('windows-2019/other-cert', probed[PRESETS.length]!);
  for (const [n, p] of real) assert.ok(p.reachable, `${n} answered the probe`);
});
after(async () => {
  for (const c of closers) await c();
});

/** A scan record as `rdpsec scan` makes it, for the posture put at host:port. */
function record(p: Posture, host = 'rdp.example.test', port = 3389): HostScanRecord {
  const posture = structuredClone(p);
  posture.target = { host, port };
  return {
    version: 1,
    target: { host, port, input: host },
    startedAt: posture.startedAt,
    durationMs: posture.durationMs,
    tries: 1,
    status: 'ok',
    posture,
    summary: summarizePosture(posture),
  };
}

/** A hand-modified copy: change the posture, then findings and summary follow as the scanner would compute them. */
function modified(r: HostScanRecord, edit: (p: Posture) => void): HostScanRecord {
  const c = structuredClone(r);
  edit(c.posture!);
  c.posture!.findings = postureFindings(c.posture!);
  c.summary = summarizePosture(c.posture!);
  return c;
}

function unreachable(host: string, port = 3389): HostScanRecord {
  return {
    version: 1,
    target: { host, port, input: host },
    startedAt: new Date(0).toISOString(),
    durationMs: 3000,
    tries: 2,
    status: 'unreachable',
    error: { kind: 'timeout', phase: 'connect', message: 'no answer in 3000 ms' },
    posture: null,
    summary: null,
  };
}

const side = (id: number, records: HostScanRecord[]) => ({ meta: { id, startedAt: new Date(id * 1000).toISOString() }, records });
const change = (changes: PostureChange[], field: string) => changes.find((c) => c.field === field);
const flip = { better: 'worse', worse: 'better', neutral: 'neutral' } as const;

function assertMirror(ab: ScanDiff, ba: ScanDiff): void {
  const key = (t: { host: string; port: number }) => `${t.host}:${t.port}`;
  assert.deepEqual(ab.appeared.map(key).sort(), ba.disappeared.map(key).sort(), 'appeared <-> disappeared');
  assert.deepEqual(ab.disappeared.map(key).sort(), ba.appeared.map(key).sort(), 'disappeared <-> appeared');
  assert.equal(ab.unchanged, ba.unchanged);
  const mirrored = new Map(ba.changed.map((c) => [key(c.target), c.changes]));
  assert.equal(ab.changed.length, ba.changed.length);
  for (const { target, changes } of ab.changed) {
    const other = mirrored.get(key(target));
    assert.ok(other, `${key(target)} changed both ways`);
    const norm = (cs: PostureChange[]) => cs.map((c) => [c.field, c.before, c.after, c.direction]).sort();
    assert.deepEqual(norm(changes), norm(other.map((c) => ({ ...c, before: c.after, after: c.before, direction: flip[c.direction] }))), key(target));
  }
}

describe('diffScans on real probes', () => {
  test('a scan against itself: nothing changed, nothing appeared or disappeared', () => {
    const scan = PRESETS.map((n, i) => record(real.get(n)!, `host${i}.test`));
    const d = diffScans(side(1, scan), side(2, scan));
    assert.deepEqual([d.appeared, d.disappeared, d.changed, d.unchanged], [[], [], [], PRESETS.length]);
    assert.deepEqual([d.from.id, d.to.id], [1, 2]);
  });

  test('an endpoint moved from windows-2008r2-tls10 to windows-2019: NLA required, CredSSP patched, TLS 1.2', () => {
    const d = diffScans(side(1, [record(real.get('windows-2008r2-tls10')!)]), side(2, [record(real.get('windows-2019')!)]));
    assert.equal(d.changed.length, 1);
    const cs = d.changed[0]!.changes;
    assert.deepEqual(change(cs, 'nla'), { field: 'nla', before: 'not required', after: 'required', direction: 'better', text: 'started requiring NLA' });
    assert.deepEqual(change(cs, 'protocol.SSL')?.direction, 'better', JSON.stringify(cs));
    assert.match(change(cs, 'protocol.SSL')!.text, /^stopped accepting TLS without NLA/);
    assert.deepEqual(change(cs, 'protocol.HYBRID_EX')?.direction, 'better');
    const cred = change(cs, 'credssp.version')!;
    assert.deepEqual([cred.before, cred.after, cred.direction], ['2', '6', 'better']);
    assert.match(cred.text, /now with the CVE-2018-0886 fix/);
    assert.equal(change(cs, 'tls.TLSv1.2')?.text, 'started accepting TLS 1.2');
    assert.equal(change(cs, 'finding.nla-not-required')?.direction, 'better');
    assert.equal(change(cs, 'tls.TLSv1'), undefined, 'both accept TLS 1.0: no change');
    // and back: the mirror
    assertMirror(d, diffScans(side(2, [record(real.get('windows-2019')!)]), side(1, [record(real.get('windows-2008r2-tls10')!)])));
  });

  test('windows-legacy-rdp -> windows-hardened: Standard RDP Security and its weak methods gone', () => {
    const d = diffScans(side(1, [record(real.get('windows-legacy-rdp')!)]), side(2, [record(real.get('windows-hardened')!)]));
    const cs = d.changed[0]!.changes;
    assert.equal(change(cs, 'protocol.RDP')?.direction, 'better', JSON.stringify(cs, null, 1));
    const weakest = change(cs, 'encryption.weakest')!;
    assert.equal(weakest.after, null);
    assert.equal(weakest.direction, 'better');
    assert.equal(change(cs, 'nla')?.direction, 'better');
    // what got worse comes with the new layers (a self-signed TLS certificate, CredSSP judged by its
    // CHALLENGE alone); nothing about Standard RDP Security got worse
    const worse = cs.filter((c) => c.direction === 'worse').map((c) => c.field);
    assert.deepEqual(worse.filter((f) => /^(protocol\.RDP|legacy|method\.|encryption\.|finding\.rc4|finding\.encryption)/.test(f)), [], worse.join(', '));
    assert.ok(worse.every((f) => /^(credssp\.|finding\.(cert|credssp|tls))/.test(f)), worse.join(', '));
  });

  test('the same preset behind a new certificate: only the certificate changed', () => {
    const d = diffScans(side(1, [record(real.get('windows-2019')!)]), side(2, [record(real.get('windows-2019/other-cert')!)]));
    const cs = d.changed[0]?.changes ?? [];
    const cert = change(cs, 'certificate');
    assert.ok(cert, JSON.stringify(cs));
    assert.equal(cert.direction, 'neutral');
    assert.match(cert.text, /^TLS certificate replaced \(SHA-256 [0-9a-f]{16}\.\.\. -> [0-9a-f]{16}\.\.\.\)$/);
    assert.equal(cert.before, real.get('windows-2019')!.tls!.certificate!.sha256);
    assert.deepEqual(
      cs.map((c) => c.field).filter((f) => f !== 'certificate' && f !== 'certificate.expires'),
      [],
      'nothing but the certificate and its expiry',
    );
  });
});

describe('diffScans on hand-modified postures', () => {
  test('TLS 1.0 dropped: better, with the finding gone', () => {
    const old = record(real.get('windows-2019')!);
    const now = modified(old, (p) => {
      p.tls!.versions.TLSv1 = { accepted: false, reason: 'unsupported protocol' };
    });
    const cs = recordChanges(old, now);
    assert.deepEqual(change(cs, 'tls.TLSv1'), { field: 'tls.TLSv1', before: 'accepted', after: 'refused', direction: 'better', text: 'stopped accepting TLS 1.0' });
    const f = change(cs, 'finding.tls-1.0-accepted')!;
    assert.equal(f.after, null);
    assert.equal(f.direction, 'better');
    assert.match(f.text, /^finding tls-1\.0-accepted gone/);
    // and the other way a weakness appears
    assert.equal(change(recordChanges(now, old), 'tls.TLSv1')?.text, 'started accepting TLS 1.0');
    assert.equal(change(recordChanges(now, old), 'tls.TLSv1')?.direction, 'worse');
  });

  test('NLA now required on windows-2008r2-tls10: RDP, SSL and legacy requests refused', () => {
    const old = record(real.get('windows-2008r2-tls10')!);
    const now = modified(old, (p) => {
      for (const n of ['RDP', 'SSL'] as const) p.protocols[n] = { status: 'refused', requested: p.protocols[n].requested, failureCode: 'HYBRID_REQUIRED_BY_SERVER' };
      p.legacy = { status: 'refused', failureCode: null, confirm: null, detail: 'disconnected' };
      p.standardSecurity = null;
    });
    const cs = recordChanges(old, now);
    assert.equal(change(cs, 'nla')?.text, 'started requiring NLA');
    assert.equal(change(cs, 'nla')?.direction, 'better');
    assert.equal(change(cs, 'legacy')?.direction, 'better');
    assert.equal(change(cs, 'protocol.RDP')?.text, 'stopped accepting Standard RDP Security (PROTOCOL_RDP)');
    assert.ok(cs.every((c) => c.direction !== 'worse'), JSON.stringify(cs.filter((c) => c.direction === 'worse')));
    assert.equal(cs[0]!.field, 'nla', 'NLA is listed first');
  });

  test('hosts appeared, disappeared and became unreachable', () => {
    const a = record(real.get('windows-2019')!, 'a.test');
    const b = record(real.get('windows-2019')!, 'b.test');
    const c = record(real.get('windows-hardened')!, 'c.test');
    const dNew = record(real.get('windows-hardened')!, 'd.test');
    const d = diffScans(side(1, [a, b, c]), side(2, [unreachable('b.test'), c, dNew]));
    assert.deepEqual(d.disappeared, [a.target]);
    assert.deepEqual(d.appeared, [dNew.target]);
    assert.equal(d.unchanged, 1);
    assert.equal(d.changed.length, 1);
    const [only] = d.changed[0]!.changes;
    assert.deepEqual(d.changed[0]!.changes.length, 1, 'an unreachable host: only that, not every field it lost');
    assert.deepEqual([only!.field, only!.before, only!.after, only!.direction], ['reachable', 'reachable', 'unreachable', 'neutral']);
    assert.equal(only!.text, 'became unreachable: timeout at connect: no answer in 3000 ms');
    const back = diffScans(side(2, [unreachable('b.test')]), side(3, [b]));
    assert.equal(back.changed[0]!.changes[0]!.text, 'answers again (was unreachable)');
  });

  test('a client that stops connecting, and host names compared case-insensitively', () => {
    const old: HostScanRecord = {
      ...record(real.get('windows-2019')!, 'Host.Test'),
      clients: [{ client: 'mstsc-win7', connects: true, negotiated: { protocol: 'HYBRID', tlsVersion: 'TLSv1', encryptionMethod: 'NONE', encryptionLevel: 'NONE' }, failure: null, exchanges: [] }],
    };
    const now: HostScanRecord = {
      ...record(real.get('windows-hardened')!, 'host.test'),
      clients: [
        {
          client: 'mstsc-win7',
          connects: false,
          negotiated: null,
          failure: {
            stage: 'tls',
            code: 'TLS_HANDSHAKE_FAILED',
            reason: 'no TLS version in common',
            clientMessage: 'An internal error has occurred.',
            clientCode: '0x4',
            exitCode: null,
            explain: null,
            source: 'test',
          },
          exchanges: [],
        },
      ],
    };
    const d = diffScans(side(1, [old]), side(2, [now]));
    assert.deepEqual([d.appeared.length, d.disappeared.length], [0, 0]);
    const c = change(d.changed[0]!.changes, 'client.mstsc-win7')!;
    assert.deepEqual([c.before, c.after, c.direction], ['connects', 'fails: TLS_HANDSHAKE_FAILED', 'neutral']);
    assert.equal(c.text, 'mstsc-win7 no longer connects: TLS_HANDSHAKE_FAILED ("An internal error has occurred.")');
  });

  test('records from an older rdpsec without a summary are summarized from their posture', () => {
    const old = { ...record(real.get('windows-2008r2-tls10')!), summary: null };
    const now = { ...record(real.get('windows-2019')!), summary: null };
    assert.equal(change(recordChanges(old, now), 'nla')?.after, 'required');
  });
});

describe('diffScans properties', () => {
  const HOSTS = ['h0', 'h1', 'h2', 'h3', 'h4'];
  const mutation = fc.record({
    base: fc.constantFrom(...PRESETS, 'windows-2019/other-cert'),
    dropTls10: fc.boolean(),
    rdpRefused: fc.boolean(),
    swapCert: fc.boolean(),
    dropFindings: fc.subarray([0, 1, 2]),
    credsspVersion: fc.constantFrom(undefined, 2, 5, 6),
    downgrade: fc.constantFrom(undefined, true, false, null),
    reachable: fc.boolean(),
    client: fc.constantFrom(undefined, 'connects', 'fails'),
  });
  const scanArb = fc.uniqueArray(fc.record({ host: fc.constantFrom(...HOSTS), port: fc.constantFrom(3389, 3390), m: mutation }), {
    selector: (e) => `${e.host}:${e.port}`,
    maxLength: 8,
  });

  type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
  function build(host: string, port: number, m: Mutation): HostScanRecord {
    if (!m.reachable) return unreachable(host, port);
    const r = modified(record(real.get(m.base)!, host, port), (p) => {
      if (m.dropTls10 && p.tls?.versions.TLSv1) p.tls.versions.TLSv1 = { accepted: false };
      if (m.rdpRefused) p.protocols.RDP = { status: 'refused', requested: 0, failureCode: 'SSL_REQUIRED_BY_SERVER' };
      if (m.swapCert && p.tls?.certificate) p.tls.certificate = { ...p.tls.certificate, sha256: 'ab'.repeat(32), notAfter: '2030-01-01T00:00:00.000Z' };
      if (m.credsspVersion && p.credssp) p.credssp.version = m.credsspVersion;
      if (m.downgrade !== undefined) p.downgrade = { ok: m.downgrade };
    });
    r.posture!.findings = r.posture!.findings.filter((_, i) => !m.dropFindings.includes(i));
    if (m.client) {
      r.clients = [
        {
          client: 'freerdp-2',
          connects: m.client === 'connects',
          negotiated: null,
          failure: m.client === 'fails' ? { stage: 'x224', code: 'SSL_REQUIRED_BY_SERVER', reason: 'r', clientMessage: 'm', clientCode: null, exitCode: 1, explain: null, source: 's' } : null,
          exchanges: [],
        },
      ];
    }
    return r;
  }
  const toScan = (es: { host: string; port: number; m: Mutation }[]) => es.map((e) => build(e.host, e.port, e.m));

  test('a scan against itself has no changes', () => {
    fc.assert(
      fc.property(scanArb, (es) => {
        const s = toScan(es);
        const d = diffScans(side(1, s), side(2, s));
        assert.deepEqual([d.appeared, d.disappeared, d.changed, d.unchanged], [[], [], [], s.length]);
      }),
      { numRuns: 150 },
    );
  });

  test('diff(a, b) is the mirror of diff(b, a): better <-> worse, appeared <-> disappeared', () => {
    fc.assert(
      fc.property(scanArb, scanArb, (ea, eb) => {
        const a = toScan(ea);
        const b = toScan(eb);
        assertMirror(diffScans(side(1, a), side(2, b)), diffScans(side(2, b), side(1, a)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('diffScans memory', () => {
  test('5,000 endpoints of large records: the older scan is held as facts, not records', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdpsec-diff-'));
    try {
      const postureFile = join(dir, 'posture.json');
      writeFileSync(postureFile, JSON.stringify(record(real.get('windows-2019')!)));
      const diffJs = new URL('../../src/scan/diff.js', import.meta.url).href;
      // each record carries ~20 KB of client exchanges, as --client adds: 5,000 of them would be ~100 MB
      const script = `
        import { readFileSync } from 'node:fs';
        import { diffScans } from ${JSON.stringify(diffJs)};
        const base = JSON.parse(readFileSync(process.argv[1], 'utf8'));
        const pad = Array.from({ length: 200 }, (_, i) => ({ from: 'client', to: 'server', label: 'X'.repeat(80) + i }));
        function* scan(n, shift) {
          for (let i = 0; i < n; i++) {
            const r = structuredClone(base);
            r.target = { host: '10.0.' + (i >> 8) + '.' + (i & 255), port: 3389, input: 'fleet' };
            r.clients = [{ client: 'c' + ((i + shift) % 3), connects: true, negotiated: null, failure: null, exchanges: [pad.map((p) => ({ ...p }))] }];
            yield r;
          }
        }
        const heap = () => { globalThis.gc(); return process.memoryUsage().heapUsed; };
        const base0 = heap();
        let held = 0;
        function* newer() { held = heap() - base0; yield* scan(5000, 1); }
        const d = diffScans({ meta: { id: 1, startedAt: 'a' }, records: scan(5000, 0) }, { meta: { id: 2, startedAt: 'b' }, records: newer() });
        console.log(JSON.stringify({ held, changed: d.changed.length, unchanged: d.unchanged }));
      `;
      const res = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, postureFile], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(res.status, 0, res.stderr);
      const out = JSON.parse(res.stdout) as { held: number; changed: number; unchanged: number };
      assert.equal(out.changed, 5000, 'each endpoint changed client (c0 -> c1 ...)');
      // facts of 5,000 endpoints, measured: a few MB; the records themselves would be ~100 MB
      assert.ok(out.held < 20 * 1024 * 1024, `held ${(out.held / 1048576).toFixed(1)} MB for the older scan`);
      console.log(`diff: older scan of 5,000 endpoints held in ${(out.held / 1048576).toFixed(1)} MB`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
