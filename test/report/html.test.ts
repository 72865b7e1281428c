/**
 * The HTML report over real scan records: our own server on 127.0.0.1 with several presets (a
 * certificate whose subject and NTLM names carry markup, as a hostile server could send),
 * each probed with handshakes, its findings and summary computed, and three clients simulated
 * against the policy inferred from it, as `rdpsec scan --client` does. Checked here without a
 * browser: escaping, no external URL, the CSP hashes, every host present, the client grid, the
 * diff, and the size and time for 2,000 hosts. test/peers/html-browser.test.ts opens it in Chromium.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { before, describe, it } from 'node:test';
import { clientProfile } from '../../src/connector/client-profiles.js';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { diagnoseAgainst } from '../../src/diagnose/doctor.js';
import { inferServerPolicy } from '../../src/diagnose/infer-policy.js';
import { postureFindings } from '../../src/diagnose/posture-findings.js';
import { preset } from '../../src/policy/presets.js';
import { probeServer } from '../../src/probe/probe.js';
import type { Posture } from '../../src/probe/posture.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { esc } from '../../src/report/html-escape.js';
import { SCAN_RECORD_VERSION, type ClientVerdict, type HostScanRecord, type ScanDiff, type ScanMeta } from '../../src/scan/record.js';
import { summarizePosture } from '../../src/scan/summary.js';
import { serve } from '../../src/serve/server.js';

const HOSTILE_CN = '<script>alert("cn")</script>';
const HOSTILE_NTLM = '<img src=x onerror=alert(1)>';
const HOSTILE_HOST = '"><script>alert("host")</script>';
const PRESETS = ['windows-2019', 'windows-legacy-rdp', 'xrdp-debian', 'windows-2008r2-tls10'];
const CLIENTS = ['mstsc-win10', 'freerdp-2', 'rdesktop-1.9'];

const SCAN: ScanMeta = {
  id: 7,
  startedAt: '2026-11-22T06:00:00.000Z',
  finishedAt: '2026-11-22T06:00:09.000Z',
  targets: ['127.0.0.1', HOSTILE_HOST],
  options: { clients: CLIENTS, handshake: true },
  rdpsecVersion: '0.1.0',
};

function toRecord(input: string, p: Posture, clients: ClientVerdict[]): HostScanRecord {
  const ok = p.reachable;
  const e = p.preferredDetail?.error;
  return {
    version: SCAN_RECORD_VERSION,
    target: { host: p.target.host, port: p.target.port, input },
    startedAt: p.startedAt,
    durationMs: p.durationMs,
    tries: 1,
    status: ok ? 'ok' : 'unreachable',
    ...(!ok && e ? { error: { kind: e.kind, phase: e.phase, message: e.message } } : {}),
    posture: ok ? p : null,
    summary: ok ? summarizePosture(p) : null,
    ...(ok ? { clients } : {}),
  };
}

/** Our server with each preset, probed and diagnosed as a scan would; plus one closed port. */
async function realFleet(): Promise<HostScanRecord[]> {
  const tls = await generateSelfSignedCertificate(HOSTILE_CN, 30);
  const records: HostScanRecord[] = [];
  for (const name of PRESETS) {
    const ntlmNames = { nbComputerName: 'WEB1', nbDomainName: 'CORP', dnsComputerName: HOSTILE_NTLM, dnsDomainName: 'corp.example' };
    const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset(name), tls, credssp: { ntlmNames }, onConnection: () => {} });
    try {
      const p = await probeServer({ host: '127.0.0.1', port: l!.port, timeoutMs: 3000, parallel: 4, handshake: true });
      p.findings = postureFindings(p);
      const inferred = inferServerPolicy(p);
      const clients: ClientVerdict[] = [];
      for (const c of CLIENTS) {
        const r = await diagnoseAgainst(inferred, p.target, clientProfile(c));
        const fix = r.fixes[0];
        clients.push({
          client: c,
          connects: r.connects,
          negotiated: r.negotiated,
          failure: r.failure,
          exchanges: r.attempts.map((a) => a.exchange),
          ...(fix ? { fix: { id: fix.id, summary: fix.summary, safety: fix.safety } } : {}),
        });
      }
      records.push(toRecord(`127.0.0.1:${l!.port} (${name})`, p, clients));
    } finally {
      await l!.close();
    }
  }
  // a port nothing listens on: bound, then closed
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  const gone = await probeServer({ host: '127.0.0.1', port: closed, timeoutMs: 2000, parallel: 4 });
  records.push(toRecord(HOSTILE_HOST, gone, []));
  return records;
}

