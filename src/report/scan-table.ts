import pc from 'picocolors';
import type { HostScanRecord, ScanDiff } from '../scan/record.js';
import { SEVERITIES } from '../scan/summary.js';

/**
 * The terminal side of `rdpsec scan`: one line per endpoint as it completes (protocols, NLA,
 * TLS range, weakest encryption, certificate expiry, worst finding, and the client verdicts),
 * then a summary with counts per finding. Plain text when colour is off, so it pipes well.
 */
export interface ScanTableOptions {
  color: boolean;
  /** for "expires in N days"; defaults to now */
  now?: Date;
}

type Colors = ReturnType<typeof pc.createColors>;

export const SCAN_TABLE_HEADER = ['endpoint', 'protocols', 'NLA', 'TLS', 'weakest enc.', 'cert expires', 'worst finding', 'clients'];
const WIDTHS = [24, 26, 5, 16, 12, 13, 34, 0];

function pad(s: string, w: number): string {
  return w === 0 || s.length >= w ? `${s} ` : s.padEnd(w + 1);
}

function severityColor(c: Colors, sev: string, text: string): string {
  return sev === 'critical' || sev === 'high' ? c.red(text) : sev === 'medium' ? c.yellow(text) : sev === 'low' ? c.cyan(text) : c.dim(text);
}

function expiry(iso: string | null, now: Date): { text: string; bad: boolean } {
  if (!iso) return { text: '-', bad: false };
  const days = Math.floor((Date.parse(iso) - now.getTime()) / 86_400_000);
  if (Number.isNaN(days)) return { text: '?', bad: true };
  return { text: days < 0 ? `expired ${-days}d` : `${days}d`, bad: days < 30 };
}

export function scanTableHeader(opts: ScanTableOptions): string {
  const c = pc.createColors(opts.color);
  return c.bold(SCAN_TABLE_HEADER.map((h, i) => pad(h, WIDTHS[i]!)).join('').trimEnd());
}

/** One endpoint's line (and, when it failed, the reason on the same line). */
export function scanTableRow(r: HostScanRecord, opts: ScanTableOptions): string {
  const c = pc.createColors(opts.color);
  const now = opts.now ?? new Date();
  const endpoint = `${r.target.host.includes(':') ? `[${r.target.host}]` : r.target.host}:${r.target.port}`;
  if (r.status !== 'ok' || !r.summary) {
    const why = r.error ? `${r.error.kind}${r.error.phase ? ` at ${r.error.phase}` : ''}` : r.status;
    return `${pad(endpoint, WIDTHS[0]!)}${c.dim(`${r.status}: ${why}`)}`;
  }
  const s = r.summary;
  const cells: string[] = [];
  cells.push(pad(endpoint, WIDTHS[0]!));
  cells.push(pad(s.protocols.join(',') || '-', WIDTHS[1]!));
  const nla = s.nlaRequired === null ? '?' : s.nlaRequired ? 'yes' : 'no';
  cells.push(s.nlaRequired === false ? c.yellow(pad(nla, WIDTHS[2]!)) : pad(nla, WIDTHS[2]!));
  const tls = s.tlsRange ?? '-';
  cells.push(/TLSv1(\.1)?\.\./.test(tls) || tls === 'TLSv1' || tls === 'TLSv1.1' ? c.yellow(pad(tls, WIDTHS[3]!)) : pad(tls, WIDTHS[3]!));
  const enc = s.weakestEncryption ?? '-';
  cells.push(enc === 'NONE' || enc === '40BIT' || enc === '56BIT' ? c.red(pad(enc, WIDTHS[4]!)) : pad(enc, WIDTHS[4]!));
  const e = expiry(s.certificateExpires, now);
  cells.push(e.bad ? c.red(pad(e.text, WIDTHS[5]!)) : pad(e.text, WIDTHS[5]!));
  const w = s.worstFinding;
  cells.push(w ? severityColor(c, w.severity, pad(`[${w.severity}] ${w.id}`, WIDTHS[6]!)) : pad('-', WIDTHS[6]!));
  const clients = (r.clients ?? []).map((v) => (v.connects ? c.green(`${v.client}:ok`) : c.red(`${v.client}:${v.failure?.clientCode ?? v.failure?.code ?? 'fails'}`)));
  cells.push(clients.join(' '));
  return cells.join('').trimEnd();
}

export interface ScanTotals {
  endpoints: number;
  ok: number;
  unreachable: number;
  errors: number;
  /** finding id -> { severity, count } */
  findings: Map<string, { severity: string; count: number }>;
  /** client -> endpoints it connects to */
  clients: Map<string, { connects: number; fails: number }>;
}

export function newTotals(): ScanTotals {
  return { endpoints: 0, ok: 0, unreachable: 0, errors: 0, findings: new Map(), clients: new Map() };
}

/** Count one record into the totals (the scan streams; nothing else is kept). */
export function addToTotals(t: ScanTotals, r: HostScanRecord): void {
  t.endpoints++;
  if (r.status === 'ok') t.ok++;
  else if (r.status === 'unreachable') t.unreachable++;
  else t.errors++;
  for (const f of r.posture?.findings ?? []) {
    const e = t.findings.get(f.id) ?? { severity: f.severity, count: 0 };
    e.count++;
    t.findings.set(f.id, e);
  }
  for (const v of r.clients ?? []) {
    const e = t.clients.get(v.client) ?? { connects: 0, fails: 0 };
    if (v.connects) e.connects++;
    else e.fails++;
    t.clients.set(v.client, e);
  }
}

export function renderTotals(t: ScanTotals, opts: ScanTableOptions): string {
  const c = pc.createColors(opts.color);
  const lines = ['', c.bold(`${t.endpoints} endpoints: ${t.ok} answered, ${t.unreachable} unreachable${t.errors ? `, ${t.errors} errors` : ''}`)];
  const findings = [...t.findings.entries()].sort((a, b) => SEVERITIES.indexOf(b[1].severity as never) - SEVERITIES.indexOf(a[1].severity as never) || b[1].count - a[1].count);
  for (const [id, f] of findings) lines.push(`  ${severityColor(c, f.severity, `[${f.severity}]`.padEnd(11))} ${String(f.count).padStart(6)}  ${id}`);
  for (const [client, v] of t.clients) lines.push(`  client ${client}: connects to ${v.connects}, fails on ${v.fails}`);
  return lines.join('\n') + '\n';
}

/** `rdpsec diff`: the endpoints that changed, worse changes in red. */
export function renderDiff(d: ScanDiff, opts: ScanTableOptions): string {
  const c = pc.createColors(opts.color);
  const lines = [c.bold(`changes from scan ${d.from.id} (${d.from.startedAt}) to scan ${d.to.id} (${d.to.startedAt})`)];
  const ep = (t: { host: string; port: number }): string => `${t.host}:${t.port}`;
  for (const t of d.disappeared) lines.push(`  ${c.yellow('gone')}     ${ep(t)}`);
  for (const t of d.appeared) lines.push(`  ${c.cyan('new')}      ${ep(t)}`);
  for (const h of d.changed) {
    lines.push(`  ${c.bold(ep(h.target))}`);
    for (const ch of h.changes) {
      const tag = ch.direction === 'worse' ? c.red('worse ') : ch.direction === 'better' ? c.green('better') : c.dim('change');
      lines.push(`    ${tag} ${ch.text}`);
    }
  }
  lines.push(c.dim(`  ${d.unchanged} endpoints unchanged`));
  return lines.join('\n') + '\n';
}
