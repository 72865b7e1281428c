import type { ConnectorConfig } from '../connector/connector.js';
import type { CredsspCredentials } from '../connector/credssp-client.js';
import { DEFAULT_CLIENT_DATA } from '../connector/mcs-connect.js';
import { NEG_REQ_FLAGS, PROTOCOL } from '../pdu/nego.js';
import { ntStatusName } from '../pdu/ntstatus.js';
import { attemptError, type AttemptOutcome, type AttemptSpec } from './attempt.js';
import type { CredentialsCheck, CredsspPosture, HybridProbe, Posture } from './posture.js';

/**
 * What `probe` learns of a server's CredSSP (MS-CSSP), beyond the first round trip that
 * `hybrid` reports: which client versions it takes (the CVE-2018-0886 question: does it still
 * answer an unpatched, version 2 client?), whether NLA is required or merely offered,
 * HYBRID_EX's Early User Authorization Result and restricted admin mode, and, with
 * credentials, whether they are accepted and with which NTSTATUS they are refused.
 *
 * Without credentials the version question is answered at the CHALLENGE: a server that
 * refuses old clients only once they authenticate (AllowEncryptionOracle=0 on Windows, as far
 * as we know) shows only with credentials (`legacyCheck` says which was done).
 */
export interface ProbeCredentials {
  user: string;
  domain: string;
  /** the password as UTF-16LE bytes; each attempt gets its own copy (the client zeroes it) */
  password: Buffer;
  ntHash: Buffer;
}

type Run = (spec: AttemptSpec) => Promise<AttemptOutcome>;

/** Versions with and without the CVE-2018-0886 fix (MS-CSSP 2.2.1). */
const LEGACY_VERSION = 2;
const CURRENT_VERSION = 6;

/** A connector config for a CredSSP attempt (HYBRID family), with or without credentials. */
export function credsspAttemptConfig(
  requestedProtocols: number,
  version: number,
  creds: ProbeCredentials | undefined,
  extra: { negReqFlags?: number; restrictedAdmin?: boolean; stopAfter?: ConnectorConfig['stopAfter'] } = {},
): AttemptSpec['config'] {
  const credentials: CredsspCredentials | undefined = creds && {
    user: creds.user,
    domain: creds.domain,
    ntHash: creds.ntHash,
    ...(extra.restrictedAdmin ? { restrictedAdmin: true } : { password: Buffer.from(creds.password) }),
  };
  const config: Omit<ConnectorConfig, 'cookie'> = {
    requestedProtocols,
    stopAfter: extra.stopAfter ?? (creds ? 'credssp' : 'credssp-challenge'),
    clientData: DEFAULT_CLIENT_DATA,
    // AllowEncryptionOracle=2: go on against an unpatched server, to learn about the credentials
    credssp: { version, allowEncryptionOracle: 2, ...(credentials ? { credentials } : {}) },
  };
  if (extra.negReqFlags !== undefined) config.negReqFlags = extra.negReqFlags;
  return config;
}

/** How one attempt with credentials ended, as a prober reports it. */
export function credentialsOutcome(o: AttemptOutcome, user: string): CredentialsCheck {
  const c = o.result?.credssp;
  const err = attemptError(o);
  if (c?.stage === 'authenticated' && !o.connectorError) {
    return { user, accepted: true, errorCode: null, observation: 'the server answered our AUTHENTICATE with its pubKeyAuth (bound to the TLS key we saw)' };
  }
  if (o.connectorError?.code === 'CREDSSP_LOGON_FAILED' && c?.errorCode !== undefined) {
    return { user, accepted: false, errorCode: ntStatusName(c.errorCode), observation: `the server answered with TSRequest errorCode ${ntStatusName(c.errorCode)}` };
  }
  if (c?.stage === 'authenticate-sent' && err && (err.kind === 'closed' || err.kind === 'reset')) {
    return {
      user,
      accepted: false,
      errorCode: null,
      observation: `the server ${err.kind === 'reset' ? 'reset' : 'closed'} the connection after our AUTHENTICATE, without a TSRequest errorCode`,
      meaning:
        'most likely a failed logon (wrong password or unknown user): servers that do not send errorCode (FreeRDP 2 servers; any server facing a CredSSP 2 or 5 client) end a failed logon this way',
    };
  }
  return { user, accepted: null, errorCode: null, observation: err ? `${err.kind} in ${err.phase}: ${err.message}` : 'the exchange did not complete' };
}

/** Did the server take a client of this version (answered its NEGOTIATE, or its logon)? */
function versionTaken(o: AttemptOutcome, withCredentials: boolean): boolean | null {
  const c = o.result?.credssp;
  if (!withCredentials) return c?.challenge ? true : o.result ? false : null;
  const r = credentialsOutcome(o, '');
  return r.accepted;
}

