/**
 * The HTML report in a real browser: Debian's chromium package (/usr/bin/chromium, installed
 * by .ci/run, never downloaded by a test tool) driven by playwright-core, headless, with a fresh
 * profile. The report is made from real records: our own server on 127.0.0.1 with several
 * presets, each probed with handshakes and diagnosed for three clients, as `rdpsec scan
 * --client` does, plus a closed port under a hostile target name. Opened from a file:// URL:
 * it loads without console errors (a CSP violation is one) or any request but itself, sorting
 * and both filters work, a host page opens with its diagrams drawn, the back button returns,
 * and screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { clientProfile } from '../../src/connector/client-profiles.js';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { diagnoseAgainst } from '../../src/diagnose/doctor.js';
import { inferServerPolicy } from '../../src/diagnose/infer-policy.js';
import { postureFindings } from '../../src/diagnose/posture-findings.js';
import { preset } from '../../src/policy/presets.js';
import { probeServer } from '../../src/probe/probe.js';
import type { Posture } from '../../src/probe/posture.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { SCAN_RECORD_VERSION, type ClientVerdict, type HostScanRecord, type ScanDiff } from '../../src/scan/record.js';
import { summarizePosture } from '../../src/scan/summary.js';
import { serve } from '../../src/serve/server.js';
import { CHROMIUM, REPO_ROOT, skipOrFail } from './harness.js';

const PRESETS = ['windows-2019', 'windows-legacy-rdp', 'xrdp-debian', 'windows-hardened'];
const CLIENTS = ['mstsc-win10', 'freerdp-2', 'rdesktop-1.9'];
const HOSTILE = '<img src=x onerror=alert(1)><script>alert(2)</script>';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const WAIT_MS = 10_000;

/** The few DOM shapes read in page.evaluate callbacks (the project compiles without the DOM lib). */
interface Row {
  hidden: boolean;
  cells: ArrayLike<{ textContent: string | null }>;
  getAttribute(name: string): string | null;
}
interface Graphic {
  getBBox(): { width: number; height: number };
}

function toRecord(input: string, p: Posture, clients: ClientVerdict[]): HostScanRecord {
  const e = p.preferredDetail?.error;
  return {
    version: SCAN_RECORD_VERSION,
    target: { host: p.target.host, port: p.target.port, input },
    startedAt: p.startedAt,
    durationMs: p.durationMs,
    tries: 1,
    status: p.reachable ? 'ok' : 'unreachable',
    ...(!p.reachable && e ? { error: { kind: e.kind, phase: e.phase, message: e.message } } : {}),
    posture: p.reachable ? p : null,
    summary: p.reachable ? summarizePosture(p) : null,
    ...(p.reachable ? { clients } : {}),
  };
}

async function realFleet(): Promise<HostScanRecord[]> {
  const tls = await generateSelfSignedCertificate(HOSTILE, 30);
  const records: HostScanRecord[] = [];
  for (const name of PRESETS) {
    const ntlmNames = { nbComputerName: 'WEB1', nbDomainName: 'CORP', dnsComputerName: HOSTILE, dnsDomainName: 'corp.example' };
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
      records.push(toRecord(`${name}.example`, p, clients));
    } finally {
      await l!.close();
    }
  }
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  const gone = toRecord(HOSTILE, await probeServer({ host: '127.0.0.1', port: closed, timeoutMs: 2000, parallel: 4 }), []);
  // a name from a targets file is shown as given: here one with markup in it
  records.push({ ...gone, target: { ...gone.target, host: HOSTILE } });
  return records;
}

