/**
 * The X.224 negotiation rules of policy/negotiation.ts, one test per rule, each with the
 * source it follows. Windows rules cannot be checked against a Windows host here; the xrdp
 * rules are also replayed against real xrdp captures in captures.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROTOCOL } from '../../src/pdu/nego.js';
import { negotiate, windowsNegotiation, xrdpNegotiation, type NegotiationDecision } from '../../src/policy/negotiation.js';
import { fromWindowsFlags, type WindowsFlags } from '../../src/policy/windows-settings.js';
import { fromXrdpSettings, type XrdpIniValues } from '../../src/policy/xrdp-ini.js';

const { RDP, SSL, HYBRID, RDSTLS, HYBRID_EX, RDSAAD } = PROTOCOL;
/** what mstsc and xfreerdp send by default */
const MSTSC = SSL | HYBRID | HYBRID_EX;

function win(flags: Partial<WindowsFlags> = {}) {
  return fromWindowsFlags({ securityLayer: 1, userAuthentication: 0, minEncryptionLevel: 2, ...flags });
}
function xrdp(values: XrdpIniValues = {}, readable = true) {
  return fromXrdpSettings({ security_layer: 'negotiate', crypt_level: 'high', ...values }, { fileReadable: () => readable });
}

/** "SSL", "FAIL HYBRID_REQUIRED_BY_SERVER", "DROP", "RDP (no negData)"... for compact tables */
function short(d: NegotiationDecision): string {
  if (d.outcome === 'selected') return d.negData ? d.selected : `${d.selected} (no negData)`;
  if (d.outcome === 'failure') return d.delivery === 'neg-failure' ? `FAIL ${d.failureCode}` : `FAIL ${d.failureCode} (bare CC, then ultimatum)`;
  return d.wouldFail ? `DROP (${d.wouldFail})` : 'DROP';
}

