import { protocolMaskNames } from '../pdu/nego.js';
import type { LegacyProbe, ProtocolProbe } from '../probe/posture.js';
import type { ExchangeLine } from '../simulate/run-pair.js';
import { clip, esc, wrap } from './html-escape.js';

/**
 * Sequence diagrams of a negotiation as SVG, for the HTML report: the same picture as the
 * terminal's text diagram (simulation.ts renderExchange), client lane on the left, server lane
 * on the right, one arrow per PDU with its name above and its decoded summary below, TLS as a
 * band across both lanes, notes in boxes ("server: ...", "client: ..."). Pure markup, no
 * script, no external reference; every text is escaped.
 */
export interface SequenceSvg {
  width: number;
  height: number;
  /** the drawing, to put inside an <svg viewBox="0 0 width height"> or a <symbol> */
  body: string;
}

const W = 760;
const CLIENT_X = 110;
const SERVER_X = 650;
const TOP = 40;
const PDU_ROW = 42;
const TLS_ROW = 30;
const NOTE_LINE = 15;
/** characters that fit: labels between the lanes, summaries, note lines (sans-serif 11-12 px) */
const LABEL_CHARS = 70;
const SUMMARY_CHARS = 86;
const NOTE_CHARS = 78;

const COLORS = {
  lane: '#8a94a6',
  arrow: '#1f2937',
  summary: '#4b5563',
  tlsFill: '#d7eef6',
  tlsStroke: '#2b8cb0',
  serverFill: '#fff4c2',
  serverStroke: '#b38f00',
  clientFill: '#fde0de',
  clientStroke: '#c0392b',
};

function text(x: number, y: number, s: string, attrs: string): string {
  return `<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`;
}

function arrow(from: number, to: number, y: number): string {
  const dir = to > from ? 1 : -1;
  const tip = to - dir * 2;
  const head = `${tip},${y} ${tip - dir * 9},${y - 4.5} ${tip - dir * 9},${y + 4.5}`;
  return `<line x1="${from}" y1="${y}" x2="${tip - dir * 8}" y2="${y}" stroke="${COLORS.arrow}" stroke-width="1.4"/><polygon points="${head}" fill="${COLORS.arrow}"/>`;
}

/** The diagram of one connection. */
export function sequenceSvg(lines: readonly ExchangeLine[]): SequenceSvg {
  const parts: string[] = [];
  let y = TOP;
  const mid = (CLIENT_X + SERVER_X) / 2;
  for (const l of lines) {
    if (l.kind === 'pdu') {
      const [from, to] = l.from === 'client' ? [CLIENT_X, SERVER_X] : [SERVER_X, CLIENT_X];
      const tip = `${l.from === 'client' ? 'client to server' : 'server to client'}: ${l.pdu}${l.summary ? ` (${l.summary})` : ''}`;
      parts.push(
        `<g><title>${esc(tip)}</title>` +
          text(mid, y + 14, clip(l.pdu, LABEL_CHARS), 'text-anchor="middle" font-size="12" font-weight="bold" fill="#111827"') +
          arrow(from, to, y + 20) +
          (l.summary ? text(mid, y + 34, clip(l.summary, SUMMARY_CHARS), `text-anchor="middle" font-size="11" fill="${COLORS.summary}"`) : '') +
          '</g>',
      );
      y += PDU_ROW;
    } else if (l.kind === 'tls') {
      parts.push(
        `<g><title>${esc(l.detail)}</title><rect x="${CLIENT_X}" y="${y + 4}" width="${SERVER_X - CLIENT_X}" height="20" rx="3" fill="${COLORS.tlsFill}" stroke="${COLORS.tlsStroke}"/>` +
          text(mid, y + 18, clip(l.detail, LABEL_CHARS), `text-anchor="middle" font-size="12" fill="#0b4f6c"`) +
          '</g>',
      );
      y += TLS_ROW;
    } else {
      const server = l.side === 'server';
      const body = wrap(`${server ? 'server' : 'client'}: ${l.text}`, NOTE_CHARS);
      const h = body.length * NOTE_LINE + 8;
      // a client note starts right of the cross drawn on the client's lane
      const [x0, x1] = server ? [CLIENT_X + 30, W - 8] : [CLIENT_X + 14, SERVER_X - 30];
      const tspans = body.map((s, i) => `<tspan x="${x0 + 8}" y="${y + 4 + (i + 1) * NOTE_LINE - 3}">${esc(s)}</tspan>`).join('');
      parts.push(
        `<g><title>${esc(l.text)}</title><rect x="${x0}" y="${y + 2}" width="${x1 - x0}" height="${h}" rx="3" fill="${server ? COLORS.serverFill : COLORS.clientFill}" stroke="${server ? COLORS.serverStroke : COLORS.clientStroke}"/>` +
          `<text font-size="11" fill="#1f2937">${tspans}</text>` +
          (server ? '' : text(CLIENT_X, y + 2 + h / 2 + 5, '\u2717', `text-anchor="middle" font-size="15" font-weight="bold" fill="${COLORS.clientStroke}"`)) +
          '</g>',
      );
      y += h + 8;
    }
  }
  const height = y + 10;
  const lane = (x: number, name: string) =>
    `<rect x="${x - 45}" y="6" width="90" height="22" rx="4" fill="#eef2f7" stroke="${COLORS.lane}"/>` +
    text(x, 21, name, 'text-anchor="middle" font-size="12" font-weight="bold" fill="#111827"') +
    `<line x1="${x}" y1="28" x2="${x}" y2="${height - 4}" stroke="${COLORS.lane}" stroke-dasharray="4 3"/>`;
  const body = `<g font-family="system-ui, sans-serif">${lane(CLIENT_X, 'client')}${lane(SERVER_X, 'server')}${parts.join('')}</g>`;
  return { width: W, height, body };
}

