import type { Finding } from '../probe/posture.js';
import type { HostScanRecord, PostureChange, ScanDiff, ScanMeta, ScanTarget } from '../scan/record.js';
import { SEVERITIES } from '../scan/summary.js';
import { REPORT_CSP, REPORT_CSS, REPORT_SCRIPT } from './html-assets.js';
import { esc } from './html-escape.js';
import { DiagramSet, endpoint, hostPage, verdictCell, verdictTooltip } from './html-host.js';

/**
 * The HTML report of a scan (`rdpsec scan --html FILE`): one self-contained file, readable
 * offline and from an archive years later. The fleet summary (counts per finding and per
 * severity), the host table (sortable, filterable by text and by severity), the client grid
 * (client profiles x hosts), the changes since the previous scan, and a page per host with its
 * posture and sequence diagrams. No external URL of any kind, a CSP that lets only the report's
 * own stylesheet and script run (html-assets.ts), every value from the scan escaped.
 */
export interface HtmlReportInput {
  scan: ScanMeta;
  records: Iterable<HostScanRecord>;
  /** the changes since the previous scan; null or absent when there is none */
  diff?: ScanDiff | null;
  /** ISO time printed in the header; defaults to now */
  generatedAt?: string;
}

const rank = (s: Finding['severity'] | undefined): number => (s ? SEVERITIES.indexOf(s) : -1);
const key = (t: Pick<ScanTarget, 'host' | 'port'>): string => `${t.host}\u0000${t.port}`;
const sevBadge = (s: string): string => `<span class="sev sev-${esc(s)}">${esc(s)}</span>`;