describe('windowsNegotiation', () => {
  it('SecurityLayer=0 answers RDP to a request for RDP only', () => {
    // MS-RDPBCGR 3.3.5.3.2: Standard RDP Security is selected with PROTOCOL_RDP
    assert.equal(short(windowsNegotiation(win({ securityLayer: 0 }), RDP)), 'RDP');
  });

  it('SecurityLayer=0 refuses any TLS or CredSSP request with SSL_NOT_ALLOWED_BY_SERVER, no in-band fallback', () => {
    // MS-RDPBCGR 2.2.1.2.2 code 2; Microsoft's RDP server test suite
    // (S1_Connection_ConnectionInitiation_PositiveTest) sends RDP|SSL|HYBRID|HYBRID_EX, expects
    // SSL_NOT_ALLOWED_BY_SERVER from an RDP-only server and reconnects with RDP only;
    // rdesktop#320: "Protocol negotiation failed with reason: SSL not allowed by server" (Server 2003)
    const p = win({ securityLayer: 0 });
    for (const r of [SSL, HYBRID, SSL | HYBRID, MSTSC, RDSTLS, RDSAAD]) {
      assert.equal(short(windowsNegotiation(p, r)), 'FAIL SSL_NOT_ALLOWED_BY_SERVER', `0x${r.toString(16)}`);
    }
  });

  it('SecurityLayer=0 wins over UserAuthentication=1 (CredSSP needs TLS), with a warning', () => {
    // modelling choice, see the open questions: MS-CSSP runs inside TLS, which SecurityLayer=0 refuses
    const p = win({ securityLayer: 0, userAuthentication: 1 });
    assert.equal(short(windowsNegotiation(p, RDP)), 'RDP');
    assert.ok(p.warnings.some((w) => w.code === 'windows-nla-without-tls'));
    assert.equal(p.nla.required, false);
  });

  it('Negotiate picks the strongest requested protocol: HYBRID_EX, HYBRID, then SSL', () => {
    // ADMX TS_SECURITY_LAYER_POLICY "Negotiate: the most secure method that is supported by the client";
    // MS-RDPBCGR 3.3.5.3.2 (a protocol the client requested)
    const p = win();
    assert.equal(short(windowsNegotiation(p, MSTSC)), 'HYBRID_EX');
    assert.equal(short(windowsNegotiation(p, SSL | HYBRID)), 'HYBRID');
    assert.equal(short(windowsNegotiation(p, HYBRID)), 'HYBRID');
    assert.equal(short(windowsNegotiation(p, SSL)), 'SSL');
  });

  it('a build without HYBRID_EX (2008 R2) answers an mstsc request with HYBRID', () => {
    // PROTOCOL_HYBRID_EX and the Early User Authorization Result came with Windows 8 / Server 2012
    const p = win({ hybridEx: false });
    assert.equal(short(windowsNegotiation(p, MSTSC)), 'HYBRID');
    assert.equal(short(windowsNegotiation(p, HYBRID_EX)), 'RDP'); // the unknown bit alone is ignored
  });

  it('Negotiate without NLA falls back to RDP when nothing enhanced is requested', () => {
    // ADMX TS_SECURITY_LAYER_POLICY "If TLS is not supported, native RDP encryption is used"
    const p = win();
    assert.equal(short(windowsNegotiation(p, RDP)), 'RDP');
    assert.equal(short(windowsNegotiation(p, RDSTLS)), 'RDP');
    assert.equal(short(windowsNegotiation(p, 0x100)), 'RDP'); // unknown bits ignored
  });

  it('SecurityLayer=2 refuses an RDP-only request with SSL_REQUIRED_BY_SERVER', () => {
    // MS-RDPBCGR 2.2.1.2.2 code 1; ADMX "SSL: if TLS is not supported, the connection fails"
    const p = win({ securityLayer: 2 });
    assert.equal(short(windowsNegotiation(p, RDP)), 'FAIL SSL_REQUIRED_BY_SERVER');
    assert.equal(short(windowsNegotiation(p, SSL)), 'SSL');
    assert.equal(short(windowsNegotiation(p, SSL | HYBRID)), 'HYBRID');
  });

  it('UserAuthentication=1 refuses RDP and SSL requests with HYBRID_REQUIRED_BY_SERVER', () => {
    // a real Windows host with NLA required (rdp-sec-check output, HTB Academy footprinting notes):
    // PROTOCOL_RDP -> HYBRID_REQUIRED_BY_SERVER, PROTOCOL_SSL -> HYBRID_REQUIRED_BY_SERVER,
    // PROTOCOL_HYBRID (SSL|HYBRID) -> HYBRID; node-rdpjs#7 (Windows 8.1, NLA box ticked) got failureCode 5
    for (const securityLayer of [1, 2]) {
      const p = win({ securityLayer, userAuthentication: 1 });
      assert.equal(short(windowsNegotiation(p, RDP)), 'FAIL HYBRID_REQUIRED_BY_SERVER');
      assert.equal(short(windowsNegotiation(p, SSL)), 'FAIL HYBRID_REQUIRED_BY_SERVER');
      assert.equal(short(windowsNegotiation(p, SSL | HYBRID)), 'HYBRID');
      assert.equal(short(windowsNegotiation(p, MSTSC)), 'HYBRID_EX');
    }
  });

  it('no certificate: SSL_CERT_NOT_ON_SERVER, except Negotiate without NLA which falls back to RDP', () => {
    // MS-RDPBCGR 2.2.1.2.2 code 3; ADMX Negotiate fallback to native RDP encryption
    assert.equal(short(windowsNegotiation(win({ securityLayer: 2, certificate: { kind: 'none' } }), SSL)), 'FAIL SSL_CERT_NOT_ON_SERVER');
    assert.equal(short(windowsNegotiation(win({ userAuthentication: 1, certificate: { kind: 'none' } }), SSL | HYBRID)), 'FAIL SSL_CERT_NOT_ON_SERVER');
    assert.equal(short(windowsNegotiation(win({ certificate: { kind: 'none' } }), SSL | HYBRID)), 'RDP');
  });

  it('a legacy client (no RDP_NEG_REQ) gets RDP without negData where RDP is allowed', () => {
    // MS-RDPBCGR 3.3.5.3.2: "The rdpNegData field is left empty if the client did not append any negotiation data"
    assert.equal(short(windowsNegotiation(win(), null)), 'RDP (no negData)');
    assert.equal(short(windowsNegotiation(win({ securityLayer: 0 }), null)), 'RDP (no negData)');
  });

  it('a legacy client is dropped where RDP is not allowed (the refusal cannot be sent in-band)', () => {
    // MS-RDPBCGR 3.3.5.3.2 leaves no room for an RDP_NEG_FAILURE; an NLA-only Windows host answers
    // rdp-sec-check's legacy request at once without the 11-byte Connection Confirm (not verified
    // whether it closes or sends a failure: open question)
    assert.equal(short(windowsNegotiation(win({ securityLayer: 2 }), null)), 'DROP (SSL_REQUIRED_BY_SERVER)');
    assert.equal(short(windowsNegotiation(win({ userAuthentication: 1 }), null)), 'DROP (HYBRID_REQUIRED_BY_SERVER)');
  });

  it("legacyClientRefusal 'neg-failure' sends the RDP_NEG_FAILURE anyway, as FreeRDP's server does", () => {
    // FreeRDP nego_send_negotiation_response; capture shadow-tls--xfreerdp-sec-rdp (FAIL 1 to a legacy request)
    const d = windowsNegotiation(win({ securityLayer: 2, legacyClientRefusal: 'neg-failure' }), null);
    assert.equal(short(d), 'FAIL SSL_REQUIRED_BY_SERVER');
  });

  it('RDP_NEG_RSP carries the policy flags, and the decision names its rule and source', () => {
    const d = windowsNegotiation(win({ negRspFlags: 0x1f }), SSL);
    assert.equal(d.outcome, 'selected');
    if (d.outcome !== 'selected') return;
    assert.equal(d.selectedProtocol, SSL);
    assert.equal(d.responseFlags, 0x1f);
    assert.equal(d.rule, 'windows-select-ssl');
    assert.match(d.source, /MS-RDPBCGR 3\.3\.5\.3\.2/);
    const legacy = windowsNegotiation(win({ negRspFlags: 0x1f }), null);
    assert.equal(legacy.outcome === 'selected' && legacy.responseFlags, 0);
  });

  it('the failure code carries its wire value', () => {
    const d = windowsNegotiation(win({ userAuthentication: 1 }), SSL);
    assert.deepEqual(d.outcome === 'failure' && [d.failureCode, d.code], ['HYBRID_REQUIRED_BY_SERVER', 5]);
  });
});

