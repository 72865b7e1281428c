import { DataError, loadDataFolder } from '../data/load.js';
import { ENCRYPTION_METHOD } from '../pdu/client-data.js';
import { NEG_REQ_FLAGS, PROTOCOL, type ProtocolName } from '../pdu/nego.js';
import type { ClientConnector, ConnectorConfig } from './connector.js';
import type { CredsspClientConfig, CredsspCredentials } from './credssp-client.js';
import type { ConnectorError, ConnectorErrorCode } from './errors.js';
import { DEFAULT_CLIENT_DATA, type ClientDataConfig } from './mcs-connect.js';

/**
 * Client profiles (data/clients/FAMILY.yaml, one file per client family, schema
 * data/schemas/clients.schema.json): what mstsc, FreeRDP, rdesktop, impacket, nmap, the macOS
 * client and a PAM proxy send, how they go on after a failure, and how they word each failure,
 * each value with its source. A profile only configures the connector, one ConnectorConfig per
 * attempt; what a server makes of it comes from running the real connector (and, in
 * `simulate`, the real acceptor), never from a table of outcomes.
 *
 * The fields of a profile:
 * - attempts: each connection the client makes. The first is what it always sends; a later one
 *   says `after` which attempt and which outcome lead to it ('connected'; 'credssp-not-attempted'
 *   when CredSSP was selected and the client had no logon to make; or a ConnectorError code of
 *   errors.ts, e.g. SSL_NOT_ALLOWED_BY_SERVER for an RDP_NEG_FAILURE). requestedProtocols:
 *   names ([RDP] for 0), or null for a request without RDP_NEG_REQ.
 * - cookie: `user-name` ("Cookie: mstshash=<the user name given>", none without one), `none`, or
 *   `{ fixed: ... }`. The user name is the caller's, so a capture is reproduced by passing its user.
 * - accepts: the selectedProtocol values the client goes on with (absent: whatever it can).
 * - credssp: the TSRequest.version it sends; patched = it has the CVE-2018-0886 fix (nonce and
 *   hash binding, versions 5 and 6); allowEncryptionOracle = what it does against a server below
 *   version 5 (0 Force Updated Clients and 1 Mitigated refuse, 2 Vulnerable goes on; KB4295591),
 *   `policy` when it is the Windows setting, `built-in` when the code has no setting; package =
 *   what it carries in negoTokens. The connector always sends raw NTLM (the acceptor reads both).
 * - tls: the client's TLS settings (versions, OpenSSL security level, ciphers), for the caller's
 *   TLS handshake: the connector itself does no TLS.
 * - variants: named copies of a profile that differ only in allowEncryptionOracle.
 * - aliases: other names clientProfile() accepts.
 * - failures: this profile's own wordings, tried before its family's (see clientFailureWording).
 *
 * What a profile cannot change in the connector: its SPNEGO (mstsc's package) offers NTLM
 * alone, where mstsc lists Kerberos first (MS-SPNG appendix A); its NTLM NEGOTIATE is the
 * connector's own; and it has no Kerberos (a Kerberos-only profile does not log on). Each profile's `notModelled`
 * says what else is left out.
 */

export type StopAfter = ConnectorConfig['stopAfter'];
export type MethodName = '40BIT' | '56BIT' | '128BIT' | 'FIPS';
/**
 * How an attempt ended, as `after.on` names it: 'connected' (it reached its stopAfter), the
 * error's code, or 'credssp-not-attempted': CredSSP was selected and the client, with no logon
 * it can make, ended the attempt right after TLS (rdesktop without a Kerberos ticket).
 */
export type AttemptOutcome = 'connected' | 'credssp-not-attempted' | ConnectorErrorCode;

export interface ProfileAttempt {
  /** names ([RDP] for 0); null: no RDP_NEG_REQ */
  requestedProtocols: ProtocolName[] | null;
  /** TS_UD_CS_SEC.encryptionMethods of this attempt (nmap offers one method per connection) */
  encryptionMethods?: MethodName[];
  stopAfter?: StopAfter;
  /** which attempt (by index, always an earlier one) ending how leads to this one */
  after?: { attempt: number; on: AttemptOutcome[] }[];
  note?: string;
}

