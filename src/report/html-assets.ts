import { createHash } from 'node:crypto';

/**
 * The HTML report's one stylesheet and one script, inlined, and the Content-Security-Policy
 * that allows exactly these two by hash (CSP Level 3, "hash-source"): nothing else may run,
 * load or be fetched, so a value that escaped escaping could still do nothing. Neither
 * contains data from a scan: the script reads the page, the page carries the data.
 */
export const REPORT_CSS = `
:root{color-scheme:light;--fg:#111827;--muted:#5b6474;--line:#d9dee7;--bg:#fff;--alt:#f6f8fb;
--good:#166534;--goodbg:#dcfce7;--bad:#991b1b;--badbg:#fee2e2;--warn:#854d0e;--warnbg:#fef3c7;--info:#1e40af;--infobg:#dbeafe}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header.top{padding:14px 24px;border-bottom:1px solid var(--line);background:var(--alt)}
header.top h1{margin:0 0 4px;font-size:20px}
nav.top a{margin-right:16px}
main{padding:8px 24px 40px;max-width:1500px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
a{color:#1d4ed8}
.muted,.note{color:var(--muted)}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
table{border-collapse:collapse;margin:4px 0 8px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
thead th{background:var(--alt);position:sticky;top:0}
tbody tr:nth-child(even){background:#fafbfc}
th button{all:unset;cursor:pointer;font-weight:bold}
th button:focus-visible{outline:2px solid #2563eb}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
.controls{display:flex;gap:12px;align-items:center;margin:8px 0;flex-wrap:wrap}
.controls input{font:inherit;padding:4px 8px;min-width:280px}
.controls select{font:inherit;padding:3px}
.tiles{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0}
.tile{border:1px solid var(--line);border-radius:6px;padding:6px 12px;min-width:110px}
.tile b{display:block;font-size:20px}
.sev{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:bold}
.sev-critical{background:#7f1d1d;color:#fff}.sev-high{background:var(--badbg);color:var(--bad)}
.sev-medium{background:var(--warnbg);color:var(--warn)}.sev-low{background:var(--infobg);color:var(--info)}
.sev-info{background:#eceff3;color:var(--muted)}
.t-good{color:var(--good)}.t-fail{color:var(--bad);font-weight:bold}.t-warn{color:var(--warn)}.t-dim{color:var(--muted)}
.scroll{overflow:auto;max-width:100%;max-height:80vh}
table.grid td{text-align:center;white-space:nowrap;font-size:12.5px}
table.grid td.ok{background:var(--goodbg);color:var(--good)}
table.grid td.weak{background:var(--warnbg);color:var(--warn)}
table.grid td.fail{background:var(--badbg);color:var(--bad)}
table.grid td a{color:inherit;text-decoration:none}
table.grid th.host{font-weight:normal;white-space:nowrap}
ul.changes{margin:4px 0 10px;padding-left:20px}
.better{color:var(--good)}.worse{color:var(--bad)}.neutral{color:var(--muted)}
.dir{display:inline-block;min-width:58px;font-weight:bold}
.host-page{display:none}
.host-page:target{display:block}
body:has(.host-page:target) .overview{display:none}
.verdict{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:10px 0}
.verdict h3{margin:0 0 6px}
figure{margin:8px 0}
figcaption{font-weight:bold;margin-bottom:2px}
.questions{display:flex;flex-wrap:wrap;gap:8px 18px}
.questions figure{width:460px}
svg.seq{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
svg.defs{position:absolute;width:0;height:0;overflow:hidden}
pre.msg{white-space:pre-wrap;margin:2px 0;background:var(--alt);padding:4px 8px;border-radius:4px}
`;

/**
 * Sorting by column (stable, numbers and host names in natural order), the text filter (every
 * word must appear in the row) and the severity filter (worst finding at least this). Host
 * pages need no script: they are sections shown by :target, so links and the back button work
 * as on any page.
 */
export const REPORT_SCRIPT = `
(function () {
  'use strict';
  var table = document.getElementById('host-table');
  if (!table || !table.tBodies[0]) return;
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById('filter');
  var severity = document.getElementById('severity');
  var shown = document.getElementById('shown');
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  var texts = new Map();
  function cellKey(row, i) {
    var cell = row.cells[i];
    if (!cell) return '';
    var v = cell.getAttribute('data-v');
    return v === null ? cell.textContent.trim() : v;
  }
  heads.forEach(function (th, i) {
    var button = th.querySelector('button');
    if (!button) return;
    button.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var numeric = th.getAttribute('data-type') === 'num';
      var keyed = Array.prototype.map.call(body.rows, function (row, n) { return { k: cellKey(row, i), n: n, row: row }; });
      keyed.sort(function (a, b) {
        var c = numeric ? Number(a.k) - Number(b.k) : collator.compare(a.k, b.k);
        if (!ascending) c = -c;
        return c !== 0 ? c : a.n - b.n;
      });
      var frag = document.createDocumentFragment();
      keyed.forEach(function (x) { frag.appendChild(x.row); });
      body.appendChild(frag);
    });
  });
  function apply() {
    var words = filter.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var min = Number(severity.value);
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var t = texts.get(row);
      if (t === undefined) { t = row.textContent.toLowerCase(); texts.set(row, t); }
      var ok = Number(row.getAttribute('data-sev')) >= min && words.every(function (w) { return t.indexOf(w) !== -1; });
      row.hidden = !ok;
      if (ok) count++;
    });
    shown.textContent = count + ' of ' + body.rows.length + ' endpoints shown';
  }
  filter.addEventListener('input', apply);
  severity.addEventListener('change', apply);
  apply();
})();
`;

function sha256(s: string): string {
  return `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
}

/** Only the inline stylesheet and script above; no fetch of any kind, no forms, no base. */
export const REPORT_CSP = [
  "default-src 'none'",
  `style-src ${sha256(REPORT_CSS)}`,
  `script-src ${sha256(REPORT_SCRIPT)}`,
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