describe('xrdpNegotiation (xrdp 0.9 libxrdp/xrdp_iso.c)', () => {
  it('drops a request whose flags are not 0x00, 0x01 or 0x08', () => {
    // xrdp_iso_process_rdp_neg_req: "Unsupported [MS-RDPBCGR] RDP_NEG_REQ flags"
    const p = xrdp();
    for (const f of [0x02, 0x03, 0x04, 0x09, 0x80]) assert.equal(short(xrdpNegotiation(p, SSL, f)), 'DROP', `flags 0x${f.toString(16)}`);
    for (const f of [0x00, 0x01, 0x08]) assert.equal(short(xrdpNegotiation(p, SSL, f)), 'SSL', `flags 0x${f.toString(16)}`);
  });

  it('drops requestedProtocols above 0xb', () => {
    // xrdp_iso_process_rdp_neg_req: "requestedProtocol > 0xb" -> "Unknown requested protocol flag"
    const p = xrdp();
    assert.equal(short(xrdpNegotiation(p, 0xc)), 'DROP');
    assert.equal(short(xrdpNegotiation(p, RDSAAD | SSL)), 'DROP');
    assert.equal(short(xrdpNegotiation(p, 0xb)), 'SSL');
    assert.equal(short(xrdpNegotiation(xrdp({ security_layer: 'rdp' }), 0x10)), 'DROP'); // before the layer matters
  });

  it('security_layer=rdp answers RDP to everything, even to a TLS-only request', () => {
    // xrdp_iso_negotiate_security case PROTOCOL_RDP; capture xrdp-rdp-high--xfreerdp-sec-tls (req 0x1 -> sel 0)
    const p = xrdp({ security_layer: 'rdp' });
    for (const r of [RDP, SSL, SSL | HYBRID, MSTSC]) assert.equal(short(xrdpNegotiation(p, r)), 'RDP');
    assert.equal(short(xrdpNegotiation(p, null)), 'RDP (no negData)');
  });

  it('security_layer=tls selects SSL when requested and the certificate and key are readable', () => {
    // xrdp_iso_negotiate_security case PROTOCOL_SSL; capture xrdp-tls--xfreerdp-default (req 0x3 -> sel 0x1)
    assert.equal(short(xrdpNegotiation(xrdp({ security_layer: 'tls' }), SSL | HYBRID)), 'SSL');
  });

  it('security_layer=tls without a readable certificate answers SSL_CERT_NOT_ON_SERVER', () => {
    // xrdp_iso_negotiate_security: "Cannot accept TLS connections because certificate or private key file is not readable"
    assert.equal(short(xrdpNegotiation(xrdp({ security_layer: 'tls' }, false), SSL)), 'FAIL SSL_CERT_NOT_ON_SERVER');
  });

  it('security_layer=tls refuses a request without SSL with SSL_REQUIRED_BY_SERVER', () => {
    // xrdp_iso_negotiate_security: "Server requires TLS for security, but the client did not request TLS"
    const p = xrdp({ security_layer: 'tls' });
    assert.equal(short(xrdpNegotiation(p, RDP)), 'FAIL SSL_REQUIRED_BY_SERVER');
    assert.equal(short(xrdpNegotiation(p, HYBRID)), 'FAIL SSL_REQUIRED_BY_SERVER');
  });

  it('security_layer=tls answers a legacy client with a bare Connection Confirm, then an ultimatum', () => {
    // xrdp_iso_send_cc writes no rdpNegData without an RDP_NEG_REQ; capture xrdp-tls--xfreerdp-sec-rdp:
    // CC without neg data, MCS Connect Initial, then DisconnectProviderUltimatum + RST
    assert.equal(short(xrdpNegotiation(xrdp({ security_layer: 'tls' }), null)), 'FAIL SSL_REQUIRED_BY_SERVER (bare CC, then ultimatum)');
  });

  it('negotiate selects SSL when requested and possible, RDP otherwise; never CredSSP', () => {
    // xrdp_iso_negotiate_security default case ("we don't support CredSSP for now");
    // capture xrdp-negotiate-high--nmap-rdp-enum-encryption: 0x0 -> 0, 0x1 -> 1, 0x3 -> 1, 0x4 -> 0, 0x8 -> 0
    const p = xrdp();
    assert.equal(short(xrdpNegotiation(p, RDP)), 'RDP');
    assert.equal(short(xrdpNegotiation(p, SSL)), 'SSL');
    assert.equal(short(xrdpNegotiation(p, SSL | HYBRID)), 'SSL');
    assert.equal(short(xrdpNegotiation(p, RDSTLS)), 'RDP');
    assert.equal(short(xrdpNegotiation(p, HYBRID_EX)), 'RDP');
    assert.equal(short(xrdpNegotiation(p, HYBRID)), 'RDP');
    assert.equal(short(xrdpNegotiation(p, null)), 'RDP (no negData)');
  });

  it('negotiate without a readable certificate falls back to RDP', () => {
    // xrdp_iso_negotiate_security default case: SSL only with g_file_readable(certificate) && g_file_readable(key_file)
    assert.equal(short(xrdpNegotiation(xrdp({}, false), SSL | HYBRID)), 'RDP');
  });

  it('the undocumented hybrid layer behaves as negotiate', () => {
    // xrdp_rdp_read_config: hybrid = PROTOCOL_SSL | PROTOCOL_HYBRID, handled by the default case
    const p = xrdp({ security_layer: 'hybrid' });
    assert.equal(short(xrdpNegotiation(p, SSL | HYBRID)), 'SSL');
    assert.equal(short(xrdpNegotiation(p, HYBRID)), 'RDP');
  });

  it('RDP_NEG_RSP flags are EXTENDED_CLIENT_DATA_SUPPORTED', () => {
    // xrdp_iso_send_cc "TODO: hardcoded flags"; flags 1 in every xrdp capture
    const d = xrdpNegotiation(xrdp(), SSL);
    assert.equal(d.outcome === 'selected' && d.responseFlags, 0x01);
  });
});

describe('negotiate', () => {
  it('dispatches on the flavor', () => {
    assert.equal(short(negotiate(win({ userAuthentication: 1 }), SSL)), 'FAIL HYBRID_REQUIRED_BY_SERVER');
    assert.equal(short(negotiate(xrdp({ security_layer: 'rdp' }), SSL)), 'RDP');
  });
});