test('the HTML report in Chromium: loads clean, sorts, filters, opens a host page', { timeout: 180_000 }, async (t) => {
  if (!skipOrFail(t, 'chromium')) return;
  const records = await realFleet();
  const diff: ScanDiff = {
    from: { id: 1, startedAt: '2026-11-15T06:00:00.000Z' },
    to: { id: 2, startedAt: '2026-11-22T06:00:00.000Z' },
    appeared: [],
    disappeared: [{ host: HOSTILE, port: 3389, input: HOSTILE }],
    changed: [{ target: records[1]!.target, changes: [{ field: 'protocol.SSL', before: 'accepted', after: 'refused', direction: 'worse', text: 'stopped accepting TLS' }] }],
    unchanged: 3,
  };
  const html = renderHtmlReport({
    scan: { id: 2, startedAt: diff.to.startedAt, finishedAt: null, targets: PRESETS.map((p) => `${p}.example`).concat(HOSTILE), options: { clients: CLIENTS }, rdpsecVersion: '0.1.0' },
    records,
    diff,
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, 'html-report.html');
  writeFileSync(file, html);
  const url = pathToFileURL(file).href;

  const profile = mkdtempSync(join(tmpdir(), 'rdpsec-chromium-'));
  let context: BrowserContext | null = null;
  t.after(async () => {
    await context?.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT_MS);
  page.setDefaultNavigationTimeout(WAIT_MS);
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => {
    problems.push(`dialog (a script ran): ${d.message()}`);
    void d.dismiss().catch(() => undefined);
  });

  await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
  assert.deepEqual(requests, [url], 'no request but the file itself');
  const rows = page.locator('#host-table tbody tr');
  assert.equal(await rows.count(), records.length);
  await page.locator('#shown').filter({ hasText: `${records.length} of ${records.length} endpoints shown` }).waitFor({ timeout: WAIT_MS });
  // the hostile target name is text in the page, not markup
  assert.equal(await page.locator('#host-table img, #host-table script').count(), 0);
  assert.ok((await page.locator('#host-table').innerText({ timeout: WAIT_MS })).includes('<img src=x onerror=alert(1)>'));
  await page.screenshot({ path: join(ARTIFACTS, 'html-report.png'), fullPage: true, timeout: WAIT_MS });

  // sorting: the findings column, ascending then descending, then back by host
  const column = async (i: number) => rows.evaluateAll((trs, n) => trs.map((tr) => (tr as unknown as Row).cells[n]!.textContent!.trim()), i);
  const before = await column(0);
  const counts = records.map((r) => r.posture?.findings.length ?? 0);
  await page.locator('#host-table th', { hasText: 'findings' }).locator('button').click({ timeout: WAIT_MS });
  const up = (await column(8)).map(Number);
  assert.deepEqual(up, [...counts].sort((a, b) => a - b));
  assert.equal(await page.locator('#host-table th', { hasText: 'findings' }).getAttribute('aria-sort'), 'ascending');
  await page.locator('#host-table th', { hasText: 'findings' }).locator('button').click({ timeout: WAIT_MS });
  const down = (await column(8)).map(Number);
  assert.deepEqual(down, [...counts].sort((a, b) => b - a));
  assert.notDeepEqual(await column(0), before, 'the order changed');
  await page.locator('#host-table th', { hasText: 'worst finding' }).locator('button').click({ timeout: WAIT_MS });
  const worst = await rows.evaluateAll((trs) => trs.map((tr) => Number((tr as unknown as Row).getAttribute('data-sev'))));
  assert.deepEqual(worst, [...worst].sort((a, b) => a - b));

  // the text filter: every word must appear in the row
  const visible = () => rows.evaluateAll((trs) => trs.filter((tr) => !(tr as unknown as Row).hidden).map((tr) => (tr as unknown as Row).cells[0]!.textContent!.trim()));
  const legacy = records[1]!;
  await page.locator('#filter').fill('40BIT', { timeout: WAIT_MS });
  assert.deepEqual(await visible(), [`127.0.0.1:${legacy.target.port}`]);
  await page.locator('#shown').filter({ hasText: `1 of ${records.length} endpoints shown` }).waitFor({ timeout: WAIT_MS });
  await page.locator('#filter').fill('unreachable', { timeout: WAIT_MS });
  assert.equal((await visible()).length, 1);
  await page.locator('#filter').fill('', { timeout: WAIT_MS });
  assert.equal((await visible()).length, records.length);
  // the severity filter: worst finding high or worse
  await page.locator('#severity').selectOption('3', { timeout: WAIT_MS });
  const high = records.filter((r) => r.summary?.worstFinding && ['high', 'critical'].includes(r.summary.worstFinding.severity));
  assert.ok(high.length > 0 && high.length < records.length);
  assert.deepEqual((await visible()).sort(), high.map((r) => `127.0.0.1:${r.target.port}`).sort());
  await page.locator('#severity').selectOption('-1', { timeout: WAIT_MS });

  // a host page: opened from the table, its diagrams drawn, the overview hidden; back returns
  const index = records.indexOf(legacy);
  await page.locator(`#host-table a[href="#host-${index}"]`).click({ timeout: WAIT_MS });
  await page.waitForURL(`${url}#host-${index}`, { timeout: WAIT_MS });
  const hostPage = page.locator(`#host-${index}`);
  await hostPage.waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await page.locator('.overview').isVisible(), false);
  const svg = hostPage.locator('svg.seq').first();
  await svg.waitFor({ state: 'visible', timeout: WAIT_MS });
  const drawn = await hostPage.locator('svg.seq use').evaluateAll((uses) => uses.map((u) => (u as unknown as Graphic).getBBox()).map((b) => ({ w: b.width, h: b.height })));
  assert.ok(drawn.length >= 7 && drawn.every((b) => b.w > 300 && b.h > 40), `every diagram drawn from its symbol: ${JSON.stringify(drawn)}`);
  const box = await svg.boundingBox({ timeout: WAIT_MS });
  assert.ok(box && box.width > 200 && box.height > 40, JSON.stringify(box));
  assert.ok((await hostPage.innerText({ timeout: WAIT_MS })).includes('rdp-security-accepted'));
  await page.screenshot({ path: join(ARTIFACTS, 'html-report-host.png'), fullPage: true, timeout: WAIT_MS });
  await page.goBack({ timeout: WAIT_MS });
  await page.locator('.overview').waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await hostPage.isVisible(), false);

  assert.deepEqual(problems, [], 'no console error, failed request or script from the data');
  assert.deepEqual(requests, [url], 'still no request but the file itself');
});