/** Where a simulated attempt can fail, in the order a connection goes through them. */
export type SimulationStage = 'x224' | 'tls' | 'credssp' | 'mcs' | 'security-exchange' | 'licensing' | 'activation';
export const SIMULATION_STAGES: readonly SimulationStage[] = ['x224', 'tls', 'credssp', 'mcs', 'security-exchange', 'licensing', 'activation'];
/**
 * Failures a simulation sees that are not the connector's own errors: the server closed or
 * reset the connection while the client waited; the TLS handshake failed; nothing came within
 * the read deadline; HYBRID was selected and the client has no logon it can make (rdesktop
 * without a Kerberos ticket).
 */
export const EXTRA_FAILURE_CODES = ['TRANSPORT_CLOSED', 'TLS_HANDSHAKE_FAILED', 'TIMEOUT', 'CREDSSP_NOT_ATTEMPTED'] as const;
export type FailureCode = ConnectorErrorCode | (typeof EXTRA_FAILURE_CODES)[number];

/** What a client shows or logs for a failure. */
export interface ClientFailureWording {
  /** what this client shows the user or logs (mstsc's dialog text; FreeRDP's log line) */
  message: string;
  /** the client's own code: 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED', mstsc's '0x204' / 'Code: 0x80004005' etc. */
  code?: string;
  /** process exit status (xfreerdp, rdesktop) */
  exitCode?: number;
  /** id of the data/errors/*.yaml entry that explains it (simulate takes its fixes from there) */
  explain?: string;
  source: string;
  /** what of this wording was not seen from the real client */
  unverified?: string;
}

/** A wording and the failures it is for: each listed filter must hold (codes, stages, details). */
export interface FailureRule extends ClientFailureWording {
  when: { code?: FailureCode[]; stage?: SimulationStage[]; detail?: string[] };
}

/** The client families, one file data/clients/FAMILY.yaml each, in the order profiles are listed. */
export const CLIENT_FAMILIES = ['mstsc', 'freerdp', 'rdesktop', 'impacket', 'nmap', 'macos', 'pam-proxy'] as const;
export type ClientFamily = (typeof CLIENT_FAMILIES)[number];
/** TLS versions as OpenSSL and Node name them. */
export type ClientTlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface ClientProfile {
  name: string;
  /** other names clientProfile() accepts */
  aliases?: string[];
  description: string;
  family: ClientFamily;
  source: string;
  unverified?: string;
  notModelled?: string;
  cookie: 'user-name' | 'none' | { fixed: string };
  /** sends RESTRICTED_ADMIN_MODE_REQUIRED and, in CredSSP, empty credentials (MS-RDPBCGR 2.2.1.1.1) */
  restrictedAdmin: boolean;
  /** selectedProtocol values the client goes on with; absent: whatever the connector can */
  accepts?: ProtocolName[];
  clientData?: {
    encryptionMethods: MethodName[];
    encryptionMethodsOverTls?: MethodName[];
    /** TS_UD_CS_CORE.version as '0x0008000c' */
    version?: string;
    clientBuild?: number;
    clientName?: string;
    earlyCapabilityFlags?: number;
  };
  /** how far the client itself goes (nmap stops at the CHALLENGE, impacket after authInfo) */
  stopAfter: StopAfter;
  attempts: ProfileAttempt[];
  credssp?: {
    /** the TSRequest.version it sends */
    version: number;
    /** has the CVE-2018-0886 fix: nonce and hash binding (versions 5 and 6) */
    patched: boolean;
    /** against a server below version 5: 0 and 1 refuse, 2 goes on (KB4295591); patched clients only */
    allowEncryptionOracle?: 0 | 1 | 2;
    /** 'policy': the Windows setting; 'built-in': the code has no setting and always does this */
    allowEncryptionOracleFrom?: 'policy' | 'built-in';
    package: 'ntlm' | 'spnego' | 'kerberos';
  };
  /** the client's TLS settings (the caller's TLS handshake uses them; the connector does no TLS) */
  /** ends the connection when the server selects a method it did not offer (connector refuseUnofferedMethod) */
  refusesUnofferedMethod?: boolean;
  /** MAC form of its Standard RDP Security PDUs (default unsalted): FreeRDP salts from the first PDU */
  macForm?: 'salted' | 'unsalted';
  tls?: { minVersion?: ClientTlsVersion; maxVersion?: ClientTlsVersion; securityLevel?: number; ciphers?: string };
  /** this profile's own failure wordings, tried before its family's */
  failures?: FailureRule[];
}

