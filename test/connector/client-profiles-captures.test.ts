/**
 * Client profiles (data/clients/*.yaml) against the real clients' captures
 * (test/fixtures/pcaps, from ../shared/fixtures/pcaps; INDEX.md there): for every captured
 * connection of xfreerdp, rdesktop, impacket and nmap, the connector configured from the
 * client's profile sends the same X.224 Connection Request byte for byte, then, fed the real
 * server's answers, the same TS_UD_CS_CORE / TS_UD_CS_SEC values in its MCS Connect Initial and
 * the same TSRequest.version, and makes the same next connection (or none) as the real client.
 *
 * The cookie of xfreerdp and rdesktop is the user name, which a profile cannot know: the
 * captured user is passed in (alice to the FreeRDP shadow server, test to xrdp), so the
 * comparison is of the whole request. The one capture of /sec:ext has no profile.
 *
 * Then the fast-check property: every attempt of every profile, fed random server bytes (and
 * real server TSRequests, damaged), fails only with a typed ConnectorError.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { clientProfile, connectorConfigFor, nextAttempt, type ClientProfile } from '../../src/connector/client-profiles.js';
import { ClientConnector, type ConnectorConfig, type SecurityUpgradeInfo } from '../../src/connector/connector.js';
import type { CredsspCredentials } from '../../src/connector/credssp-client.js';
import { CONNECTOR_ERROR_CODES, ConnectorError } from '../../src/connector/errors.js';
import { collectClientData, decodeClientDataBlocks } from '../../src/pdu/client-data.js';
import { TSREQUEST_HINT, decodeTsRequest } from '../../src/pdu/credssp.js';
import { decodeConferenceCreateRequest } from '../../src/pdu/gcc.js';
import { decodeMcsConnectInitial } from '../../src/pdu/mcs.js';
import { TPKT_HINT, encodeTpkt } from '../../src/pdu/tpkt.js';
import { decodeX224Data, encodeConnectionConfirm } from '../../src/pdu/x224.js';
import { frames, listCaptures, loadCapture, streamBytes, type Connection } from '../fixtures/pcaps.js';
import { loadCredsspClient } from '../../src/connector/credssp-loader.js';

// CredSSP's client half loads on demand (connector/credssp-loader.ts)
before(() => loadCredsspClient());

const FAKE_TLS: SecurityUpgradeInfo = { version: 'TLSv1.3', serverPublicKey: Buffer.alloc(270, 0x42) };

function creds(user: string): CredsspCredentials {
  return { user, domain: '', ntHash: Buffer.alloc(16, 7), password: Buffer.from('test', 'utf16le') };
}

/** Which profile replays which capture: by the client part of the capture's name. */
const PROFILE_OF: [RegExp, string][] = [
  [/--xfreerdp-(default|ok|badpw)$/, 'xfreerdp-2.11'],
  [/--xfreerdp-sec-nla$/, 'xfreerdp-2.11-sec-nla'],
  [/--xfreerdp-sec-tls$/, 'xfreerdp-2.11-sec-tls'],
  [/--xfreerdp-sec-rdp$/, 'xfreerdp-2.11-sec-rdp'],
  [/--rdesktop$/, 'rdesktop-1.9'],
  [/--impacket-rdp_check-(ok|badpw)$/, 'impacket-rdp_check'],
  [/--nmap-rdp-ntlm-info$/, 'nmap-rdp-ntlm-info'],
  [/--nmap-rdp-enum-encryption$/, 'nmap-rdp-enum-encryption'],
];
const NOT_PROFILED = ['shadow-ext--xfreerdp-sec-ext'];

const tpktFrames = (conn: Connection, dir: 'c2s' | 's2c', layer: 'tcp' | 'tls'): Buffer[] => frames(streamBytes(conn, dir, layer), TPKT_HINT).frames;
const isConnectInitial = (f: Uint8Array): boolean => f[7] === 0x7f && f[8] === 0x65;

