/**
 * ClientConnector driven by the real servers' bytes from the loopback captures
 * (../shared/fixtures/pcaps, INDEX.md there). For every captured connection, the connector is
 * configured to send the request the real client sent (same requestedProtocols, flags and
 * cookie, and the client's encryptionMethods), so the server's answers in the capture are valid
 * answers to the connector's own PDUs: the Connection Confirm, then, where the connection went
 * on, the MCS Connect Response (in clear, or from the decrypted TLS records after a simulated
 * security upgrade). The outcomes are checked against what INDEX.md says each capture shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientConnector, type ConnectorConfig, type ConnectorEvent, type SecurityUpgradeInfo } from '../../src/connector/connector.js';
import type { ConnectorErrorCode } from '../../src/connector/errors.js';
import { DEFAULT_CLIENT_DATA, levelName, methodName } from '../../src/connector/mcs-connect.js';
import { collectClientData, decodeClientDataBlocks } from '../../src/pdu/client-data.js';
import { decodeConferenceCreateRequest } from '../../src/pdu/gcc.js';
import { decodeMcsConnectInitial } from '../../src/pdu/mcs.js';
import { NEG_REQ_FLAGS, PROTOCOL } from '../../src/pdu/nego.js';
import { decodeServerCertificate } from '../../src/pdu/server-certificate.js';
import { TPKT_HINT } from '../../src/pdu/tpkt.js';
import { decodeConnectionRequest, decodeX224Data } from '../../src/pdu/x224.js';
import { frames, listCaptures, loadCapture, streamBytes, type Connection } from '../fixtures/pcaps.js';

const { RDP, SSL, HYBRID } = PROTOCOL;
const FAKE_TLS: SecurityUpgradeInfo = { version: 'TLSv1.3', serverPublicKey: Buffer.alloc(270, 0x42) };

/** What the server's MCS Connect Response says (INDEX.md, and tshark's decoding of it). */
interface McsExpect {
  method: 'NONE' | '40BIT' | '128BIT' | 'FIPS';
  level: 'NONE' | 'LOW' | 'CLIENT_COMPATIBLE' | 'HIGH' | 'FIPS';
  /** TS_UD_SC_CORE.clientRequestedProtocols; null: the server sent none (xrdp to a legacy client) */
  echo: number | null;
  /** TS_UD_SC_CORE.version */
  version: number;
}

/** How one captured connection ends when its server bytes are fed to the connector. */
type Expect =
  /** requestedProtocols the real client sent (null: legacy, no RDP_NEG_REQ) */
  { requested: number | null } & (
    | { refused: ConnectorErrorCode; failureCode: number }
    | {
        selected: number;
        /** RDP_NEG_RSP flags, absent when the Confirm carries no negotiation data */
        flags?: number;
        /** MCS Connect Response content, a Disconnect Provider Ultimatum instead, or 'none' when the capture has none */
        mcs?: McsExpect | { ultimatum: number } | 'none';
      }
  );

const XRDP = 0x00080004; // RDP 5.0-8.1
const SHADOW = 0x0008000c; // RDP 10.7
const xrdpHigh: McsExpect = { method: '128BIT', level: 'HIGH', echo: null, version: XRDP };