interface ProfileEntry extends ClientProfile {
  variants?: { name: string; description: string; source: string; allowEncryptionOracle: 0 | 1 | 2 }[];
}

/** The connector's stopAfter values, in the order the connection goes through them. */
const STOP_ORDER: readonly StopAfter[] = ['negotiation', 'security-upgrade', 'credssp-challenge', 'credssp', 'mcs-connect', 'activation'];

interface ClientsFile {
  family: ClientFamily;
  profiles: ProfileEntry[];
  failures: FailureRule[];
  otherwise: ClientFailureWording;
}

interface Catalogue {
  profiles: Map<string, ClientProfile>;
  /** alias -> profile name */
  aliases: Map<string, string>;
  /** each family's wordings and its fallback */
  wordings: Map<ClientFamily, { failures: FailureRule[]; otherwise: ClientFailureWording }>;
}

let cache: Catalogue | undefined;

function catalogue(): Catalogue {
  if (cache) return cache;
  const files = loadDataFolder<ClientsFile>('clients');
  const rank = (f: ClientFamily): number => CLIENT_FAMILIES.indexOf(f);
  files.sort((a, b) => rank(a.doc.family) - rank(b.doc.family));
  const profiles = new Map<string, ClientProfile>();
  const aliases = new Map<string, string>();
  const wordings: Catalogue['wordings'] = new Map();
  for (const { file, doc } of files) {
    const where = `data/clients/${file}`;
    if (file !== `${doc.family}.yaml`) throw new DataError(`${where}: family "${doc.family}" does not match the file name`);
    wordings.set(doc.family, { failures: doc.failures, otherwise: doc.otherwise });
    const add = (p: ClientProfile): void => {
      if (profiles.has(p.name) || aliases.has(p.name)) throw new DataError(`${where}: duplicate name ${p.name}`);
      if (p.family !== doc.family) throw new DataError(`${where}: ${p.name} is of family ${p.family}`);
      checkProfile(p);
      profiles.set(p.name, p);
    };
    for (const { variants, ...base } of doc.profiles) {
      add(base);
      for (const v of variants ?? []) {
        if (!base.credssp?.patched) throw new DataError(`${where}: ${v.name}: variants change AllowEncryptionOracle, which only a patched client has`);
        const { aliases: _none, ...rest } = base;
        add({
          ...rest,
          name: v.name,
          description: v.description,
          source: `${v.source}. Otherwise as ${base.name}: ${base.source}`,
          credssp: { ...base.credssp, allowEncryptionOracle: v.allowEncryptionOracle },
        });
      }
    }
    for (const p of doc.profiles) {
      for (const a of p.aliases ?? []) {
        if (profiles.has(a) || aliases.has(a)) throw new DataError(`${where}: alias ${a} of ${p.name} is already a name`);
        aliases.set(a, p.name);
      }
    }
  }
  for (const a of aliases.keys()) if (profiles.has(a)) throw new DataError(`data/clients: alias ${a} is also a profile name`);
  cache = { profiles, aliases, wordings };
  return cache;
}

/** The catalogue with its variants spelled out, checked against its schema and for consistency once. */
export function clientProfiles(): Map<string, ClientProfile> {
  return catalogue().profiles;
}

/** The profiles' own names (not their aliases), family by family. */
export function clientProfileNames(): string[] {
  return [...clientProfiles().keys()];
}

/** The named profile, by its name or an alias; throws DataError naming the known ones. */
export function clientProfile(name: string): ClientProfile {
  const { profiles, aliases } = catalogue();
  const p = profiles.get(aliases.get(name) ?? name);
  if (!p) throw new DataError(`unknown client profile ${name} (known: ${clientProfileNames().join(', ')})`);
  return p;
}

