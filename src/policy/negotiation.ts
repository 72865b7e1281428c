import { FAILURE_CODE, PROTOCOL, type FailureCodeName, type ProtocolName } from '../pdu/nego.js';
import type { ServerPolicy, WindowsServerPolicy, XrdpServerPolicy } from './server-policy.js';

export { selectEncryptionMethod, type MethodSelection, type ClientMethods } from './encryption-method.js';

/**
 * What a server answers to an X.224 Connection Request (MS-RDPBCGR 2.2.1.1, 3.3.5.3.1,
 * 3.3.5.3.2), as pure functions of a ServerPolicy and the client's RDP_NEG_REQ. The acceptor
 * calls these; each decision names its rule and the source it was taken from, so a transcript
 * can say why.
 *
 * `requestedProtocols` is null for a legacy client (no RDP_NEG_REQ at all). The server then
 * treats the request as PROTOCOL_RDP and its Connection Confirm MUST carry no rdpNegData
 * (MS-RDPBCGR 3.3.5.3.2: "The rdpNegData field is left empty if the client did not append any
 * negotiation data"), so a refusal cannot be said in-band.
 */

interface DecisionBase {
  /** a stable id of the rule that decided, e.g. "windows-nla-required" */
  rule: string;
  /** where the rule comes from */
  source: string;
}

export type NegotiationDecision =
  | (DecisionBase & {
      outcome: 'selected';
      selected: ProtocolName;
      /** RDP_NEG_RSP.selectedProtocol */
      selectedProtocol: number;
      /** false: a legacy client, the Connection Confirm carries no rdpNegData */
      negData: boolean;
      /** RDP_NEG_RSP.flags (meaningful when negData) */
      responseFlags: number;
    })
  | (DecisionBase & {
      outcome: 'failure';
      failureCode: FailureCodeName;
      /** RDP_NEG_FAILURE.failureCode */
      code: number;
      /**
       * 'neg-failure': a Connection Confirm with RDP_NEG_FAILURE, then the server closes.
       * 'bare-confirm-then-ultimatum': the client sent no RDP_NEG_REQ, so the server sends a
       * Connection Confirm without rdpNegData and refuses at the next step with an MCS
       * Disconnect Provider Ultimatum (xrdp 0.9 with security_layer=tls).
       */
      delivery: 'neg-failure' | 'bare-confirm-then-ultimatum';
    })
  | (DecisionBase & {
      outcome: 'drop';
      drop: true;
      /** the failure the server would have sent, had it a way to say it */
      wouldFail?: FailureCodeName;
    });

function selected(p: ServerPolicy, name: ProtocolName, negData: boolean, rule: string, source: string): NegotiationDecision {
  return { outcome: 'selected', selected: name, selectedProtocol: PROTOCOL[name], negData, responseFlags: negData ? p.negRspFlags : 0, rule, source };
}

function failure(name: FailureCodeName, rule: string, source: string, delivery: 'neg-failure' | 'bare-confirm-then-ultimatum' = 'neg-failure'): NegotiationDecision {
  return { outcome: 'failure', failureCode: name, code: FAILURE_CODE[name], delivery, rule, source };
}

const SRC_LEGACY = 'MS-RDPBCGR 3.3.5.3.2 (no rdpNegData for a client that sent none); fact sheet section 1 "Legacy client"';
const SRC_WIN_NLA =
  'ADMX TS_USER_AUTHENTICATION_POLICY; a Windows host with NLA required answers RDP and SSL requests with HYBRID_REQUIRED_BY_SERVER (rdp-sec-check output against a real host, HTB Academy notes)';
const SRC_WIN_RDP_ONLY =
  'MS-RDPBCGR 2.2.1.2.2 SSL_NOT_ALLOWED_BY_SERVER; Microsoft WindowsProtocolTestSuites RDP Server S1_Connection_ConnectionInitiation_PositiveTest (SSL_NOT_ALLOWED_BY_SERVER to RDP|SSL|HYBRID|HYBRID_EX, then retries with RDP only); rdesktop#320 against Server 2003';
const SRC_WIN_SELECT =
  'MS-RDPBCGR 3.3.5.3.2 (RDP_NEG_RSP with a protocol the client requested); ADMX TS_SECURITY_LAYER_POLICY "Negotiate: the most secure method supported by the client"';
const SRC_WIN_TLS_ONLY = 'MS-RDPBCGR 2.2.1.2.2 SSL_REQUIRED_BY_SERVER; ADMX TS_SECURITY_LAYER_POLICY "SSL: if TLS is not supported, the connection fails"';
const SRC_CERT = 'MS-RDPBCGR 2.2.1.2.2 SSL_CERT_NOT_ON_SERVER';
const SRC_XRDP_ISO = 'xrdp 0.9 libxrdp/xrdp_iso.c xrdp_iso_negotiate_security';
const SRC_XRDP_REQ = 'xrdp 0.9 libxrdp/xrdp_iso.c xrdp_iso_process_rdp_neg_req';