/** Keyed by "capture/stream"; every captured connection must be listed (see the coverage test). */
const EXPECTED: Record<string, Expect> = {
  'shadow-default--xfreerdp-default/0': { requested: SSL | HYBRID, selected: SSL, flags: 3, mcs: { method: 'NONE', level: 'NONE', echo: 3, version: SHADOW } },
  'shadow-ext--xfreerdp-sec-ext/0': { requested: 0xb, refused: 'SSL_REQUIRED_BY_SERVER', failureCode: 1 },
  'shadow-negotiate--xfreerdp-default/0': { requested: SSL | HYBRID, selected: HYBRID, flags: 3 },
  'shadow-nla--impacket-rdp_check-badpw/0': { requested: SSL | HYBRID, selected: HYBRID, flags: 3 },
  'shadow-nla--impacket-rdp_check-ok/0': { requested: SSL | HYBRID, selected: HYBRID, flags: 3 },
  'shadow-nla--nmap-rdp-ntlm-info/1': { requested: 0xb, selected: HYBRID, flags: 3 },
  'shadow-nla--xfreerdp-badpw/0': { requested: SSL | HYBRID, selected: HYBRID, flags: 3 },
  'shadow-nla--xfreerdp-ok/0': { requested: SSL | HYBRID, selected: HYBRID, flags: 3 },
  'shadow-nla--xfreerdp-sec-tls/0': { requested: SSL, refused: 'HYBRID_REQUIRED_BY_SERVER', failureCode: 5 },
  'shadow-rdp--nmap-rdp-ntlm-info/1': { requested: 0xb, refused: 'SSL_NOT_ALLOWED_BY_SERVER', failureCode: 2 },
  // xfreerdp's fallback chain: 0x3 and 0x1 refused, then 0x0 goes through
  'shadow-rdp--xfreerdp-default/0': { requested: SSL | HYBRID, refused: 'SSL_NOT_ALLOWED_BY_SERVER', failureCode: 2 },
  'shadow-rdp--xfreerdp-default/1': { requested: SSL, refused: 'SSL_NOT_ALLOWED_BY_SERVER', failureCode: 2 },
  'shadow-rdp--xfreerdp-default/2': { requested: RDP, selected: RDP, flags: 3, mcs: { method: 'NONE', level: 'NONE', echo: 0, version: SHADOW } },
  // a legacy request, yet the FreeRDP server answers with an RDP_NEG_RSP
  'shadow-rdp--xfreerdp-sec-rdp/0': { requested: null, selected: RDP, flags: 3, mcs: { method: 'NONE', level: 'NONE', echo: 0, version: SHADOW } },
  'shadow-tls--xfreerdp-default/0': { requested: SSL | HYBRID, selected: SSL, flags: 3, mcs: { method: 'NONE', level: 'NONE', echo: 3, version: SHADOW } },
  'shadow-tls--xfreerdp-sec-rdp/0': { requested: null, refused: 'SSL_REQUIRED_BY_SERVER', failureCode: 1 },
  // nmap rdp-enum-encryption: xrdp answers RDP_NEG_RSP to everything, then 128-bit / HIGH to every single-method offer
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/1': { requested: SSL | HYBRID, selected: SSL, flags: 1, mcs: 'none' },
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/2': { requested: PROTOCOL.RDSTLS, selected: RDP, flags: 1, mcs: 'none' },
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/3': { requested: RDP, selected: RDP, flags: 1, mcs: 'none' },
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/4': { requested: SSL, selected: SSL, flags: 1, mcs: { method: 'NONE', level: 'NONE', echo: 1, version: XRDP } },
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/5': { requested: PROTOCOL.HYBRID_EX, selected: RDP, flags: 1, mcs: 'none' },
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/6': { requested: null, selected: RDP, mcs: xrdpHigh },
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/7': { requested: null, selected: RDP, mcs: xrdpHigh },
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/8': { requested: null, selected: RDP, mcs: xrdpHigh },
  'xrdp-negotiate-high--nmap-rdp-enum-encryption/9': { requested: null, selected: RDP, mcs: xrdpHigh },
  'xrdp-negotiate-high--xfreerdp-default/0': { requested: SSL | HYBRID, selected: SSL, flags: 1, mcs: { method: 'NONE', level: 'NONE', echo: 3, version: XRDP } },
  'xrdp-negotiate-high--xfreerdp-sec-nla/0': { requested: SSL | HYBRID, selected: SSL, flags: 1, mcs: 'none' },
  'xrdp-negotiate-high--xfreerdp-sec-rdp/0': { requested: null, selected: RDP, mcs: xrdpHigh },
  'xrdp-rdp-fips--rdesktop/0': { requested: SSL | HYBRID, selected: RDP, flags: 1, mcs: { method: 'FIPS', level: 'FIPS', echo: 3, version: XRDP } },
  'xrdp-rdp-fips--xfreerdp-sec-rdp/0': { requested: null, selected: RDP, mcs: { method: 'FIPS', level: 'FIPS', echo: null, version: XRDP } },
  'xrdp-rdp-high--rdesktop/0': { requested: SSL | HYBRID, selected: RDP, flags: 1, mcs: { method: '128BIT', level: 'HIGH', echo: 3, version: XRDP } },
  'xrdp-rdp-high--xfreerdp-sec-rdp/0': { requested: null, selected: RDP, mcs: xrdpHigh },
  // security_layer=rdp answers a TLS-only request with sel=0 instead of SSL_NOT_ALLOWED_BY_SERVER
  'xrdp-rdp-high--xfreerdp-sec-tls/0': { requested: SSL, selected: RDP, flags: 1, mcs: 'none' },
  'xrdp-rdp-low--xfreerdp-sec-rdp/0': { requested: null, selected: RDP, mcs: { method: '40BIT', level: 'LOW', echo: null, version: XRDP } },
  'xrdp-rdp-medium--xfreerdp-sec-rdp/0': { requested: null, selected: RDP, mcs: { method: '40BIT', level: 'CLIENT_COMPATIBLE', echo: null, version: XRDP } },
  'xrdp-rdp-none--xfreerdp-sec-rdp/0': { requested: null, selected: RDP, mcs: { method: 'NONE', level: 'NONE', echo: null, version: XRDP } },
  'xrdp-tls--xfreerdp-default/0': { requested: SSL | HYBRID, selected: SSL, flags: 1, mcs: { method: 'NONE', level: 'NONE', echo: 3, version: XRDP } },
  // security_layer=tls against a legacy client: DisconnectProviderUltimatum (21 80, rn-user-requested)
  'xrdp-tls--xfreerdp-sec-rdp/0': { requested: null, selected: RDP, mcs: { ultimatum: 3 } },
  'xrdp-tls12--xfreerdp-default/0': { requested: SSL | HYBRID, selected: SSL, flags: 1, mcs: { method: 'NONE', level: 'NONE', echo: 3, version: XRDP } },
};

