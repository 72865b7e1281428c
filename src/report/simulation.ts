import pc from 'picocolors';
import type { DoctorResult } from '../diagnose/doctor.js';
import type { CheckedFix } from '../diagnose/fixes.js';
import type { ExchangeLine } from '../simulate/run-pair.js';
import type { Negotiated, SimulatedAttempt, SimulatedFailure, SimulationResult } from '../simulate/simulate.js';

/**
 * The terminal report of a simulation: each connection the client made as a text sequence
 * diagram (client on the left, server on the right), the outcome in the client's own words,
 * then the fixes that the simulation confirmed, safest first.
 */
export interface SimulationRenderOptions {
  color: boolean;
  /** the whole width, at least 60 */
  width?: number;
  /** the client profile's `notModelled`: what this client does that the simulation leaves out */
  notModelled?: string;
}

type Colors = ReturnType<typeof pc.createColors>;

export function describeNegotiated(n: Negotiated): string {
  const parts = [n.protocol === 'SSL' ? 'TLS' : n.protocol === 'RDP' ? 'Standard RDP Security' : n.protocol === 'HYBRID' ? 'NLA (CredSSP)' : n.protocol === 'HYBRID_EX' ? 'NLA (CredSSP, HYBRID_EX)' : n.protocol];
  if (n.tlsVersion) parts.push(n.tlsVersion);
  if (n.credsspVersion !== undefined) parts.push(`CredSSP ${n.credsspVersion}`);
  if (n.protocol === 'RDP' && n.encryptionMethod) {
    const m = n.encryptionMethod;
    parts.push(`${m === 'NONE' ? 'no encryption' : m === 'FIPS' ? 'FIPS 140-1 (3DES)' : `${m.replace('BIT', '-bit')} RC4`}, level ${n.encryptionLevel}`);
  }
  return parts.join(', ');
}

/** What to give `rdpsec explain` for this failure: the client's code, else its first words (quoted). */
function explainArgument(f: SimulatedFailure): string {
  if (f.clientCode) return f.clientCode;
  return JSON.stringify(f.clientMessage.split('\n')[0]!.slice(0, 80));
}

export function describeFailure(f: SimulatedFailure): string {
  return `${f.code}${f.detail ? ` (${f.detail})` : ''} at ${f.stage}`;
}

/** One connection as a sequence diagram. */
export function renderExchange(lines: readonly ExchangeLine[], c: Colors, width: number): string[] {
  const inner = Math.max(30, Math.min(56, width - 40));
  const out: string[] = [`  ${c.bold('client')}${' '.repeat(inner - 2)}${c.bold('server')}`];
  for (const l of lines) {
    if (l.kind === 'pdu') {
      const label = ` ${l.pdu} `;
      const fill = Math.max(2, inner - label.length - 3);
      const arrow = l.from === 'client' ? `|--${label}${'-'.repeat(fill)}>|` : `|<${'-'.repeat(fill)}${label}--|`;
      out.push(`    ${arrow}  ${c.dim(l.summary)}`);
    } else if (l.kind === 'tls') {
      const label = ` ${l.detail} `;
      const shown = label.length > inner ? label.slice(0, inner - 1) + ' ' : label;
      out.push(`    |${c.cyan(`==${shown}${'='.repeat(Math.max(0, inner - shown.length - 2))}`)}|`);
    } else if (l.side === 'server') {
      out.push(`    |${' '.repeat(inner)}|  ${c.yellow(`server: ${l.text}`)}`);
    } else {
      out.push(`    ${c.red('x')}  ${c.red(`client: ${l.text}`)}`);
    }
  }
  return out;
}

function attemptTitle(a: SimulatedAttempt, i: number): string {
  const req = a.requestedProtocols === null ? 'no RDP_NEG_REQ (legacy request)' : `requestedProtocols ${a.requestedProtocols.join('|')}`;
  return `connection ${i + 1}: ${req}${a.note ? ` (${a.note})` : ''}`;
}