/** The TS_UD_CS_CORE / TS_UD_CS_SEC values a profile speaks for. */
function clientData(frame: Uint8Array) {
  const d = collectClientData(decodeClientDataBlocks(decodeConferenceCreateRequest(decodeMcsConnectInitial(decodeX224Data(frame)).userData).userData));
  return { encryptionMethods: d.security?.encryptionMethods, version: d.core?.version, clientBuild: d.core?.clientBuild, earlyCapabilityFlags: d.core?.earlyCapabilityFlags, clientName: d.core?.clientName };
}

/**
 * One attempt fed one captured connection's server side: the Confirm, the TLS pause filled in,
 * and the MCS Connect Response when the connector waits for it. What the connector sent comes back.
 */
function replay(conn: Connection, config: ConnectorConfig) {
  const c = new ClientConnector(config);
  const request = Buffer.from(c.step(null).output[0]!);
  const server = tpktFrames(conn, 's2c', 'tcp');
  const sent = [...c.step(server[0]!).output];
  if (c.pause) sent.push(...c.markSecurityUpgradeDone(FAKE_TLS).output);
  if (c.stateName === 'WaitMcsConnectResponse') {
    const response = server[1] ?? tpktFrames(conn, 's2c', 'tls')[0];
    if (response) c.step(response);
  }
  return { c, request, sent };
}

describe('client profiles replay the captured clients', () => {
  it('every capture but /sec:ext has a profile', () => {
    for (const name of listCaptures()) {
      const profiled = PROFILE_OF.some(([re]) => re.test(name));
      assert.equal(profiled, !NOT_PROFILED.includes(name), name);
    }
  });

  for (const name of listCaptures().filter((n) => !NOT_PROFILED.includes(n))) {
    const profileName = PROFILE_OF.find(([re]) => re.test(name))![1];
    it(`${profileName}: ${name}`, () => {
      const profile: ClientProfile = clientProfile(profileName);
      const configs = connectorConfigFor(profile, { credentials: creds(name.startsWith('shadow-') ? 'alice' : 'test') });
      const conns = loadCapture(name).connections;
      let attempt: number | undefined = 0;
      let compared = 0;
      conns.forEach((conn, k) => {
        assert.notEqual(attempt, undefined, `the real client made connection ${k}, the profile makes no more`);
        const { c, request, sent } = replay(conn, configs[attempt!]!);
        const real = tpktFrames(conn, 'c2s', 'tcp');
        assert.equal(request.toString('hex'), real[0]!.toString('hex'), `connection ${k}: the Connection Request`);

        const ours = sent.find(isConnectInitial);
        const theirs = [...real, ...tpktFrames(conn, 'c2s', 'tls')].find(isConnectInitial);
        if (ours && theirs) {
          const [o, t] = [clientData(ours), clientData(theirs)];
          if (!profile.clientData?.clientName) o.clientName = t.clientName = ''; // the capture host's name
          assert.deepEqual(o, t, `connection ${k}: the client data`);
          compared++;
        }
        const ourTs = sent.find((b) => b[0] === 0x30);
        const theirTs = frames(streamBytes(conn, 'c2s', 'tls'), TSREQUEST_HINT).frames[0];
        if (ourTs && theirTs) {
          assert.equal(decodeTsRequest(ourTs).version, decodeTsRequest(theirTs).version, `connection ${k}: TSRequest.version`);
          const token = decodeTsRequest(ourTs).negoTokens?.[0] ?? new Uint8Array(0);
          assert.equal(Buffer.from(token.subarray(0, 12)).toString('hex'), '4e544c4d5353500001000000', 'raw NTLM NEGOTIATE');
          compared++;
        }
        attempt = c.done ? nextAttempt(profile, attempt!, c) : undefined;
        if (k === conns.length - 1 && c.done) assert.equal(attempt, undefined, 'the real client made no further connection');
      });
      // what the real client sent past the request was compared too; except where nmap starts
      // TLS after an RDP_NEG_FAILURE, which the profile leaves out (its notModelled)
      const beyond = conns.some((conn) => tpktFrames(conn, 'c2s', 'tcp').length > 1 || streamBytes(conn, 'c2s', 'tls').length > 0);
      assert.ok(compared > 0 || !beyond || name === 'shadow-rdp--nmap-rdp-ntlm-info', 'nothing past the request was compared');
    });
  }
});