/** 'sent PDU: summary' / 'received PDU' / 'security-upgrade ...', for comparisons. */
function describeEvent(e: ConnectorEvent): string {
  if (e.type === 'security-upgrade') return `security-upgrade ${e.protocol} ${e.version}`;
  return e.type === 'sent' ? `sent ${e.pdu}: ${e.summary}` : `received ${e.pdu}`;
}

/** TPKT frames one side sent on one layer (up to the first bytes that are not TPKT). */
function tpktFrames(conn: Connection, dir: 'c2s' | 's2c', layer: 'tcp' | 'tls'): Buffer[] {
  return frames(streamBytes(conn, dir, layer), TPKT_HINT).frames;
}

/** encryptionMethods of the client's own MCS Connect Initial, if it sent one (in clear or inside TLS). */
function clientMethods(conn: Connection): number | undefined {
  for (const layer of ['tcp', 'tls'] as const) {
    const ci = tpktFrames(conn, 'c2s', layer).find((f) => f[7] === 0x7f && f[8] === 0x65);
    if (ci) return decodeClientCi(ci).security!.encryptionMethods;
  }
  return undefined;
}

function decodeClientCi(frame: Uint8Array) {
  const ci = decodeMcsConnectInitial(decodeX224Data(frame));
  const gcc = decodeConferenceCreateRequest(ci.userData);
  return { ci, gcc, ...collectClientData(decodeClientDataBlocks(gcc.userData)) };
}

/** The connector configured as the captured client was: same request, cookie, flags, methods. */
function configFor(conn: Connection): ConnectorConfig {
  const cr = decodeConnectionRequest(tpktFrames(conn, 'c2s', 'tcp')[0]!);
  const methods = clientMethods(conn);
  return {
    requestedProtocols: cr.negReq ? cr.negReq.requestedProtocols : null,
    ...(cr.negReq?.flags ? { negReqFlags: cr.negReq.flags } : {}),
    ...(cr.cookie !== undefined ? { cookie: cr.cookie } : {}),
    stopAfter: 'mcs-connect',
    // xfreerdp sends 0 inside TLS; the connector's default is what a Standard Security client offers
    clientData: { ...DEFAULT_CLIENT_DATA, encryptionMethods: methods || DEFAULT_CLIENT_DATA.encryptionMethods },
  };
}