export function renderFixes(fixes: readonly CheckedFix[], c: Colors, connects: boolean, indent = '  '): string[] {
  if (fixes.length === 0) {
    const none = connects ? 'no candidate (data/fixes.yaml) makes this connection stronger and keeps it working' : 'none of the fix candidates (data/fixes.yaml) makes this connection work in the simulation';
    return [`${indent}${c.dim(none)}`];
  }
  const out: string[] = [];
  fixes.forEach((f, i) => {
    const tag = f.safety === 'safe' ? c.green('[safe]') : c.red('[weakens security]');
    out.push(`${indent}${i + 1}. ${tag} ${f.where}: ${f.summary}`);
    out.push(`${indent}   ${c.dim(`simulated: connects with ${describeNegotiated(f.result)}`)}`);
    for (const risk of f.risks) out.push(`${indent}   ${c.yellow('still:')} ${risk.summary}`);
    if (f.weakens) out.push(`${indent}   ${c.red('weakens:')} ${f.weakens}`);
    if (f.saferAlternative) out.push(`${indent}   ${c.yellow('prefer:')} ${f.saferAlternative.summary}${f.saferAlternative.works ? '' : ' (not enough on its own here)'}`);
    for (const s of f.steps) out.push(`${indent}   - ${s}`);
    out.push(`${indent}   ${c.dim(`undo: ${f.undo}`)}`);
  });
  return out;
}

export function renderSimulation(r: SimulationResult, fixes: readonly CheckedFix[] | undefined, opts: SimulationRenderOptions): string {
  const c = pc.createColors(opts.color);
  const width = Math.max(60, opts.width ?? 100);
  const lines: string[] = [c.bold(`simulate: client ${r.client} -> server ${r.server} (logon: ${r.logon})`)];
  r.attempts.forEach((a, i) => {
    lines.push('', c.cyan(attemptTitle(a, i)));
    lines.push(...renderExchange(a.exchange, c, width));
    lines.push(`  ${c.dim(`server saw: ${a.server.outcome} - ${a.server.reason}`)}`);
  });
  lines.push('');
  if (r.connects && r.negotiated) {
    lines.push(`${c.green(c.bold('CONNECTS'))} with ${describeNegotiated(r.negotiated)}`);
    for (const risk of r.risks) lines.push(`  ${c.yellow('risk:')} ${risk.summary}`);
  } else if (r.failure) {
    const f = r.failure;
    lines.push(`${c.red(c.bold('FAILS'))}: ${describeFailure(f)}: ${f.reason}`);
    lines.push(`  the client shows: ${c.bold(f.clientMessage.split('\n').join('\n                    '))}`);
    const code = [f.clientMessage.startsWith(f.clientCode ?? '\u0000') ? null : f.clientCode, f.exitCode !== null ? `exit code ${f.exitCode}` : null].filter(Boolean).join(', ');
    if (code) lines.push(`  ${code}`);
    lines.push(`  more: rdpsec explain ${explainArgument(f)}`);
  }
  if (opts.notModelled) lines.push(`  ${c.yellow('not simulated for this client:')} ${opts.notModelled}`);
  if (fixes) {
    lines.push('', c.bold(r.connects ? 'hardening that keeps this client connecting (checked by simulation):' : 'fixes (each checked by simulation), safest first:'));
    lines.push(...renderFixes(fixes, c, r.connects));
  }
  return lines.join('\n') + '\n';
}

export interface MatrixCell {
  client: string;
  server: string;
  connects: boolean;
  negotiated: Negotiated | null;
  failure: SimulatedFailure | null;
}

/** The grid of `simulate --matrix`: one row per client, one column per server. */
export function renderMatrix(cells: readonly MatrixCell[], opts: SimulationRenderOptions): string {
  const c = pc.createColors(opts.color);
  const clients = [...new Set(cells.map((x) => x.client))];
  const servers = [...new Set(cells.map((x) => x.server))];
  const text = (x: MatrixCell): string =>
    x.connects && x.negotiated ? `${x.negotiated.protocol}${x.negotiated.tlsVersion ? ` ${x.negotiated.tlsVersion.replace('TLSv', '')}` : ''}` : `x ${x.failure?.code ?? '?'}`;
  const cellText = new Map(cells.map((x) => [`${x.client}\u0000${x.server}`, x]));
  const colWidth = servers.map((s) => Math.max(s.length, ...clients.map((cl) => text(cellText.get(`${cl}\u0000${s}`)!).length)));
  const firstWidth = Math.max(6, ...clients.map((x) => x.length));
  const lines = [[c.bold('client'.padEnd(firstWidth)), ...servers.map((s, i) => c.bold(s.padEnd(colWidth[i]!)))].join('  ')];
  for (const cl of clients) {
    const row = [cl.padEnd(firstWidth)];
    servers.forEach((s, i) => {
      const x = cellText.get(`${cl}\u0000${s}`)!;
      const t = text(x).padEnd(colWidth[i]!);
      row.push(x.connects ? (x.negotiated?.protocol === 'RDP' ? c.yellow(t) : c.green(t)) : c.red(t));
    });
    lines.push(row.join('  '));
  }
  lines.push('', c.dim('cells: the protocol and TLS version the client ends up with, or x and why it fails (rdpsec simulate --client C --server S for the exchange)'));
  return lines.join('\n') + '\n';
}

