import { ClientInputError, derivedProfile, type ClientReading, type ClientSettingNote, type IgnoredClientSetting, type ClientInputLocation } from './client-reading.js';
import { clientProfile, type AttemptOutcome, type ClientProfile, type ProfileAttempt } from './client-profiles.js';
import type { ProtocolName } from '../pdu/nego.js';
import { parseHostPort } from './rdp-file.js';

/**
 * An xfreerdp command line (FreeRDP 2.x syntax) read as a client profile derived from
 * xfreerdp-2.11 (client data, CredSSP, cookie). The options that matter to the security
 * negotiation decide which of RDP, TLS, NLA and EXT are enabled, and the attempts and their
 * fallback graph are then generated from FreeRDP 2.x libfreerdp/core/nego.c, so that the
 * catalogue's xfreerdp profiles and this generator can be checked against each other
 * (test/connector/xfreerdp-args.test.ts).
 *
 * Sources (code corpus):
 * - [NEGO] libfreerdp/core/nego.c of a 2.x tree (microsoft/FreeRDP 397ff1e: struct rdp_nego in
 *   the .c file, WINPR_ASSERT): nego_connect starts at the highest enabled of EXT, NLA, TLS, RDP;
 *   nego_attempt_ext requests HYBRID|SSL|HYBRID_EX, nego_attempt_nla HYBRID|SSL,
 *   nego_attempt_tls SSL, nego_attempt_rdp 0; after an attempt that did not end FINAL each moves
 *   to the next enabled of NLA, TLS, RDP (RDP is the last); nego_process_negotiation_failure sets
 *   sendNegoData for SSL_NOT_ALLOWED_BY_SERVER and SSL_CERT_NOT_ON_SERVER and ends every failure
 *   in NEGO_STATE_FAIL (so the attempt falls back); nego_send_negotiation_request writes an
 *   RDP_NEG_REQ only if RequestedProtocols > PROTOCOL_RDP or sendNegoData, with
 *   RESTRICTED_ADMIN_MODE_REQUIRED when RestrictedAdminModeRequired; nego_recv fails a
 *   selected HYBRID or SSL that is not enabled, a selected RDP (or a Confirm without
 *   rdpNegData) when RDP is not enabled, and those failures fall back like an RDP_NEG_FAILURE;
 *   nego_security_connect has branches for HYBRID, SSL and RDP only.
 * - [CMD] client/common/cmdline.c of a 2.x tree: /sec:rdp|tls|nla|ext enables that one alone;
 *   +/-sec-rdp, -tls, -nla, -ext toggle one; /restricted-admin and /pth: set
 *   RestrictedAdminModeRequired; +auth-only sets AuthenticationOnly; -nego clears
 *   NegotiateSecurityLayer; /cert-ignore, /cert-tofu (2.0) and /cert:ignore|tofu (later 2.x).
 * Defaults (RDP, TLS and NLA on, EXT off): profile xfreerdp-2.11 and its captures.
 */

/** A command line longer than this is not one someone typed (Linux's single-argument limit is 128 KiB). */
export const MAX_COMMAND_LINE_CHARS = 128 * 1024;

export interface XfreerdpReading extends ClientReading {
  form: 'xfreerdp';
  program?: string;
  /** which security protocols the command line leaves enabled ([CMD]) */
  enabled: FreerdpSecurity;
}

export interface FreerdpSecurity {
  rdp: boolean;
  tls: boolean;
  nla: boolean;
  ext: boolean;
}

export interface XfreerdpOptions {
  file?: string;
  /** a freerdp-family profile to take client data and CredSSP from (default xfreerdp-2.11) */
  base?: string;
}

interface Token {
  text: string;
  line: number;
  column: number;
}