export async function probeCredssp(run: Run, posture: Pick<Posture, 'protocols' | 'legacy'>, hybrid: HybridProbe, creds?: ProbeCredentials): Promise<CredsspPosture> {
  const p = posture.protocols;
  const hybridQ = PROTOCOL.SSL | PROTOCOL.HYBRID;
  const hybridExQ = hybridQ | PROTOCOL.HYBRID_EX;
  const withCreds = creds !== undefined;
  const [legacyO, currentO, restrictedO, hybridExO] = await Promise.all([
    run({ label: `CredSSP version ${LEGACY_VERSION}`, config: credsspAttemptConfig(hybridQ, LEGACY_VERSION, creds) }),
    withCreds ? run({ label: 'credentials', config: credsspAttemptConfig(hybridQ, CURRENT_VERSION, creds) }) : Promise.resolve(null),
    withCreds
      ? run({
          label: 'restricted admin',
          // the server judges empty credentials only once it has them (authInfo), and says
          // nothing on success: go on to the MCS Connect Response to see the answer
          config: credsspAttemptConfig(hybridQ, CURRENT_VERSION, creds, { negReqFlags: NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED, restrictedAdmin: true, stopAfter: 'mcs-connect' }),
        })
      : Promise.resolve(null),
    withCreds && p.HYBRID_EX.status === 'accepted' ? run({ label: 'HYBRID_EX logon', config: credsspAttemptConfig(hybridExQ, CURRENT_VERSION, creds) }) : Promise.resolve(null),
  ]);
  const n = hybrid.ntlm;
  const credentials = currentO && creds ? credentialsOutcome(currentO, creds.domain ? `${creds.domain}\\${creds.user}` : creds.user) : null;
  const out: CredsspPosture = {
    version: hybrid.serverVersion ?? 0,
    nlaRequired: p.HYBRID.status === 'accepted' && p.SSL.status !== 'accepted' && p.RDP.status !== 'accepted' && posture.legacy.status !== 'accepted',
    acceptsLegacyVersions: versionTaken(legacyO, withCreds),
    legacyCheck: withCreds ? 'logon' : 'challenge',
    acceptsCurrentVersions: currentO ? versionTaken(currentO, true) : hybrid.ntlm ? true : null,
    ntlm: n
      ? {
          targetName: n.targetName,
          netbiosComputer: n.nbComputerName ?? null,
          netbiosDomain: n.nbDomainName ?? null,
          dnsComputer: n.dnsComputerName ?? null,
          dnsDomain: n.dnsDomainName ?? null,
          dnsTree: n.dnsTreeName ?? null,
          osVersion: n.productVersion ?? null,
          timestamp: n.serverTime ?? null,
          ...(n.clockSkewSeconds !== undefined ? { clockSkewSeconds: n.clockSkewSeconds } : {}),
        }
      : null,
    hybridEx: {
      advertised: p.HYBRID_EX.status === 'accepted',
      earlyUserAuthorization: hybridExO ? earlyUserAuth(hybridExO) : null,
    },
    restrictedAdmin: {
      advertised: (p.HYBRID.flags ?? []).includes('RESTRICTED_ADMIN_MODE_SUPPORTED'),
      accepted: restrictedO ? restrictedAdminTaken(restrictedO) : null,
    },
    credentials,
  };
  return out;
}

/** A restricted admin logon was taken: the server went on to answer our MCS Connect Initial. */
function restrictedAdminTaken(o: AttemptOutcome): boolean | null {
  if (o.result?.mcs?.kind === 'response' && o.result.mcs.result === 0) return true;
  const stage = o.result?.credssp?.stage;
  // refused before (a logon failure) or after (the empty credentials) the delegation
  if (stage === 'authenticated' || o.connectorError?.code === 'CREDSSP_LOGON_FAILED') return false;
  return credentialsOutcome(o, '').accepted === false ? false : null;
}

/** HYBRID_EX with credentials: the Early User Authorization Result came (MS-RDPBCGR 2.2.10.2). */
function earlyUserAuth(o: AttemptOutcome): 'AUTHZ_SUCCESS' | 'AUTHZ_ACCESS_DENIED' | null {
  if (o.connectorError?.code === 'ACCESS_DENIED') return 'AUTHZ_ACCESS_DENIED';
  if (o.result?.selectedProtocol === PROTOCOL.HYBRID_EX && o.result.credssp?.stage === 'authenticated' && !o.connectorError && !o.transportError) return 'AUTHZ_SUCCESS';
  return null;
}