/** Check the MCS Connect Initial the connector built against its configuration. */
function checkConnectInitial(bytes: Uint8Array, config: ConnectorConfig, selected: number): void {
  const d = decodeClientCi(bytes);
  assert.equal(d.ci.upwardFlag, true);
  assert.equal(d.gcc.conferenceName, '1');
  assert.equal(d.security?.encryptionMethods, config.clientData.encryptionMethods);
  assert.equal(d.core?.clientName, config.clientData.clientName);
  if (config.requestedProtocols === null) {
    assert.equal(d.core?.serverSelectedProtocol, undefined, 'a legacy client stops TS_UD_CS_CORE before serverSelectedProtocol');
  } else {
    assert.equal(d.core?.serverSelectedProtocol, selected, 'serverSelectedProtocol echoes the RDP_NEG_RSP');
  }
}

describe('ClientConnector fed the real servers\' answers (test/fixtures/pcaps)', () => {
  it('every captured connection has an expectation (INDEX.md) here', () => {
    const keys = listCaptures().flatMap((name) => loadCapture(name).connections.map((c) => `${name}/${c.stream}`));
    assert.deepEqual(keys.sort(), Object.keys(EXPECTED).sort());
  });

  for (const [key, exp] of Object.entries(EXPECTED)) {
    const [name, stream] = key.split('/') as [string, string];
    it(key, () => {
      const conn = loadCapture(name).connections.find((c) => c.stream === Number(stream));
      assert.ok(conn, `no stream ${stream} in ${name}`);
      const config = configFor(conn);
      assert.equal(config.requestedProtocols, exp.requested, 'the captured client sent what INDEX.md says');
      const c = new ClientConnector(config);
      assert.equal(c.stateName, 'SendConnectionRequest');
      assert.equal(c.nextPduHint(), null);

      // 1. the Connection Request: byte for byte what the real client sent (all use SRC-REF 0)
      const first = c.step(null);
      assert.equal(first.output.length, 1);
      const clientCr = tpktFrames(conn, 'c2s', 'tcp')[0]!;
      assert.equal(Buffer.from(first.output[0]!).toString('hex'), clientCr.toString('hex'));
      assert.equal(c.stateName, 'WaitConnectionConfirm');
      assert.equal(c.nextPduHint(), TPKT_HINT);

      // 2. the server's Connection Confirm
      const serverFrames = tpktFrames(conn, 's2c', 'tcp');
      const afterCc = c.step(serverFrames[0]!);
      assert.deepEqual(afterCc.events.map(describeEvent)[0], 'received X.224 Connection Confirm');

      if ('refused' in exp) {
        assert.equal(c.stateName, 'Failed');
        assert.equal(c.error?.code, exp.refused);
        assert.equal(c.error?.phase, 'x224');
        assert.equal(c.error?.value, exp.failureCode);
        assert.equal(c.result?.confirm.negotiation?.type, 'RDP_NEG_FAILURE');
        assert.equal(c.result?.selectedProtocol, -1);
        assert.deepEqual(afterCc.output, []);
        assert.equal(c.done, true);
        return;
      }

      const partial = c.state.kind === 'SecurityUpgrade' || c.state.kind === 'WaitMcsConnectResponse' ? c.state.partial : c.result;
      assert.ok(partial, `no result in state ${c.stateName}`);
      assert.equal(partial.selectedProtocol, exp.selected);
      assert.equal(partial.legacyConfirm, exp.flags === undefined);
      const neg = partial.confirm.negotiation;
      if (exp.flags === undefined) assert.equal(neg, undefined);
      else assert.deepEqual(neg, { type: 'RDP_NEG_RSP', flags: exp.flags, selectedProtocol: exp.selected });

      // 3. TLS: the connector pauses; the driver's handshake is simulated
      let ci: Uint8Array | undefined;
      let layer: 'tcp' | 'tls' = 'tcp';
      if (exp.selected !== RDP) {
        assert.equal(c.stateName, 'SecurityUpgrade');
        assert.deepEqual(c.pause, { kind: 'tls-upgrade', role: 'client' });
        assert.equal(c.nextPduHint(), null);
        assert.equal(c.done, false);
        assert.deepEqual(afterCc.output, []);
        const resumed = c.markSecurityUpgradeDone(FAKE_TLS);
        assert.deepEqual(resumed.events[0], { type: 'security-upgrade', protocol: exp.selected === SSL ? 'SSL' : 'HYBRID', version: 'TLSv1.3' });
        if (exp.selected === HYBRID) {
          // CredSSP comes next and is not implemented: the attempt ends, honestly, here
          assert.equal(c.stateName, 'Connected');
          assert.deepEqual(resumed.output, []);
          assert.equal(c.result?.security, FAKE_TLS);
          assert.equal(c.result?.mcs, undefined);
          return;
        }
        assert.equal(resumed.output.length, 1);
        ci = resumed.output[0];
        layer = 'tls';
      } else {
        assert.equal(afterCc.output.length, 1, 'RDP selected: the MCS Connect Initial follows at once');
        ci = afterCc.output[0];
      }
      assert.ok(ci);
      checkConnectInitial(ci, config, exp.selected);
      assert.equal(c.stateName, 'WaitMcsConnectResponse');
      assert.equal(c.nextPduHint(), TPKT_HINT);

      // 4. the server's MCS Connect Response (in clear after the CC, or the first TPKT inside TLS)
      const response = layer === 'tcp' ? serverFrames[1] : tpktFrames(conn, 's2c', 'tls')[0];
      if (exp.mcs === 'none' || exp.mcs === undefined) {
        assert.equal(response, undefined, 'the capture holds no MCS Connect Response');
        return;
      }
      assert.ok(response, 'the capture has the MCS Connect Response');
      const last = c.step(response);
      if ('ultimatum' in exp.mcs) {
        assert.equal(c.stateName, 'Failed');
        assert.equal(c.error?.code, 'MCS_DISCONNECT_PROVIDER_ULTIMATUM');
        assert.equal(c.error?.phase, 'mcs');
        assert.equal(c.error?.value, exp.mcs.ultimatum);
        assert.deepEqual(c.result?.mcs, { kind: 'disconnect', reason: 3, reasonName: 'rn-user-requested' });
        assert.deepEqual(last.events.map(describeEvent), ['received MCS Disconnect Provider Ultimatum']);
        return;
      }
      assert.equal(c.stateName, 'Connected', c.error?.message);
      assert.equal(c.done, true);
      assert.deepEqual(last.output, []);
      const mcs = c.result?.mcs;
      assert.ok(mcs && mcs.kind === 'response');
      assert.equal(mcs.result, 0);
      const sec = mcs.serverSecurity;
      assert.ok(sec);
      assert.equal(methodName(sec.encryptionMethod), exp.mcs.method);
      assert.equal(levelName(sec.encryptionLevel), exp.mcs.level);
      assert.equal(mcs.serverCore?.version, exp.mcs.version);
      assert.equal(mcs.serverCore?.clientRequestedProtocols ?? null, exp.mcs.echo);
      if (exp.mcs.method === 'NONE') {
        assert.equal(sec.serverRandom, undefined);
        assert.equal(sec.serverCertificate, undefined);
      } else {
        // xrdp: a 32-byte server random and a proprietary certificate with a 2048-bit key
        assert.equal(sec.serverRandom?.length, 32);
        const cert = decodeServerCertificate(sec.serverCertificate!);
        assert.equal(cert.kind, 'proprietary');
        assert.equal(cert.kind === 'proprietary' && cert.publicKey.bitlen, 2048);
      }
      if (layer === 'tls') assert.equal(c.result?.security, FAKE_TLS);
    });
  }
});