/**
 * Windows (TermService) rules, from SecurityLayer / UserAuthentication and the certificate:
 *
 * 1. SecurityLayer=0 (RDP): requestedProtocols 0 -> RDP; a request with any enhanced protocol
 *    -> SSL_NOT_ALLOWED_BY_SERVER (Windows does not fall back to RDP in-band; clients retry).
 * 2. Otherwise the server picks, among what the client requested: HYBRID_EX (when the build
 *    knows it), HYBRID, then SSL unless NLA is required (UserAuthentication=1).
 * 3. No certificate: SSL_CERT_NOT_ON_SERVER, unless Negotiate without NLA, which falls back to RDP.
 * 4. Nothing acceptable requested: NLA required -> HYBRID_REQUIRED_BY_SERVER (checked first);
 *    SecurityLayer=2 -> SSL_REQUIRED_BY_SERVER; SecurityLayer=1 -> RDP.
 * 5. Legacy client: RDP when rule 4 would select RDP; otherwise the failure cannot be sent
 *    (MS-RDPBCGR 3.3.5.3.2), so the connection is dropped (policy.windows.legacyClientRefusal,
 *    default 'drop'; 'neg-failure' sends the RDP_NEG_FAILURE as FreeRDP's server does).
 *
 * Unknown requestedProtocols bits (and RDSTLS, RDSAAD, which a plain listener does not select)
 * are ignored. RDP_NEG_REQ flags do not change the decision.
 */
export function windowsNegotiation(policy: WindowsServerPolicy, requestedProtocols: number | null, _flags = 0): NegotiationDecision {
  const w = policy.windows;
  const legacy = requestedProtocols === null;
  const r = (requestedProtocols ?? 0) >>> 0;
  const nlaRequired = w.securityLayer >= 1 && w.userAuthentication === 1;

  if (w.securityLayer === 0) {
    const enhanced = r & (PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX | PROTOCOL.RDSTLS | PROTOCOL.RDSAAD);
    if (enhanced) return failure('SSL_NOT_ALLOWED_BY_SERVER', 'windows-rdp-layer-only', SRC_WIN_RDP_ONLY);
    return selected(policy, 'RDP', !legacy, legacy ? 'windows-legacy-rdp' : 'windows-rdp-layer', legacy ? SRC_LEGACY : SRC_WIN_RDP_ONLY);
  }

  let candidate: ProtocolName | null = null;
  if (r & PROTOCOL.HYBRID_EX && w.hybridEx) candidate = 'HYBRID_EX';
  else if (r & PROTOCOL.HYBRID) candidate = 'HYBRID';
  else if (r & PROTOCOL.SSL && !nlaRequired) candidate = 'SSL';

  if (candidate) {
    if (policy.tls.certificateAvailable) return selected(policy, candidate, true, `windows-select-${candidate.toLowerCase()}`, SRC_WIN_SELECT);
    if (w.securityLayer === 1 && !nlaRequired) return selected(policy, 'RDP', true, 'windows-no-certificate-fallback', `${SRC_CERT}; ADMX TS_SECURITY_LAYER_POLICY "Negotiate: if TLS is not supported, native RDP encryption is used"`);
    return failure('SSL_CERT_NOT_ON_SERVER', 'windows-no-certificate', SRC_CERT);
  }

  let refusal: FailureCodeName | null = null;
  let rule = '';
  let source = '';
  if (nlaRequired) {
    refusal = 'HYBRID_REQUIRED_BY_SERVER';
    rule = 'windows-nla-required';
    source = SRC_WIN_NLA;
  } else if (w.securityLayer === 2) {
    refusal = 'SSL_REQUIRED_BY_SERVER';
    rule = 'windows-tls-required';
    source = SRC_WIN_TLS_ONLY;
  }
  if (!refusal) {
    return selected(policy, 'RDP', !legacy, legacy ? 'windows-legacy-rdp' : 'windows-negotiate-rdp', legacy ? SRC_LEGACY : `${SRC_WIN_SELECT}; MS-RDPBCGR 3.3.5.3.2 (PROTOCOL_RDP for Standard RDP Security)`);
  }
  if (!legacy) return failure(refusal, rule, source);
  if (w.legacyClientRefusal === 'neg-failure') {
    return failure(refusal, `${rule}-legacy`, `${source}; sent although the client sent no RDP_NEG_REQ, as FreeRDP's server does (nego_send_negotiation_response)`);
  }
  return {
    outcome: 'drop',
    drop: true,
    wouldFail: refusal,
    rule: `${rule}-legacy-drop`,
    source: `${SRC_LEGACY}; not verified on a Windows host (an NLA-only host answers a legacy request at once, without an 11-byte Connection Confirm: rdp-sec-check "Not supported")`,
  };
}