/** Split a command line as a POSIX shell would: quotes, backslash escapes, line continuations, # comments. */
export function splitCommandLine(text: string, file?: string): Token[] {
  if (text.length > MAX_COMMAND_LINE_CHARS) throw new ClientInputError('Encoding', `command line of ${text.length} characters is longer than ${MAX_COMMAND_LINE_CHARS}`, file !== undefined ? { file } : {});
  const out: Token[] = [];
  let line = 1;
  let col = 1;
  let cur: Token | undefined;
  let i = 0;
  const loc = (l: number, c: number): ClientInputLocation => ({ ...(file !== undefined ? { file } : {}), line: l, column: c });
  const start = (): Token => (cur ??= { text: '', line, column: col });
  const advance = (ch: string): void => {
    if (ch === '\n') {
      line++;
      col = 1;
    } else col++;
  };
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '\r' && text[i + 1] === '\n') {
      i++;
      continue;
    }
    if (/\s/.test(ch)) {
      if (cur) out.push(cur);
      cur = undefined;
      advance(ch);
      i++;
    } else if (ch === '#' && !cur) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '\\') {
      const n = text[i + 1];
      if (n === undefined) throw new ClientInputError('Syntax', 'a backslash at the end of the input', loc(line, col));
      if (n === '\n' || (n === '\r' && text[i + 2] === '\n')) {
        // line continuation
        i += n === '\n' ? 2 : 3;
        line++;
        col = 1;
        continue;
      }
      start().text += n;
      i += 2;
      col += 2;
    } else if (ch === "'" || ch === '"') {
      const t = start();
      const openLine = line;
      const openCol = col;
      advance(ch);
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i] as string;
        if (c === ch) {
          closed = true;
          advance(c);
          i++;
          break;
        }
        if (ch === '"' && c === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1] as string)) {
          const n = text[i + 1] as string;
          if (n !== '\n') t.text += n;
          advance(c);
          advance(n);
          i += 2;
          continue;
        }
        t.text += c;
        advance(c);
        i++;
      }
      if (!closed) throw new ClientInputError('Syntax', `unterminated ${ch === '"' ? 'double' : 'single'} quote`, loc(openLine, openCol));
    } else {
      start().text += ch;
      advance(ch);
      i++;
    }
  }
  if (cur) out.push(cur);
  return out;
}

const PROGRAM = /^(?:.*\/)?(xfreerdp3?|sdl-freerdp3?|wlfreerdp3?|freerdp-shadow-cli)$/;

/** FreeRDP 2.x defaults: RDP, TLS and NLA enabled, EXT not ([CMD]; xfreerdp-2.11). */
export const FREERDP_DEFAULT_SECURITY: Readonly<FreerdpSecurity> = { rdp: true, tls: true, nla: true, ext: false };

/** Options with no bearing on the security negotiation, listed so that they are not reported as unknown. */
const NOT_SECURITY = new Set([
  'size', 'w', 'h', 'f', 'multimon', 'monitors', 'bpp', 'kbd', 'kbd-list', 'clipboard', 'drive', 'drives', 'home-drive',
  'sound', 'microphone', 'audio-mode', 'printer', 'smartcard', 'serial', 'parallel', 'usb', 'rfx', 'gfx', 'gfx-h264',
  'fonts', 'aero', 'wallpaper', 'themes', 'window-drag', 'menu-anims', 'compression', 'compression-level', 'dynamic-resolution',
  'scale', 'scale-desktop', 'scale-device', 'smart-sizing', 'log-level', 'log-filters', 'network', 'title', 'wm-class',
  'decorations', 'floatbar', 'grab-keyboard', 'toggle-fullscreen', 'bitmap-cache', 'offscreen-cache', 'glyph-cache',
  'fast-path', 'async-input', 'async-update', 'async-channels', 'auto-reconnect', 'auto-reconnect-max-retries',
  'heartbeat', 'multitransport', 'ipv6', 'timeout', 'shell', 'shell-dir', 'app', 'workarea', 'span', 'admin', 'console',
  'client-hostname', 'disp', 'echo', 'mouse-motion', 'jpeg', 'nsc', 'codec-cache', 'video', 'rdp2tcp', 'vc', 'dvc',
  'a', 'relax-order-checks', 'from-stdin', 'old-license', 'encryption-methods', 'encryption', 'authentication',
]);

const ALL_FAILURES: AttemptOutcome[] = [
  'SSL_NOT_ALLOWED_BY_SERVER',
  'SSL_CERT_NOT_ON_SERVER',
  'SSL_REQUIRED_BY_SERVER',
  'INCONSISTENT_FLAGS',
  'HYBRID_REQUIRED_BY_SERVER',
  'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER',
  'UNKNOWN_FAILURE_CODE',
];
/** the two failure codes after which nego.c sets sendNegoData ([NEGO] nego_process_negotiation_failure) */
const SETS_NEGO_DATA = new Set<AttemptOutcome>(['SSL_NOT_ALLOWED_BY_SERVER', 'SSL_CERT_NOT_ON_SERVER']);

type Stage = 'EXT' | 'NLA' | 'TLS' | 'RDP';
const STAGES: Stage[] = ['EXT', 'NLA', 'TLS', 'RDP'];
const ENABLES: Record<Stage, keyof FreerdpSecurity> = { EXT: 'ext', NLA: 'nla', TLS: 'tls', RDP: 'rdp' };