describe('ClientConnector PDUs decode back to its configuration', () => {
  const configs: { name: string; config: ConnectorConfig }[] = [
    { name: 'legacy, with a cookie', config: { requestedProtocols: null, cookie: 'alice', stopAfter: 'mcs-connect', clientData: DEFAULT_CLIENT_DATA } },
    { name: 'legacy, no cookie', config: { requestedProtocols: null, stopAfter: 'mcs-connect', clientData: { ...DEFAULT_CLIENT_DATA, encryptionMethods: 0x01 } } },
    { name: 'RDP only', config: { requestedProtocols: RDP, cookie: 'rdpsec0001', stopAfter: 'mcs-connect', clientData: { ...DEFAULT_CLIENT_DATA, encryptionMethods: 0x10 } } },
    {
      name: 'mstsc-like with RESTRICTED_ADMIN_MODE_REQUIRED',
      config: { requestedProtocols: 0xb, negReqFlags: NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED, cookie: 'bob', stopAfter: 'negotiation', clientData: DEFAULT_CLIENT_DATA },
    },
    { name: 'every protocol', config: { requestedProtocols: 0x1f, stopAfter: 'security-upgrade', clientData: DEFAULT_CLIENT_DATA } },
  ];
  for (const { name, config } of configs) {
    it(`Connection Request: ${name}`, () => {
      const c = new ClientConnector(config);
      const { output, events } = c.step(null);
      assert.equal(output.length, 1);
      const cr = decodeConnectionRequest(output[0]!);
      assert.equal(cr.cookie, config.cookie);
      assert.equal(cr.routingToken, undefined);
      assert.equal(cr.correlationInfo, undefined);
      if (config.requestedProtocols === null) {
        assert.equal(cr.negReq, undefined, 'a legacy request has no RDP_NEG_REQ');
        assert.match(events.map(describeEvent)[0]!, /legacy/);
      } else {
        assert.deepEqual(cr.negReq, { type: 'RDP_NEG_REQ', flags: config.negReqFlags ?? 0, requestedProtocols: config.requestedProtocols });
      }
    });
  }

  for (const { name, config } of configs.filter((x) => x.config.stopAfter === 'mcs-connect')) {
    it(`MCS Connect Initial after a Confirm selecting RDP: ${name}`, () => {
      const c = new ClientConnector(config);
      c.step(null);
      // a Confirm selecting RDP: without negotiation data for a legacy request (as xrdp answers), with RDP_NEG_RSP otherwise
      const cc = config.requestedProtocols === null ? Buffer.from('0300000b06d00000123400', 'hex') : Buffer.from('030000130ed000001234000200080000000000', 'hex');
      const { output } = c.step(cc);
      assert.equal(c.stateName, 'WaitMcsConnectResponse', c.error?.message);
      assert.equal(output.length, 1);
      checkConnectInitial(output[0]!, config, RDP);
    });
  }
});