/**
 * xrdp 0.9 rules (libxrdp/xrdp_iso.c; checked against the captures in test/fixtures/pcaps):
 *
 * 1. RDP_NEG_REQ flags other than 0x00, 0x01, 0x08, or requestedProtocols > 0xb: the request
 *    is rejected and the connection closed without a Connection Confirm (drop).
 * 2. security_layer=rdp: RDP, whatever was requested (an SSL-only request too: capture
 *    xrdp-rdp-high--xfreerdp-sec-tls).
 * 3. security_layer=tls: SSL when requested and the certificate and key are readable; requested
 *    without them -> SSL_CERT_NOT_ON_SERVER; not requested -> SSL_REQUIRED_BY_SERVER. A legacy
 *    client gets a bare Connection Confirm and then an MCS Disconnect Provider Ultimatum
 *    (capture xrdp-tls--xfreerdp-sec-rdp).
 * 4. negotiate (and the undocumented hybrid): SSL when requested and the certificate and key
 *    are readable, RDP otherwise (HYBRID, HYBRID_EX, RDSTLS requests get RDP: capture
 *    xrdp-negotiate-high--nmap-rdp-enum-encryption). xrdp never does CredSSP.
 *
 * Newer xrdp (devel, 0.10) accepts any flags within 0x0b except REDIRECTED_AUTHENTICATION alone
 * and selects HYBRID only in vmconnect mode; not modelled here.
 */
export function xrdpNegotiation(policy: XrdpServerPolicy, requestedProtocols: number | null, flags = 0): NegotiationDecision {
  const legacy = requestedProtocols === null;
  const r = (requestedProtocols ?? 0) >>> 0;
  if (!legacy) {
    if (flags !== 0x00 && flags !== 0x01 && flags !== 0x08) {
      return { outcome: 'drop', drop: true, rule: 'xrdp-bad-neg-flags', source: `${SRC_XRDP_REQ} ("Unsupported RDP_NEG_REQ flags")` };
    }
    if (r > 0xb) {
      return { outcome: 'drop', drop: true, rule: 'xrdp-protocols-over-0xb', source: `${SRC_XRDP_REQ} ("requestedProtocol > 0xb", "Unknown requested protocol flag")` };
    }
  }
  const layer = policy.xrdp.securityLayer;
  const tlsReady = policy.tls.certificateAvailable;
  if (layer === 'rdp') return selected(policy, 'RDP', !legacy, 'xrdp-rdp-layer', `${SRC_XRDP_ISO} (case PROTOCOL_RDP); capture xrdp-rdp-high--xfreerdp-sec-tls`);
  if (layer === 'tls') {
    if (r & PROTOCOL.SSL) {
      if (tlsReady) return selected(policy, 'SSL', true, 'xrdp-tls-layer', `${SRC_XRDP_ISO} (case PROTOCOL_SSL)`);
      return failure('SSL_CERT_NOT_ON_SERVER', 'xrdp-tls-no-certificate', `${SRC_XRDP_ISO} (certificate or private key file is not readable)`);
    }
    if (legacy) {
      return failure('SSL_REQUIRED_BY_SERVER', 'xrdp-tls-legacy', `${SRC_XRDP_ISO} and xrdp_iso_send_cc (no rdpNegData without RDP_NEG_REQ); capture xrdp-tls--xfreerdp-sec-rdp`, 'bare-confirm-then-ultimatum');
    }
    return failure('SSL_REQUIRED_BY_SERVER', 'xrdp-tls-required', `${SRC_XRDP_ISO} ("Server requires TLS for security, but the client did not request TLS")`);
  }
  if (r & PROTOCOL.SSL && tlsReady) return selected(policy, 'SSL', true, 'xrdp-negotiate-ssl', `${SRC_XRDP_ISO} (default case)`);
  return selected(policy, 'RDP', !legacy, legacy ? 'xrdp-legacy-rdp' : 'xrdp-negotiate-rdp', `${SRC_XRDP_ISO} (default case); capture xrdp-negotiate-high--nmap-rdp-enum-encryption`);
}

/** The flavor's rules. */
export function negotiate(policy: ServerPolicy, requestedProtocols: number | null, flags = 0): NegotiationDecision {
  return policy.flavor === 'windows' ? windowsNegotiation(policy, requestedProtocols, flags) : xrdpNegotiation(policy, requestedProtocols, flags);
}