/**
 * What client `p` shows or logs when an attempt fails with `code` at `stage` (`detail`: the
 * NTSTATUS name of a CREDSSP_LOGON_FAILED). The profile's own rules first, then its family's,
 * the first whose filters all hold; else the family's `otherwise`, so there is always one.
 * In `message`, {code} and {detail} stand for the failure's code and detail.
 */
export function clientFailureWording(p: ClientProfile, code: FailureCode, stage: SimulationStage, detail?: string): ClientFailureWording {
  const family = catalogue().wordings.get(p.family);
  if (!family) throw new DataError(`no failure wordings for client family ${p.family}`);
  const holds = ({ when }: FailureRule): boolean =>
    (!when.code || when.code.includes(code)) &&
    (!when.stage || when.stage.includes(stage)) &&
    (!when.detail || (detail !== undefined && when.detail.includes(detail)));
  const found = (p.failures ?? []).find(holds) ?? family.failures.find(holds);
  const { when: _when, ...w } = found ?? { when: {}, ...family.otherwise };
  return { ...w, message: w.message.replaceAll('{code}', code).replaceAll('{detail}', detail ?? '') };
}

/**
 * What the schema cannot say: attempts point back to earlier attempts; `patched` agrees with
 * the version (the connector's rule: 5 and up bind with the hash, MS-CSSP 2.2.1), except for a
 * client that never sends pubKeyAuth; only a patched client has an AllowEncryptionOracle.
 */
export function checkProfile(p: ClientProfile): void {
  const bad = (why: string): never => {
    throw new DataError(`data/clients/${p.family}.yaml: ${p.name}: ${why}`);
  };
  p.attempts.forEach((a, i) => {
    if (i === 0 && a.after) bad('the first attempt has no `after`');
    if (i > 0 && !a.after) bad(`attempt ${i} says nothing of what leads to it`);
    for (const { attempt } of a.after ?? []) if (attempt >= i) bad(`attempt ${i} follows attempt ${attempt}, which is not an earlier one`);
  });
  const c = p.credssp;
  if (!c) return;
  if (c.patched !== (c.version >= 5) && p.stopAfter !== 'credssp-challenge') bad(`patched=${c.patched} disagrees with CredSSP version ${c.version}`);
  if (c.patched && (c.allowEncryptionOracle === undefined || c.allowEncryptionOracleFrom === undefined)) bad('a patched client needs allowEncryptionOracle and its origin');
  if (!c.patched && (c.allowEncryptionOracle !== undefined || c.allowEncryptionOracleFrom !== undefined)) bad('an unpatched client has no AllowEncryptionOracle');
}

export interface ConnectorConfigOptions {
  /**
   * The user to log on as: the cookie of `user-name` profiles, and the CredSSP credentials. Each
   * config gets its own copy of the password (the connector zeroes what it sealed); the
   * caller's stays as it is.
   */
  credentials?: CredsspCredentials;
  /** stop earlier than the client would (never later: nmap cannot go past the CHALLENGE) */
  stopAfter?: StopAfter;
}

/** One ConnectorConfig per attempt of the profile, indexed as `profile.attempts`. */
export function connectorConfigFor(profile: ClientProfile, opts: ConnectorConfigOptions = {}): ConnectorConfig[] {
  const base = clientDataFor(profile);
  const cookie = cookieFor(profile, opts.credentials);
  return profile.attempts.map((a) => {
    const requestedProtocols = a.requestedProtocols === null ? null : protocolMask(a.requestedProtocols);
    const stopAfter = earlier(a.stopAfter ?? profile.stopAfter, opts.stopAfter);
    const credssp = credsspFor(profile, opts.credentials);
    return {
      requestedProtocols,
      ...(requestedProtocols !== null && profile.restrictedAdmin ? { negReqFlags: NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED } : {}),
      ...(profile.accepts ? { acceptedProtocols: profile.accepts.map((n) => PROTOCOL[n]) } : {}),
      ...(cookie !== undefined ? { cookie } : {}),
      stopAfter,
      clientData: a.encryptionMethods ? { ...base, encryptionMethods: methodMask(a.encryptionMethods) } : base,
      ...(credssp ? { credssp } : {}),
      ...(profile.macForm ? { activation: { macForm: profile.macForm } } : {}),
      ...(profile.refusesUnofferedMethod ? { refuseUnofferedMethod: true } : {}),
    };
  });
}