function headerBlock(scan: ScanMeta, generatedAt: string, count: number): string {
  const opts = Object.entries(scan.options ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return (
    `<header class="top"><h1>rdpsec scan #${esc(scan.id)}</h1>` +
    `<div class="muted">${esc(count)} endpoints; started ${esc(scan.startedAt)}${scan.finishedAt ? `, finished ${esc(scan.finishedAt)}` : ', not finished'}; report generated ${esc(generatedAt)} by rdpsec ${esc(scan.rdpsecVersion)}</div>` +
    `<div class="muted">targets: <span class="mono">${esc(scan.targets.join(' '))}</span>${opts ? `; options: <span class="mono">${esc(opts)}</span>` : ''}</div>` +
    `<nav class="top"><a href="#summary">summary</a><a href="#hosts">hosts</a><a href="#clients">clients</a><a href="#changes">changes</a></nav></header>`
  );
}

function summaryBlock(records: readonly HostScanRecord[]): string {
  const status = { ok: 0, unreachable: 0, error: 0 };
  const byWorst = new Map<string, number>();
  const byFinding = new Map<string, { f: Finding; hosts: number }>();
  let nla = 0;
  for (const r of records) {
    status[r.status] = (status[r.status] ?? 0) + 1;
    if (r.summary?.nlaRequired) nla++;
    if (r.status === 'ok') {
      const w = r.summary?.worstFinding?.severity ?? 'none';
      byWorst.set(w, (byWorst.get(w) ?? 0) + 1);
    }
    for (const f of new Map((r.posture?.findings ?? []).map((x) => [x.id, x])).values()) {
      const e = byFinding.get(f.id);
      if (e) e.hosts++;
      else byFinding.set(f.id, { f, hosts: 1 });
    }
  }
  const tile = (label: string, n: number, cls = ''): string => `<div class="tile${cls ? ' ' + cls : ''}"><b>${n}</b>${esc(label)}</div>`;
  const tiles = [tile('endpoints', records.length), tile('answered', status.ok), tile('unreachable', status.unreachable), tile('error', status.error), tile('NLA required', nla)];
  const sevTiles = [...SEVERITIES]
    .reverse()
    .map((s) => `<div class="tile"><b>${byWorst.get(s) ?? 0}</b>${sevBadge(s)} worst</div>`)
    .concat(`<div class="tile"><b>${byWorst.get('none') ?? 0}</b>no finding</div>`);
  const findings = [...byFinding.values()].sort((a, b) => rank(b.f.severity) - rank(a.f.severity) || b.hosts - a.hosts || a.f.id.localeCompare(b.f.id));
  const rows = findings.map((x) => `<tr><td data-v="${rank(x.f.severity)}">${sevBadge(x.f.severity)}</td><td>${esc(x.f.title)}</td><td><code>${esc(x.f.id)}</code></td><td>${x.hosts}</td></tr>`);
  return (
    `<section id="summary"><h2>fleet summary</h2><div class="tiles">${tiles.join('')}</div>` +
    `<h3>endpoints by worst finding</h3><div class="tiles">${sevTiles.join('')}</div>` +
    `<h3>findings</h3>` +
    (rows.length
      ? `<table class="findings-count"><thead><tr><th>severity</th><th>finding</th><th>id</th><th>endpoints</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      : `<p class="t-good">(none)</p>`) +
    `</section>`
  );
}

function hostTable(records: readonly HostScanRecord[], ids: readonly string[]): string {
  const head: [string, 'text' | 'num'][] = [
    ['host', 'text'],
    ['status', 'text'],
    ['protocols', 'text'],
    ['NLA', 'text'],
    ['TLS', 'text'],
    ['weakest encryption', 'text'],
    ['certificate expires', 'text'],
    ['worst finding', 'num'],
    ['findings', 'num'],
  ];
  const ths = head.map(([name, type]) => `<th data-type="${type}"><button type="button">${esc(name)}</button></th>`).join('');
  const rows = records.map((r, i) => {
    const s = r.summary;
    const worst = s?.worstFinding;
    const nla = !s || s.nlaRequired === null ? '?' : s.nlaRequired ? 'required' : 'not required';
    const status = r.status === 'ok' ? 'ok' : `${r.status}${r.error ? ` (${r.error.kind})` : ''}`;
    const cells = [
      `<td data-v="${esc(endpoint(r))}"><a href="#${ids[i]}">${esc(endpoint(r))}</a></td>`,
      `<td class="${r.status === 'ok' ? '' : 't-fail'}">${esc(status)}</td>`,
      `<td>${esc(s?.protocols.join(' ') ?? '')}</td>`,
      `<td class="${s?.nlaRequired ? 't-good' : s?.nlaRequired === false ? 't-warn' : 't-dim'}">${esc(nla)}</td>`,
      `<td>${esc(s?.tlsRange ?? '')}</td>`,
      `<td class="${s?.weakestEncryption && s.weakestEncryption !== 'FIPS' ? 't-fail' : ''}">${esc(s?.weakestEncryption ?? '')}</td>`,
      `<td data-v="${esc(s?.certificateExpires ?? '')}">${esc(s?.certificateExpires?.slice(0, 10) ?? '')}</td>`,
      `<td data-v="${rank(worst?.severity)}">${worst ? `${sevBadge(worst.severity)} ${esc(worst.id)}` : ''}</td>`,
      `<td>${r.posture?.findings?.length ?? 0}</td>`,
    ];
    return `<tr data-sev="${rank(worst?.severity)}">${cells.join('')}</tr>`;
  });
  const options = [`<option value="-1">any severity</option>`]
    .concat(SEVERITIES.map((s, i) => `<option value="${i}">worst finding ${esc(s)}${i < SEVERITIES.length - 1 ? ' or worse' : ''}</option>`))
    .join('');
  return (
    `<section id="hosts"><h2>hosts</h2>` +
    `<div class="controls"><label>filter <input id="filter" type="search" placeholder="host, protocol, finding..." autocomplete="off"></label>` +
    `<label>severity <select id="severity">${options}</select></label><span id="shown" class="muted">${records.length} endpoints</span></div>` +
    `<div class="scroll"><table id="host-table" class="hosts"><thead><tr>${ths}</tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`
  );
}

function clientGrid(records: readonly HostScanRecord[], ids: readonly string[]): string {
  const withClients = records.map((r, i) => ({ r, id: ids[i]! })).filter((x) => x.r.clients?.length);
  if (!withClients.length) return `<section id="clients"><h2>clients</h2><p class="muted">no client was simulated in this scan (rdpsec scan --client PROFILE)</p></section>`;
  const clients = [...new Set(withClients.flatMap((x) => x.r.clients!.map((v) => v.client)))];
  const head = `<tr><th>client</th>${withClients.map((x) => `<th class="host"><a href="#${x.id}">${esc(endpoint(x.r))}</a></th>`).join('')}</tr>`;
  const rows = clients.map((c) => {
    const cells = withClients.map((x) => {
      const v = x.r.clients!.find((y) => y.client === c);
      if (!v) return `<td class="t-dim">-</td>`;
      const cls = v.connects ? (v.negotiated?.protocol === 'RDP' ? 'weak' : 'ok') : 'fail';
      return `<td class="${cls}" title="${esc(verdictTooltip(v))}"><a href="#${x.id}">${esc(verdictCell(v))}</a></td>`;
    });
    return `<tr><th>${esc(c)}</th>${cells.join('')}</tr>`;
  });
  return (
    `<section id="clients"><h2>clients x hosts</h2>` +
    `<div class="scroll"><table class="grid"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>` +
    `<p class="muted">cells: the protocol and TLS version the client ends up with, or x and why it fails (green: connects; amber: connects with Standard RDP Security; red: fails). Hover a cell for what the client shows.</p></section>`
  );
}

const ARROW: Record<PostureChange['direction'], string> = { better: '\u25B2 better', worse: '\u25BC worse', neutral: '\u25CF neutral' };

function diffBlock(diff: ScanDiff | null | undefined, idOf: Map<string, string>): string {
  if (!diff) return `<section id="changes"><h2>changes</h2><p class="muted">no previous scan to compare with</p></section>`;
  const link = (t: ScanTarget): string => {
    const id = idOf.get(key(t));
    return id ? `<a href="#${id}">${esc(endpoint({ target: t }))}</a>` : esc(endpoint({ target: t }));
  };
  const change = (c: PostureChange): string =>
    `<li class="${c.direction}"><span class="dir">${ARROW[c.direction]}</span> ${esc(c.text)} <span class="muted mono">${esc(c.field)}: ${esc(c.before ?? '(none)')} \u2192 ${esc(c.after ?? '(none)')}</span></li>`;
  const parts = [
    `<p>from scan #${esc(diff.from.id)} (${esc(diff.from.startedAt)}) to scan #${esc(diff.to.id)} (${esc(diff.to.startedAt)}): ${diff.changed.length} changed, ${diff.appeared.length} appeared, ${diff.disappeared.length} disappeared, ${esc(diff.unchanged)} unchanged</p>`,
  ];
  for (const h of diff.changed) {
    const worse = h.changes.filter((c) => c.direction === 'worse').length;
    const better = h.changes.filter((c) => c.direction === 'better').length;
    parts.push(`<h3>${link(h.target)} <span class="muted">(${worse} worse, ${better} better)</span></h3><ul class="changes">${h.changes.map(change).join('')}</ul>`);
  }
  if (diff.appeared.length) parts.push(`<h3>appeared</h3><ul class="changes">${diff.appeared.map((t) => `<li class="neutral">${link(t)} <span class="muted">${esc(t.input)}</span></li>`).join('')}</ul>`);
  if (diff.disappeared.length)
    parts.push(`<h3>disappeared</h3><ul class="changes">${diff.disappeared.map((t) => `<li class="worse">${esc(endpoint({ target: t }))} <span class="muted">${esc(t.input)}</span></li>`).join('')}</ul>`);
  return `<section id="changes"><h2>changes since the previous scan</h2>${parts.join('')}</section>`;
}

export function renderHtmlReport(input: HtmlReportInput): string {
  const records = [...input.records];
  const ids = records.map((_, i) => `host-${i}`);
  const idOf = new Map<string, string>();
  records.forEach((r, i) => idOf.set(key(r.target), ids[i]!));
  const diagrams = new DiagramSet();
  const pages = records.map((r, i) => hostPage(r, ids[i]!, diagrams));
  const generatedAt = input.generatedAt ?? new Date().toISOString();
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${esc(REPORT_CSP)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>rdpsec scan #${esc(input.scan.id)}</title>`,
    `<style>${REPORT_CSS}</style></head><body>`,
    headerBlock(input.scan, generatedAt, records.length),
    '<main><div class="overview">',
    summaryBlock(records),
    hostTable(records, ids),
    clientGrid(records, ids),
    diffBlock(input.diff, idOf),
    '</div>',
    pages.join('\n'),
    '</main>',
    diagrams.defs(),
    `<script>${REPORT_SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