/**
 * The attempts FreeRDP 2.x makes with these protocols enabled, and the selections it goes on
 * with: nego_connect / nego_attempt_* / nego_recv of [NEGO] walked for every outcome. An
 * attempt is (stage, sendNegoData); the outcomes that move on are the RDP_NEG_FAILURE codes
 * and, when a protocol is disabled, UNEXPECTED_PROTOCOL (a selection nego_recv refuses).
 */
export function freerdpAttempts(sec: FreerdpSecurity): { attempts: ProfileAttempt[]; accepts: ProtocolName[] } {
  const accepts: ProtocolName[] = [];
  if (sec.rdp) accepts.push('RDP');
  if (sec.tls) accepts.push('SSL');
  if (sec.nla) accepts.push('HYBRID');
  // HYBRID_EX is left out even with EXT: nego_recv lets it through but nego_security_connect has
  // no branch for it, so the connection fails there without a fallback ([NEGO])
  const first = STAGES.find((s) => sec[ENABLES[s]]);
  if (!first) return { attempts: [], accepts };
  const refusesSelection = !(sec.rdp && sec.tls && sec.nla);
  const next = (s: Stage): Stage | undefined => {
    if (s === 'RDP') return undefined; // nego_attempt_rdp has no fallback
    return STAGES.slice(STAGES.indexOf(s) + 1).find((t) => t !== 'EXT' && sec[ENABLES[t]]);
  };
  interface Node { stage: Stage; negoData: boolean; from: { index: number; on: AttemptOutcome[] }[] }
  const nodes: Node[] = [{ stage: first, negoData: false, from: [] }];
  const key = (n: { stage: Stage; negoData: boolean }): string => `${n.stage}/${n.negoData}`;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as Node;
    const to = next(n.stage);
    if (!to) continue;
    // outcomes grouped by the attempt they lead to, in the order the catalogue writes them
    const groups = new Map<string, { stage: Stage; negoData: boolean; on: AttemptOutcome[] }>();
    const add = (negoData: boolean, on: AttemptOutcome): void => {
      const k = key({ stage: to, negoData });
      const g = groups.get(k) ?? { stage: to, negoData, on: [] };
      g.on.push(on);
      groups.set(k, g);
    };
    for (const f of ALL_FAILURES) add(n.negoData || SETS_NEGO_DATA.has(f), f);
    if (refusesSelection) add(n.negoData, 'UNEXPECTED_PROTOCOL');
    for (const g of groups.values()) {
      let target = nodes.find((m) => key(m) === key(g));
      if (!target) {
        target = { stage: g.stage, negoData: g.negoData, from: [] };
        nodes.push(target);
      }
      target.from.push({ index: i, on: g.on });
    }
  }
  // stages only move forward, so ordering by stage keeps every `after` pointing back
  const order = nodes.map((n, i) => ({ n, i })).sort((a, b) => STAGES.indexOf(a.n.stage) - STAGES.indexOf(b.n.stage) || a.i - b.i);
  const newIndex = new Map(order.map(({ i }, j) => [i, j]));
  const attempts = order.map(({ n }): ProfileAttempt => {
    const requested: ProtocolName[] | null =
      n.stage === 'EXT' ? ['SSL', 'HYBRID', 'HYBRID_EX'] : n.stage === 'NLA' ? ['SSL', 'HYBRID'] : n.stage === 'TLS' ? ['SSL'] : n.negoData ? ['RDP'] : null;
    const after = n.from.map((f) => ({ attempt: newIndex.get(f.index) as number, on: f.on })).sort((a, b) => a.attempt - b.attempt);
    return {
      requestedProtocols: requested,
      ...(after.length ? { after } : {}),
      note: `nego_attempt_${n.stage.toLowerCase()}${n.stage === 'RDP' ? (n.negoData ? ' with sendNegoData set' : ' with sendNegoData unset, so no RDP_NEG_REQ') : ''}`,
    };
  });
  return { attempts, accepts };
}