/** `doctor`'s report: the server as modelled from the probe, then the simulation's verdict and fixes. */
export function renderDoctor(r: DoctorResult, opts: SimulationRenderOptions & { exchange: boolean }): string {
  const c = pc.createColors(opts.color);
  const width = Math.max(60, opts.width ?? 100);
  const lines: string[] = [c.bold(`doctor: will ${r.client} connect to ${r.target.host}:${r.target.port}?`), ''];
  lines.push(c.cyan('the server, as probed'));
  lines.push(`  ${r.serverModel.description}${r.serverModel.product !== 'unknown' ? ` (looks like ${r.serverModel.product})` : ''}`);
  for (const e of r.evidence) lines.push(`  ${c.dim(`- ${e}`)}`);
  for (const a of r.assumptions) lines.push(`  ${c.yellow(`assumed: ${a}`)}`);
  for (const d of r.differences) lines.push(`  ${c.yellow(`not modelled: ${d.question}: the host answers ${d.observed}, the model ${d.predicted}`)}`);
  if (opts.exchange) {
    r.attempts.forEach((a, i) => {
      lines.push('', c.cyan(attemptTitle(a, i)));
      lines.push(...renderExchange(a.exchange, c, width));
    });
  } else if (r.attempts.length > 1) {
    lines.push('', c.dim(`the client makes ${r.attempts.length} connections: ${r.attempts.map((a) => a.outcome).join(' -> ')} (--exchange shows them)`));
  }
  lines.push('');
  if (r.connects && r.negotiated) {
    lines.push(`${c.green(c.bold('WILL CONNECT'))} with ${describeNegotiated(r.negotiated)}`);
    for (const risk of r.risks) lines.push(`  ${c.yellow('risk:')} ${risk.summary}`);
  } else if (r.failure) {
    const f = r.failure;
    lines.push(`${c.red(c.bold('WILL FAIL'))}: ${describeFailure(f)}: ${f.reason}`);
    lines.push(`  the client shows: ${c.bold(f.clientMessage.split('\n').join('\n                    '))}`);
    const code = [f.clientMessage.startsWith(f.clientCode ?? '\u0000') ? null : f.clientCode, f.exitCode !== null ? `exit code ${f.exitCode}` : null].filter(Boolean).join(', ');
    if (code) lines.push(`  ${code}`);
    lines.push(`  more: rdpsec explain ${explainArgument(f)}`);
  }
  if (opts.notModelled) lines.push(`  ${c.yellow('not simulated for this client:')} ${opts.notModelled}`);
  lines.push('', c.bold(r.connects ? 'hardening that keeps this client connecting (checked by simulation):' : 'fixes (each checked by simulation), safest first:'));
  lines.push(...renderFixes(r.fixes, c, r.connects));
  return lines.join('\n') + '\n';
}

/** One short block per client: will it connect, what it shows if not, the safest checked fix. */
export function renderDiagnosisSummary(results: readonly DoctorResult[], opts: SimulationRenderOptions): string {
  const c = pc.createColors(opts.color);
  const lines: string[] = ['', c.bold(c.cyan('# which clients get in (simulated against the server as probed; rdpsec doctor HOST --client C for one)'))];
  for (const r of results) {
    if (r.connects && r.negotiated) {
      lines.push(`${c.green('connects')}  ${r.client}: ${describeNegotiated(r.negotiated)}`);
      for (const risk of r.risks) lines.push(`          ${c.yellow('risk:')} ${risk.summary}`);
    } else if (r.failure) {
      const code = [r.failure.clientCode, r.failure.exitCode !== null ? `exit ${r.failure.exitCode}` : null].filter(Boolean).join(', ');
      lines.push(`${c.red('fails')}     ${r.client}: ${describeFailure(r.failure)}${code ? ` (${code})` : ''}`);
      lines.push(`          shows: ${r.failure.clientMessage.split('\n')[0]}`);
    }
    const best = r.fixes[0];
    if (best) lines.push(`          ${best.safety === 'safe' ? c.green('fix:') : c.red('fix (weakens security):')} ${best.summary}`);
  }
  return lines.join('\n') + '\n';
}