type Ended = Pick<ClientConnector, 'config' | 'result'> & { readonly error?: ConnectorError | undefined };

/** How a finished attempt ended, in the words of `after.on`. */
export function attemptOutcome(c: Ended): AttemptOutcome {
  if (c.error) return c.error.code;
  const r = c.result;
  const wantedLogon = STOP_ORDER.indexOf(c.config.stopAfter) >= STOP_ORDER.indexOf('credssp');
  if (r?.security && r.selectedProtocol & (PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX) && !r.credssp && wantedLogon) return 'credssp-not-attempted';
  return 'connected';
}

/**
 * The attempt the client makes after attempt `index` ended as `c` (its connector, done), or
 * undefined when it makes none. An attempt that the server left hanging (the connector still
 * waiting) has no outcome: the caller does not ask.
 */
export function nextAttempt(profile: ClientProfile, index: number, c: Ended): number | undefined {
  const outcome = attemptOutcome(c);
  const next = profile.attempts.findIndex((a) => a.after?.some((x) => x.attempt === index && x.on.includes(outcome)));
  return next === -1 ? undefined : next;
}

function clientDataFor(p: ClientProfile): ClientDataConfig {
  const d = p.clientData;
  if (!d) return DEFAULT_CLIENT_DATA;
  return {
    ...DEFAULT_CLIENT_DATA,
    encryptionMethods: methodMask(d.encryptionMethods),
    ...(d.encryptionMethodsOverTls ? { encryptionMethodsOverTls: methodMask(d.encryptionMethodsOverTls) } : {}),
    ...(d.version !== undefined ? { version: Number.parseInt(d.version, 16) } : {}),
    ...(d.clientBuild !== undefined ? { clientBuild: d.clientBuild } : {}),
    ...(d.clientName !== undefined ? { clientName: d.clientName } : {}),
    ...(d.earlyCapabilityFlags !== undefined ? { earlyCapabilityFlags: d.earlyCapabilityFlags } : {}),
  };
}

function cookieFor(p: ClientProfile, creds: CredsspCredentials | undefined): string | undefined {
  if (p.cookie === 'none') return undefined;
  if (p.cookie === 'user-name') return creds?.user;
  return p.cookie.fixed;
}

/**
 * The connector's CredSSP settings. A Kerberos-only client (rdesktop) gets no credentials: the
 * connector has no Kerberos, so the attempt ends after TLS as rdesktop's does without a ticket.
 */
function credsspFor(p: ClientProfile, creds: CredsspCredentials | undefined): CredsspClientConfig | undefined {
  const c = p.credssp;
  if (!c) return undefined;
  if (c.package === 'kerberos') creds = undefined;
  return {
    version: c.version,
    // SPNEGO around NTLM, with the mechListMIC (the connector offers NTLM alone, no Kerberos)
    ...(c.package === 'spnego' ? { spnego: true } : {}),
    ...(c.allowEncryptionOracle !== undefined ? { allowEncryptionOracle: c.allowEncryptionOracle } : {}),
    ...(creds
      ? {
          credentials: {
            ...creds,
            ...(creds.password ? { password: Uint8Array.from(creds.password) } : {}),
            ...(p.restrictedAdmin ? { restrictedAdmin: true } : {}),
          },
        }
      : {}),
  };
}

function earlier(a: StopAfter, b: StopAfter | undefined): StopAfter {
  return b !== undefined && STOP_ORDER.indexOf(b) < STOP_ORDER.indexOf(a) ? b : a;
}

function protocolMask(names: readonly ProtocolName[]): number {
  return names.reduce((m, n) => m | PROTOCOL[n], 0);
}

function methodMask(names: readonly MethodName[]): number {
  return names.reduce((m, n) => m | ENCRYPTION_METHOD[n], 0);
}