/** Read an xfreerdp command line into a profile derived from xfreerdp-2.11. */
export function readXfreerdpArgs(text: string, opts: XfreerdpOptions = {}): XfreerdpReading {
  const file = opts.file;
  const tokens = splitCommandLine(text, file);
  const base = clientProfile(opts.base ?? 'xfreerdp-2.11');
  if (base.family !== 'freerdp') throw new ClientInputError('InvalidValue', `an xfreerdp command line needs a freerdp base profile, not ${base.name}`, file !== undefined ? { file } : {});
  const notes: ClientSettingNote[] = [];
  const ignored: IgnoredClientSetting[] = [];
  const sec: FreerdpSecurity = { ...FREERDP_DEFAULT_SECURITY };
  const reading: Omit<XfreerdpReading, 'profile'> = { form: 'xfreerdp', notes, ignored, enabled: sec };
  let restricted = false;
  let authOnly = false;
  let port: number | undefined;
  let host: { host: string; port?: number } | undefined;
  const notModelled: string[] = [];
  const unverified: string[] = [];

  let rest = tokens;
  const prog = tokens[0];
  if (prog && PROGRAM.test(prog.text)) {
    reading.program = prog.text.replace(/^.*\//, '');
    rest = tokens.slice(1);
    if (/3$/.test(reading.program) || reading.program.startsWith('sdl-')) {
      unverified.push(`${reading.program} is FreeRDP 3; its negotiation is modelled with the 2.x nego.c.`);
    }
  }

  for (const t of rest) {
    const loc = { line: t.line, column: t.column };
    const m = /^([/+-])([A-Za-z0-9][A-Za-z0-9-]*)(?::([\s\S]*))?$/.exec(t.text);
    if (!m) {
      ignored.push({ setting: t.text.slice(0, 80), reason: 'not an option (/name:value, +name or -name)', ...loc });
      continue;
    }
    const sign = m[1] as string;
    const name = (m[2] as string).toLowerCase();
    const value = m[3];
    const on = sign !== '-';
    const setting = `${sign}${name}`;
    const note = (effect: string, modelled: boolean, shown = value ?? ''): void => {
      notes.push({ setting, value: shown, effect, modelled, ...loc });
    };
    const bad = (why: string): never => {
      throw new ClientInputError('InvalidValue', why, { ...(file !== undefined ? { file } : {}), ...loc, key: setting, ...(value !== undefined ? { value } : {}) });
    };
    const secret = (what: string): void => {
      ignored.push({ setting, reason: `${what}: never kept`, ...loc });
    };
    switch (name) {
      case 'v': {
        const hp = value ? parseHostPort(value) : undefined;
        if (!hp) bad('expected HOST[:PORT]');
        host = hp;
        note('the server: kept as the target', true);
        break;
      }
      case 'port': {
        const n = Number(value);
        if (!value || !/^\d{1,5}$/.test(value) || n < 1 || n > 65535) bad('expected a TCP port');
        port = n;
        note('the server port', true);
        break;
      }
      case 'u': {
        if (!value) bad('expected a user name');
        const u = value as string;
        // FreeRDP splits DOMAIN\user and user@domain (freerdp_parse_username)
        const bs = u.indexOf('\\');
        if (bs > 0) {
          reading.domain ??= u.slice(0, bs);
          reading.user = u.slice(bs + 1);
        } else reading.user = u;
        note('the user name: the cookie (mstshash=) and the logon user', true);
        break;
      }
      case 'd':
        if (value) reading.domain = value;
        note('the logon domain', true);
        break;
      case 'p':
        secret('a password on the command line');
        break;
      case 'gp':
      case 'gat':
        secret('a gateway secret');
        break;
      case 'pth':
        // [CMD]: /pth sets RestrictedAdminModeRequired (and ConsoleSession) and the NTLM hash
        restricted = true;
        secret('a password hash (/pth)');
        notes.push({ setting, value: '', effect: 'restricted admin (RESTRICTED_ADMIN_MODE_REQUIRED); the NTLM logon uses the hash, which the connector takes as a password', modelled: true, ...loc });
        notModelled.push('/pth: logs on with an NT hash; simulate logs on with the password it is given.');
        break;
      case 'restricted-admin':
        restricted = on;
        note(on ? 'restricted admin: RESTRICTED_ADMIN_MODE_REQUIRED and empty CredSSP credentials' : 'restricted admin off', true);
        break;
      case 'sec': {
        // [CMD] /sec:rdp|tls|nla|ext enables that protocol alone; FreeRDP 3 also takes /sec:P:on|off
        const [p, sw] = (value ?? '').toLowerCase().split(':');
        const which = ({ rdp: 'rdp', tls: 'tls', nla: 'nla', ext: 'ext' } as const)[p as 'rdp'];
        if (!which) bad('expected rdp, tls, nla or ext');
        if (sw === undefined) {
          sec.rdp = sec.tls = sec.nla = sec.ext = false;
          sec[which] = true;
          note(`only ${which.toUpperCase()} enabled`, true);
        } else if (sw === 'on' || sw === 'off') {
          sec[which] = sw === 'on';
          note(`${which.toUpperCase()} ${sw}`, true);
        } else bad('expected on or off after the protocol');
        break;
      }
      case 'sec-rdp':
      case 'sec-tls':
      case 'sec-nla':
      case 'sec-ext': {
        const which = name.slice(4) as keyof FreerdpSecurity;
        sec[which] = on;
        note(`${which.toUpperCase()} ${on ? 'enabled' : 'disabled'}`, true);
        break;
      }
      case 'nego':
        note(on ? 'security layer negotiation on (the default)' : 'no negotiation: only the highest enabled protocol, without an X.224 negotiation first (Direct Approach); not modelled', on);
        if (!on) notModelled.push('-nego (the Direct Approach) is not reproduced; the profile negotiates.');
        break;
      case 'auth-only':
        authOnly = on;
        note(on ? 'authenticate only: the client stops after CredSSP' : 'full connection', true);
        break;
      case 'tls-seclevel':
        if (!value || !/^[0-5]$/.test(value)) bad('expected an OpenSSL security level 0 to 5');
        note('OpenSSL security level of the TLS handshake: recorded; the in-memory run has no TLS handshake', false);
        notModelled.push(`/tls-seclevel:${value} (the TLS handshake is not part of the in-memory run).`);
        break;
      case 'cert':
      case 'cert-ignore':
      case 'cert-tofu': {
        const v = name === 'cert' ? (value ?? '').toLowerCase() : name.slice(5);
        if (v.split(',').includes('ignore')) {
          reading.serverAuthentication = 'connect-without-warning';
          note('the server certificate is not checked (connect without warning)', false);
        } else if (v.split(',').includes('tofu')) note('trust the certificate on first use, then check it: recorded only', false);
        else note('certificate handling: recorded only', false);
        break;
      }
      case 'g':
      case 'gateway':
      case 'gu':
      case 'gd':
      case 'gt':
      case 'gateway-usage-method':
        note('an RD Gateway option: recorded; RD Gateway transports (MS-TSGU) are future work, the simulation connects directly', false);
        if (name === 'g' || name === 'gateway') notModelled.push('The command line goes through an RD Gateway; RD Gateway transports are future work, the simulation connects directly.');
        break;
      default:
        ignored.push({ setting, ...(value !== undefined ? { value } : {}), reason: NOT_SECURITY.has(name) ? 'not a security option' : 'unknown option', ...loc });
    }
  }
  if (host) reading.target = { host: host.host, ...((host.port ?? port) !== undefined ? { port: host.port ?? port } : {}) };

  const { attempts, accepts } = freerdpAttempts(sec);
  if (attempts.length === 0) throw new ClientInputError('InvalidValue', 'no security protocol is enabled (FreeRDP: "No security protocol is enabled")', file !== undefined ? { file } : {});
  if (sec.ext) unverified.push('EXT (HYBRID_EX) as xfreerdp 2.x handles it: the nego.c read has no HYBRID_EX branch in nego_security_connect, so a HYBRID_EX selection is refused.');
  if (accepts.length < 3) unverified.push('When a protocol is disabled, UNEXPECTED_PROTOCOL leads to the next attempt (nego_recv refusing the selection); a selection of RDSTLS or HYBRID_EX, which FreeRDP ends the connection on, gives the same code.');

  const p: ClientProfile = structuredClone(base);
  p.attempts = attempts;
  p.accepts = accepts;
  p.restrictedAdmin = restricted;
  if (authOnly) p.stopAfter = 'credssp';
  if (!sec.nla && !sec.ext) delete p.credssp;
  const changed = notes.filter((n) => n.modelled && !['/v', '/port', '/u', '/d'].includes(n.setting)).map((n) => `${n.setting}${n.value ? `:${n.value}` : ''}`);
  const profile = derivedProfile(p, {
    name: `${base.name}+args`,
    description: `xfreerdp with ${changed.length ? changed.join(' ') : 'default security options'} (RDP ${sec.rdp ? 'on' : 'off'}, TLS ${sec.tls ? 'on' : 'off'}, NLA ${sec.nla ? 'on' : 'off'}, EXT ${sec.ext ? 'on' : 'off'})`,
    source: 'command line read by src/connector/xfreerdp-args.ts; attempts generated from FreeRDP 2.x libfreerdp/core/nego.c, options from client/common/cmdline.c',
    notModelled,
    unverified,
  });
  return { ...reading, profile };
}