function requestSummary(requested: number): string {
  return `RDP_NEG_REQ requestedProtocols=0x${requested.toString(16)} (${protocolMaskNames(requested).join('|')})`;
}

/**
 * One protocol question of the probe as an exchange: the Connection Request with its
 * requestedProtocols and what came back: an RDP_NEG_RSP with the selection, an RDP_NEG_FAILURE
 * with its failureCode (MS-RDPBCGR 2.2.1.2.1, 2.2.1.2.2), a disconnect, or an error.
 */
export function protocolQuestionLines(p: ProtocolProbe): ExchangeLine[] {
  const out: ExchangeLine[] = [{ kind: 'pdu', from: 'client', pdu: 'X.224 Connection Request', summary: requestSummary(p.requested) }];
  if (p.selected !== undefined) {
    const flags = p.flags?.length ? ` flags=${p.flags.join('|')}` : '';
    const summary = p.legacyConfirm ? `no negotiation data (selected ${p.selected})` : `RDP_NEG_RSP selectedProtocol=${p.selected}${flags}`;
    out.push({ kind: 'pdu', from: 'server', pdu: 'X.224 Connection Confirm', summary });
    if (p.status === 'ignored') out.push({ kind: 'note', side: 'server', text: `ignored the request, selected ${p.selected}` });
  } else if (p.failureCode) {
    out.push({ kind: 'pdu', from: 'server', pdu: 'X.224 Connection Confirm', summary: `RDP_NEG_FAILURE ${p.failureCode}` });
  } else if (p.disconnect) {
    out.push({ kind: 'note', side: 'server', text: `disconnected: ${p.disconnect}` });
  } else if (p.error) {
    out.push({ kind: 'note', side: 'client', text: `error: ${p.error.kind} in ${p.error.phase}: ${p.error.message}` });
  }
  return out;
}

/** The legacy question: a Connection Request without RDP_NEG_REQ, as clients before RDP 5.2 send. */
export function legacyQuestionLines(lg: LegacyProbe): ExchangeLine[] {
  const out: ExchangeLine[] = [{ kind: 'pdu', from: 'client', pdu: 'X.224 Connection Request', summary: 'no RDP_NEG_REQ (legacy request)' }];
  if (lg.confirm) {
    const summary =
      lg.confirm === 'no-negotiation-data' ? 'no negotiation data' : lg.confirm === 'RDP_NEG_FAILURE' ? `RDP_NEG_FAILURE ${lg.failureCode ?? ''}`.trim() : `RDP_NEG_RSP selectedProtocol=${lg.selected ?? '?'}`;
    out.push({ kind: 'pdu', from: 'server', pdu: 'X.224 Connection Confirm', summary });
  }
  if (lg.detail) out.push({ kind: 'note', side: 'server', text: lg.detail });
  if (lg.error) out.push({ kind: 'note', side: 'client', text: `error: ${lg.error.kind} in ${lg.error.phase}: ${lg.error.message}` });
  return out;
}