/** Every tag of the page outside <script>/<style>, its name and attributes (all double-quoted). */
function tags(html: string): { name: string; attrs: [string, string | null][]; raw: string }[] {
  const body = html.replace(/<script>[\s\S]*?<\/script>/g, '<script></script>').replace(/<style>[\s\S]*?<\/style>/g, '<style></style>');
  const out: { name: string; attrs: [string, string | null][]; raw: string }[] = [];
  const lt = [...body.matchAll(/</g)].map((m) => m.index!);
  for (const i of lt) {
    const rest = body.slice(i);
    if (rest.startsWith('<!DOCTYPE html>')) continue;
    const m = /^<\/?([a-zA-Z][\w-]*)((?:\s+[a-zA-Z][\w:-]*(?:="[^"<>]*")?)*)\s*\/?>/.exec(rest);
    assert.ok(m, `a "<" that does not start a well-formed tag: ${rest.slice(0, 80)}`);
    const attrs = [...m[2]!.matchAll(/\s+([a-zA-Z][\w:-]*)(?:="([^"]*)")?/g)].map((a) => [a[1]!.toLowerCase(), a[2] ?? null] as [string, string | null]);
    out.push({ name: m[1]!.toLowerCase(), attrs, raw: m[0] });
  }
  return out;
}

let fleet: HostScanRecord[];
let html: string;
before(async () => {
  fleet = await realFleet();
  html = renderHtmlReport({ scan: SCAN, records: fleet, diff: null, generatedAt: '2026-11-22T06:01:00.000Z' });
});

describe('HTML report', () => {
  it('the real fleet is what the presets set (so the checks below look at real data)', () => {
    assert.equal(fleet.length, PRESETS.length + 1);
    assert.deepEqual(
      fleet.map((r) => r.status),
      ['ok', 'ok', 'ok', 'ok', 'unreachable'],
    );
    assert.equal(fleet[0]!.summary!.nlaRequired, true);
    assert.equal(fleet[1]!.summary!.weakestEncryption, '40BIT');
    assert.ok(fleet[0]!.posture!.tls!.certificate!.subject.includes('<script'), 'the hostile CN reached the posture');
    assert.equal(fleet[0]!.posture!.hybrid?.ntlm?.dnsComputerName, HOSTILE_NTLM);
  });

  it('escapes every value: hostile host names, certificate subjects and NTLM names stay text', () => {
    const all = tags(html);
    assert.equal(all.filter((t) => t.name === 'script' && !t.raw.startsWith('</')).length, 1, 'only our own script');
    assert.equal(all.filter((t) => t.name === 'img').length, 0);
    for (const t of all) {
      for (const [name] of t.attrs) {
        assert.ok(!name.startsWith('on'), `event handler attribute in ${t.raw}`);
        assert.notEqual(name, 'style', `inline style (blocked by the CSP) in ${t.raw}`);
      }
    }
    assert.ok(!html.includes(HOSTILE_HOST) && !html.includes(HOSTILE_NTLM) && !html.includes('<script>alert'));
    assert.ok(html.includes(esc(HOSTILE_HOST)), 'the hostile host name is shown, escaped');
    assert.ok(html.includes(esc(HOSTILE_NTLM)), 'the NTLM name is shown, escaped');
    const subject = fleet[0]!.posture!.tls!.certificate!.subject;
    assert.ok(subject.includes('<') && html.includes(`<td class="t-info">${esc(subject)}</td>`), 'the certificate subject is shown, escaped');
    assert.equal(esc('a\u0000b\u0085c\ud800'), 'a\ufffdb\ufffdc\ufffd', 'controls and lone surrogates never reach the parser');
  });

  it('has no external URL: only in-page links, no src, a CSP that allows exactly its own style and script', () => {
    for (const t of tags(html)) {
      for (const [name, value] of t.attrs) {
        assert.ok(!['src', 'srcset', 'action', 'formaction', 'background', 'poster', 'data'].includes(name), `${name} in ${t.raw}`);
        // a URL may be in text (a title: the message a client shows), never where it is fetched or followed
        if (name === 'href' || name === 'xlink:href') assert.match(value ?? '', /^#[\w-]*$/, `${t.raw}`);
        if (name !== 'title' && name !== 'aria-label') assert.ok(!/https?:|\/\/|url\(/i.test(value ?? ''), `a URL in an attribute: ${t.raw}`);
      }
      assert.ok(!['link', 'iframe', 'object', 'embed', 'img', 'base', 'form'].includes(t.name), t.raw);
    }
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    assert.ok(!/url\(|@import|https?:/i.test(style) && !/https?:|fetch\(|XMLHttpRequest|import\(/.test(script));
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1]?.replace(/&#39;/g, "'");
    assert.ok(csp, 'a CSP meta element');
    assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<style>'), 'the CSP comes before the style and script');
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    assert.equal(csp, `default-src 'none'; style-src ${hash(style)}; script-src ${hash(script)}; base-uri 'none'; form-action 'none'`);
  });

  it('shows every host: a table row, a page with its posture and diagrams', () => {
    const rows = /<tbody>([\s\S]*?)<\/tbody><\/table><\/div><\/section>/.exec(html.slice(html.indexOf('id="host-table"')))![1]!;
    assert.equal((rows.match(/<tr /g) ?? []).length, fleet.length);
    fleet.forEach((r, i) => {
      const where = esc(`${r.target.host}:${r.target.port}`);
      assert.ok(rows.includes(`href="#host-${i}">${where}</a>`), `row of ${where}`);
      const page = html.slice(html.indexOf(`<section class="host-page" id="host-${i}">`));
      assert.ok(page.length < html.length, `page of ${where}`);
      const own = page.slice(0, page.indexOf('</section>'));
      if (r.status === 'ok') {
        for (const f of r.posture!.findings) assert.ok(own.includes(esc(f.title)), `${where}: finding ${f.id}`);
        // one diagram per protocol question and legacy, one per client connection
        const expected = 7 + r.clients!.reduce((n, v) => n + v.exchanges.length, 0);
        assert.equal((own.match(/<svg class="seq/g) ?? []).length, expected, `${where}: diagrams`);
      } else {
        assert.ok(own.includes('no posture'), where);
      }
    });
    // the symbols the pages use are all defined, once
    const used = new Set([...html.matchAll(/<use href="#(sq-\d+)"/g)].map((m) => m[1]));
    const defined = [...html.matchAll(/<symbol id="(sq-\d+)"/g)].map((m) => m[1]);
    assert.equal(new Set(defined).size, defined.length);
    assert.deepEqual([...used].sort(), [...defined].sort());
    // the summary counts findings per severity over the answering hosts
    const highs = fleet.filter((r) => r.summary?.worstFinding?.severity === 'high').length;
    assert.match(html, new RegExp(`<div class="tile"><b>${highs}</b><span class="sev sev-high">high</span> worst</div>`));
  });

  it('draws a PDU as an arrow with its name and summary, TLS as a band, a client note with its cross', () => {
    const rdp = fleet[1]!.clients!.find((c) => c.client === 'mstsc-win10')!;
    assert.ok(rdp.exchanges.length >= 2, 'mstsc retries with Standard RDP Security');
    assert.ok(html.includes('>X.224 Connection Request</text>'));
    assert.ok(html.includes('>RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER</text>'));
    assert.match(html, /<rect [^>]*fill="#d7eef6"[^>]*\/><text [^>]*>TLS handshake: TLSv1\.[23] [A-Z0-9_]+<\/text>/, 'a TLS band');
    assert.match(html, /<text [^>]*fill="#c0392b">\u2717<\/text>/, 'a client note');
    assert.ok(/<polygon points="[\d., ]+" fill="#1f2937"\/>/.test(html), 'arrowheads');
  });

  it('the client grid: one cell per client and host, coloured by the verdict, the client message as tooltip', () => {
    const grid = html.slice(html.indexOf('<table class="grid">'), html.indexOf('</table>', html.indexOf('<table class="grid">')));
    const hosts = fleet.filter((r) => r.clients?.length);
    assert.equal((grid.match(/<th class="host">/g) ?? []).length, hosts.length);
    for (const c of CLIENTS) {
      const row = new RegExp(`<tr><th>${c}</th>([\\s\\S]*?)</tr>`).exec(grid)?.[1];
      assert.ok(row, c);
      const cells = [...row.matchAll(/<td class="(ok|weak|fail)" title="([^"]*)"><a href="#host-\d+">([^<]*)<\/a><\/td>/g)];
      assert.equal(cells.length, hosts.length, c);
      hosts.forEach((h, i) => {
        const v = h.clients!.find((x) => x.client === c)!;
        const [, cls = '', title = '', text = ''] = cells[i]!;
        assert.equal(cls, v.connects ? (v.negotiated!.protocol === 'RDP' ? 'weak' : 'ok') : 'fail', `${c} x ${h.target.port}`);
        if (v.connects) assert.equal(text, `${v.negotiated!.protocol}${v.negotiated!.tlsVersion ? ' ' + v.negotiated!.tlsVersion.replace('TLSv', '') : ''}`);
        else {
          assert.equal(text, `x ${v.failure!.code}`);
          assert.ok(title.includes(esc(v.failure!.clientMessage)), 'the message the client shows');
        }
      });
    }
    // rdesktop cannot do NLA: windows-2019 turns it away with the failure code
    const r2019 = new RegExp(`<tr><th>rdesktop-1.9</th><td class="fail"[^>]*><a href="#host-0">x HYBRID_REQUIRED_BY_SERVER</a>`);
    assert.match(grid, r2019);
  });

  it('the diff: each change coloured by direction, appeared and disappeared hosts listed', () => {
    const t = fleet[2]!.target;
    const diff: ScanDiff = {
      from: { id: 6, startedAt: '2026-11-15T06:00:00.000Z' },
      to: { id: 7, startedAt: SCAN.startedAt },
      appeared: [fleet[3]!.target],
      disappeared: [{ host: '10.0.0.9', port: 3389, input: '10.0.0.0/28' }],
      changed: [
        {
          target: t,
          changes: [
            { field: 'tls.TLSv1', before: 'accepted', after: 'not accepted', direction: 'better', text: 'stopped accepting TLS 1.0' },
            { field: 'finding.rc4-40bit-accepted', before: null, after: 'high', direction: 'worse', text: 'started accepting 40-bit RC4 <again>' },
            { field: 'certificate', before: 'aa', after: 'bb', direction: 'neutral', text: 'the certificate was replaced' },
          ],
        },
      ],
      unchanged: 2,
    };
    const out = renderHtmlReport({ scan: SCAN, records: fleet, diff, generatedAt: SCAN.finishedAt! });
    const sec = out.slice(out.indexOf('<section id="changes">'), out.indexOf('</section>', out.indexOf('<section id="changes">')));
    assert.ok(sec.includes('from scan #6 (2026-11-15T06:00:00.000Z) to scan #7'));
    assert.ok(sec.includes('1 changed, 1 appeared, 1 disappeared, 2 unchanged'));
    assert.ok(sec.includes(`<a href="#host-2">127.0.0.1:${t.port}</a> <span class="muted">(1 worse, 1 better)</span>`));
    assert.match(sec, /<li class="better"><span class="dir">[^<]*better<\/span> stopped accepting TLS 1.0 <span class="muted mono">tls.TLSv1: accepted \u2192 not accepted<\/span><\/li>/);
    assert.match(sec, /<li class="worse"><span class="dir">[^<]*worse<\/span> started accepting 40-bit RC4 &lt;again&gt; <span class="muted mono">finding.rc4-40bit-accepted: \(none\) \u2192 high/);
    assert.match(sec, /<li class="neutral">/);
    assert.ok(sec.includes(`<a href="#host-3">127.0.0.1:${fleet[3]!.target.port}</a>`), 'an appeared host links to its page');
    assert.ok(sec.includes('<li class="worse">10.0.0.9:3389 <span class="muted">10.0.0.0/28</span></li>'), 'a disappeared host has no page');
    assert.ok(html.includes('no previous scan to compare with'));
  });

  it('grows linearly with hosts: 2,000 hosts from one real record stay small and render fast', () => {
    const base = fleet[2]!; // xrdp-debian: the most findings and diagrams
    const synth = (n: number): HostScanRecord[] =>
      Array.from({ length: n }, (_, i) => {
        const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        const target = { host, port: 3389 + (i % 3), input: '10.0.0.0/16' };
        return { ...base, target, posture: { ...base.posture!, target: { host, port: target.port } }, durationMs: base.durationMs + i };
      });
    const render = (n: number) => {
      const t0 = performance.now();
      const out = renderHtmlReport({ scan: SCAN, records: synth(n), generatedAt: SCAN.finishedAt! });
      return { bytes: Buffer.byteLength(out), ms: performance.now() - t0 };
    };
    const small = render(200);
    const big = render(2000);
    const perHost = (big.bytes - small.bytes) / 1800;
    // a host page with its tables, its rows and its grid column; diagrams are shared
    assert.ok(perHost < 16_000, `${Math.round(perHost)} bytes per host`);
    assert.ok(big.bytes < 2000 * 16_000 + 200_000, `${big.bytes} bytes for 2,000 hosts`);
    assert.ok(Math.abs(big.bytes - small.bytes * 10) < small.bytes * 0.6, `linear: ${small.bytes} for 200, ${big.bytes} for 2,000`);
    assert.ok(big.ms < 5000, `${Math.round(big.ms)} ms for 2,000 hosts`);
  });
});