describe('ClientConnector stopAfter, on real Confirms', () => {
  const xrdpTls = loadCapture('xrdp-tls--xfreerdp-default').connections[0]!;
  const xrdpRdp = loadCapture('xrdp-rdp-high--rdesktop').connections[0]!;
  const run = (conn: Connection, stopAfter: ConnectorConfig['stopAfter']) => {
    const c = new ClientConnector({ ...configFor(conn), stopAfter });
    c.step(null);
    const r = c.step(tpktFrames(conn, 's2c', 'tcp')[0]!);
    return { c, r };
  };

  it("'negotiation' ends at the Confirm, whatever was selected", () => {
    for (const [conn, selected] of [[xrdpTls, SSL], [xrdpRdp, RDP]] as const) {
      const { c, r } = run(conn, 'negotiation');
      assert.equal(c.stateName, 'Connected');
      assert.equal(c.pause, null);
      assert.deepEqual(r.output, []);
      assert.equal(c.result?.selectedProtocol, selected);
    }
  });

  it("'security-upgrade' pauses for TLS and ends after it; with RDP selected it ends at the Confirm", () => {
    const tls = run(xrdpTls, 'security-upgrade').c;
    assert.equal(tls.stateName, 'SecurityUpgrade');
    const resumed = tls.markSecurityUpgradeDone(FAKE_TLS);
    assert.deepEqual(resumed.output, []);
    assert.equal(tls.stateName, 'Connected');
    assert.equal(tls.result?.security, FAKE_TLS);
    const rdp = run(xrdpRdp, 'security-upgrade');
    assert.equal(rdp.c.stateName, 'Connected');
    assert.deepEqual(rdp.r.output, []);
  });

  it('misuse is a programming error (plain Error), not a ConnectorError', () => {
    const { c } = run(xrdpRdp, 'negotiation');
    assert.throws(() => c.step(Buffer.alloc(0)), (e: unknown) => e instanceof Error && e.name === 'Error' && /step\(\) called in state Connected/.test(e.message));
    assert.throws(() => c.markSecurityUpgradeDone(FAKE_TLS), /markSecurityUpgradeDone in state Connected/);
    const waiting = new ClientConnector(configFor(xrdpRdp));
    waiting.step(null);
    assert.throws(() => waiting.step(null), /needs a PDU/);
  });
});