describe('client profiles fed random server bytes', () => {
  const CODES: readonly string[] = CONNECTOR_ERROR_CODES;
  const ALL = ['mstsc-win10', 'mstsc-win10-aeo0', 'mstsc-win7-unpatched', 'xfreerdp-2.11', 'xfreerdp-2.11-sec-nla', 'xfreerdp-2.11-sec-tls', 'xfreerdp-2.11-sec-rdp', 'rdesktop-1.9', 'impacket-rdp_check', 'nmap-rdp-ntlm-info', 'nmap-rdp-enum-encryption'];
  const CONFIGS = ALL.flatMap((n) => connectorConfigFor(clientProfile(n), { credentials: creds('alice') }).map((config, i) => ({ label: `${n}#${i}`, config })));
  /** The servers' real TSRequests (NTLM CHALLENGE, pubKeyAuth) from the CredSSP captures. */
  const SERVER_TS = ['shadow-nla--xfreerdp-ok', 'shadow-nla--impacket-rdp_check-ok', 'shadow-nla--nmap-rdp-ntlm-info'].flatMap((n) =>
    loadCapture(n).connections.flatMap((conn) => frames(streamBytes(conn, 's2c', 'tls'), TSREQUEST_HINT).frames),
  );
  const confirm = fc
    .record({ kind: fc.constantFrom('RDP_NEG_RSP', 'RDP_NEG_FAILURE', 'none'), flags: fc.nat({ max: 255 }), value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 5, 8, 0x10), fc.nat({ max: 0xffffffff })) })
    .map(({ kind, flags, value }) =>
      encodeConnectionConfirm({
        dstRef: 0,
        srcRef: 0x1234,
        ...(kind === 'RDP_NEG_RSP' ? { negotiation: { type: kind, flags, selectedProtocol: value } } : {}),
        ...(kind === 'RDP_NEG_FAILURE' ? { negotiation: { type: kind, flags, failureCode: value } } : {}),
      }),
    );
  const damaged = fc.tuple(fc.constantFrom(...SERVER_TS), fc.nat(), fc.nat({ max: 255 })).map(([f, at, v]) => {
    const b = Buffer.from(f);
    b[at % b.length] = v;
    return b;
  });
  const server = fc.oneof(
    confirm,
    confirm,
    fc.uint8Array({ maxLength: 120 }),
    fc.uint8Array({ maxLength: 120 }).map((b) => encodeTpkt(b)),
    fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.concat([Buffer.of(0x30, b.length), b])),
    fc.constantFrom(...SERVER_TS),
    damaged,
  );

  it('every attempt of every profile fails only with a typed ConnectorError, never throws, never loops', () => {
    assert.ok(SERVER_TS.length >= 4, `${SERVER_TS.length} server TSRequests`);
    fc.assert(
      fc.property(fc.constantFrom(...CONFIGS), fc.array(server, { minLength: 1, maxLength: 5 }), ({ label, config }, inputs) => {
        const c = new ClientConnector(config);
        c.step(null);
        let k = 0;
        for (let steps = 0; !c.done; steps++) {
          assert.ok(steps < 20, `${label}: still ${c.stateName}`);
          if (c.pause) {
            c.markSecurityUpgradeDone(FAKE_TLS);
            continue;
          }
          const input = inputs[k++];
          if (!input) break;
          c.step(input);
        }
        if (c.stateName === 'Failed') {
          assert.ok(c.error instanceof ConnectorError, label);
          assert.ok(CODES.includes(c.error.code), `${label}: ${c.error.code}`);
          JSON.stringify(c.error);
        }
      }),
      { seed: 0x20261123, numRuns: 1500 },
    );
  });
});
