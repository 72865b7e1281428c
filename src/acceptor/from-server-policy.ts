import { negotiate, selectEncryptionMethod } from '../policy/negotiation.js';
import { describePolicy, type CredsspPolicy, type ServerPolicy } from '../policy/server-policy.js';
import { RDP_VERSION_10_7, RDP_VERSION_5_PLUS } from '../pdu/client-data.js';
import { NEG_RSP_FLAGS, PROTOCOL } from '../pdu/nego.js';
import { NTLMSSP_REVISION_W2K3, type NtlmVersion } from '../pdu/ntlm.js';
import type { AcceptorPolicy } from './acceptor-policy.js';
import type { CredsspAccountLookup, CredsspServerSettings } from './credssp-server.js';

/** The names our NTLM CHALLENGE carries unless told otherwise: a stand-alone (workgroup) host. */
export interface NtlmServerNames {
  nbComputerName: string;
  nbDomainName: string;
  dnsComputerName: string;
  dnsDomainName: string;
  dnsTreeName?: string;
}

export const DEFAULT_NTLM_NAMES: NtlmServerNames = {
  nbComputerName: 'RDPSEC',
  nbDomainName: 'RDPSEC',
  dnsComputerName: 'rdpsec',
  dnsDomainName: 'rdpsec',
};

export interface AcceptorPolicyOptions {
  /** the accounts CredSSP logons are checked against; none: every logon fails (STATUS_LOGON_FAILURE) */
  accounts?: CredsspAccountLookup;
  ntlmNames?: NtlmServerNames;
  /** overrides of the policy's CredSSP settings (serve's --credssp-version and friends) */
  credssp?: Partial<CredsspPolicy>;
}

/** A server that offers CredSSP and says nothing more about it: a patched one, Mitigated. */
export const DEFAULT_CREDSSP: CredsspPolicy = { versions: [2, 3, 4, 5, 6], checkNonce: false, allowEncryptionOracle: 1 };

/**
 * The acceptor's view of a ServerPolicy: the policy module decides (negotiation and method
 * rules, each with its source), the acceptor only carries the decision out.
 */
export function acceptorPolicy(p: ServerPolicy, opts: AcceptorPolicyOptions = {}): AcceptorPolicy {
  const out: AcceptorPolicy = {
    name: `${p.name} (${describePolicy(p)})`,
    rejectSaltedMac: p.standardSecurity.saltedMac === 'rejected',
    // xrdp 0.9 announces RDP 5 (0x00080004, seen in every capture); Windows 10 / Server 2016+ RDP 10
    rdpVersion: p.flavor === 'xrdp' ? RDP_VERSION_5_PLUS : RDP_VERSION_10_7,
    negotiate(requested, flags) {
      const d = negotiate(p, requested, flags);
      if (d.outcome === 'selected') {
        // MS-RDPBCGR 2.2.1.2.1: RESTRICTED_ADMIN_MODE_SUPPORTED tells the client it may send empty credentials
        const credssp = (d.selectedProtocol & (PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX)) !== 0;
        const settings = credssp ? out.credssp?.settings : undefined;
        const ra = settings?.restrictedAdmin ? NEG_RSP_FLAGS.RESTRICTED_ADMIN_MODE_SUPPORTED : 0;
        const rcg = settings?.redirectedAuthentication ? NEG_RSP_FLAGS.REDIRECTED_AUTHENTICATION_MODE_SUPPORTED : 0;
        return { selected: d.selectedProtocol, negData: d.negData, responseFlags: d.responseFlags | ra | rcg };
      }
      if (d.outcome === 'failure') return { failureCode: d.code, delivery: d.delivery };
      // xrdp answers a request it cannot parse with a Disconnect Provider Ultimatum (INDEX.md)
      return { drop: p.flavor === 'xrdp' ? 'ultimatum' : 'close', reason: `dropped: ${d.rule}` };
    },
    encryption(clientMethods) {
      const s = selectEncryptionMethod(p, clientMethods);
      return s.outcome === 'selected' ? { method: s.methodValue, level: s.levelValue } : { refuse: `${s.reason}: ${s.rule}` };
    },
  };
  if (p.nla.supported) {
    out.credssp = { settings: credsspSettings({ ...DEFAULT_CREDSSP, ...p.credssp, ...opts.credssp }, opts.ntlmNames), accounts: opts.accounts ?? (() => undefined) };
  }
  return out;
}

/**
 * The TLS settings a server with this policy runs with: its version range (a set with holes
 * becomes its newest contiguous run, policy/server-policy.ts tlsRange) and cipher list; OpenSSL
 * 3 refuses TLS 1.0 and 1.1 at its default security level, so a server that still allows them
 * gets level 0 unless its own list says otherwise. `serve` and `simulate` both use this.
 */
export function serverTlsSettings(p: ServerPolicy): { minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; ciphers?: string } {
  const { minVersion, maxVersion } = p.tls;
  const range = {
    ...(minVersion && minVersion !== 'SSLv3' ? { minVersion } : {}),
    ...(maxVersion && maxVersion !== 'SSLv3' ? { maxVersion } : {}),
  };
  const oldTls = range.minVersion === 'TLSv1' || range.minVersion === 'TLSv1.1';
  const ciphers = p.tls.ciphers ?? (oldTls ? 'DEFAULT:@SECLEVEL=0' : undefined);
  return { ...range, ...(ciphers ? { ciphers } : {}) };
}

/** CredsspPolicy (what the server is) to the settings the CredSSP machine runs on. */
export function credsspSettings(c: CredsspPolicy, names: NtlmServerNames = DEFAULT_NTLM_NAMES): CredsspServerSettings {
  const version = Math.max(...c.versions);
  return {
    version,
    refuseLegacyClients: c.checkNonce && version >= 5,
    failureReply: c.failureReply ?? 'error-code',
    restrictedAdmin: c.restrictedAdmin ?? false,
    redirectedAuthentication: c.redirectedAuthentication ?? false,
    ntlm: { targetInfo: { ...names }, version: ntlmVersion(c.ntlmVersion ?? '10.0.17763') },
  };
}

function ntlmVersion(text: string): NtlmVersion {
  const [major, minor, build] = text.split('.').map(Number);
  return { major: major!, minor: minor!, build: build!, ntlmRevision: NTLMSSP_REVISION_W2K3 };
}
