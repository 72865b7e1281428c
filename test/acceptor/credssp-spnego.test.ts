/**
 * CredSSP with NTLM inside SPNEGO (RFC 4178, MS-SPNG), our connector (`credssp.spnego`) against
 * our acceptor in memory, as credssp-exchange.test.ts does for raw NTLM:
 * - the tokens on the wire: NegTokenInit { NTLM, NEGOTIATE }, NegTokenResp { accept-incomplete,
 *   NTLM, CHALLENGE }, NegTokenResp { AUTHENTICATE, mechListMIC } with pubKeyAuth, and the
 *   server's NegTokenResp { accept-completed, mechListMIC } with pubKeyAuth; the sequence numbers
 *   (mechListMIC 0, pubKeyAuth 1, authInfo 2 from the client; mechListMIC 0, pubKeyAuth 1 from
 *   the server);
 * - every CredSSP version, a wrong password, restricted admin, HYBRID_EX, no credentials;
 * - a damaged, missing or replaced mechListMIC in either direction;
 * - random and damaged SPNEGO tokens in every CredSSP state of both sides.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ServerAcceptor } from '../../src/acceptor/acceptor.js';
import { acceptorPolicy } from '../../src/acceptor/from-server-policy.js';
import { ServerIdentity } from '../../src/acceptor/server-identity.js';
import { ClientConnector, type ConnectorConfig } from '../../src/connector/connector.js';
import { loadCredsspClient } from '../../src/connector/credssp-loader.js';
import { DEFAULT_CLIENT_DATA } from '../../src/connector/mcs-connect.js';
import { generateRsaKeyPairLE } from '../../src/crypto/rsa.js';
import { decodeTsRequest, encodeTsRequest, type TsRequest } from '../../src/pdu/credssp.js';
import { NEG_REQ_FLAGS, PROTOCOL } from '../../src/pdu/nego.js';
import { NTSTATUS } from '../../src/pdu/ntstatus.js';
import { NTLM_AUTHENTICATE, NTLM_CHALLENGE, NTLM_NEGOTIATE, ntlmMessageType } from '../../src/pdu/ntlm.js';
import {
  KERBEROS_OID,
  NEG_STATE_ACCEPT_COMPLETED,
  NEG_STATE_ACCEPT_INCOMPLETE,
  NTLMSSP_OID,
  classifyNegoToken,
  decodeNegTokenInit,
  decodeNegTokenResp,
  encodeMechTypeList,
  encodeNegTokenInit,
  encodeNegTokenResp,
  type NegTokenResp,
} from '../../src/pdu/spnego.js';
import { encodeConnectionRequest } from '../../src/pdu/x224.js';
import { preset } from '../../src/policy/presets.js';
import type { CredsspPolicy } from '../../src/policy/server-policy.js';
import { ACCOUNT_STATES, parseUsersFile } from '../../src/policy/users-file.js';

before(() => loadCredsspClient());

const IDENTITY = new ServerIdentity(generateRsaKeyPairLE(1024));
const SERVER_KEY = Buffer.concat([Buffer.from('3082010a02820101', 'hex'), randomBytes(257), Buffer.from('0203010001', 'hex')]);
const ALICE_HASH = '10b2f1961375b20126508c2267862bf0'; // S3cret!
const { SEC_E_MESSAGE_ALTERED, SEC_E_INVALID_TOKEN } = NTSTATUS;
const CLIENT_ERRORS = ['DECODE_ERROR', 'CREDSSP_ERROR', 'CREDSSP_LOGON_FAILED', 'CREDSSP_PUBKEY_MISMATCH', 'CREDSSP_ORACLE_REMEDIATION'];

function policy(server?: Partial<CredsspPolicy>) {
  const d = parseUsersFile(`alice::${ALICE_HASH}\n`);
  const accounts = (user: string, domain: string) => {
    const a = d.find(user, domain);
    return a ? { ntHash: a.ntHash, status: ACCOUNT_STATES[a.state] } : undefined;
  };
  return acceptorPolicy(preset('windows-2019'), { accounts, ...(server ? { credssp: server } : {}) });
}

type Tamper = (ts: TsRequest, index: number) => TsRequest | null;

interface Case {
  spnego?: boolean;
  server?: Partial<CredsspPolicy>;
  client?: { version?: number; password?: string; restrictedAdmin?: boolean; noCredentials?: boolean };
  protocols?: number;
  negReqFlags?: number;
  stopAfter?: ConnectorConfig['stopAfter'];
  /** rewrite the n-th TSRequest of a direction (null: drop it) */
  toServer?: Tamper;
  toClient?: Tamper;
}

function clientConfig(k: Case): ConnectorConfig {
  const password = k.client?.password ?? 'S3cret!';
  return {
    requestedProtocols: k.protocols ?? PROTOCOL.SSL | PROTOCOL.HYBRID,
    ...(k.negReqFlags !== undefined ? { negReqFlags: k.negReqFlags } : {}),
    stopAfter: k.stopAfter ?? 'credssp',
    clientData: DEFAULT_CLIENT_DATA,
    credssp: {
      spnego: k.spnego ?? true,
      ...(k.client?.version !== undefined ? { version: k.client.version } : {}),
      ...(k.client?.noCredentials
        ? {}
        : {
            credentials: {
              user: 'alice',
              domain: '',
              ntHash: password === 'S3cret!' ? Buffer.from(ALICE_HASH, 'hex') : Buffer.alloc(16, 0x42),
              password: Buffer.from(password, 'utf16le'),
              ...(k.client?.restrictedAdmin ? { restrictedAdmin: true } : {}),
            },
          }),
    },
  };
}

const isTsRequest = (b: Uint8Array): boolean => b[0] === 0x30;

/** Run the exchange; the TSRequests each way as they were delivered. */
function run(k: Case = {}) {
  const s = new ServerAcceptor(policy(k.server), IDENTITY, randomBytes);
  const c = new ClientConnector(clientConfig(k));
  const up: TsRequest[] = [];
  const down: TsRequest[] = [];
  const deliver = (frame: Uint8Array, log: TsRequest[], tamper: Tamper | undefined): Uint8Array | null => {
    if (!isTsRequest(frame)) return frame;
    let ts: TsRequest | null = decodeTsRequest(frame);
    if (tamper) ts = tamper(ts, log.length);
    if (!ts) return null;
    log.push(ts);
    return encodeTsRequest(ts);
  };
  const toClient: Uint8Array[] = [];
  const toServer = (outputs: Uint8Array[]): void => {
    for (const o of outputs) {
      const f = deliver(o, up, k.toServer);
      if (f) toClient.push(...s.step(f).output);
    }
  };
  toServer(c.step(null).output);
  for (let guard = 0; !c.done && guard < 200; guard++) {
    if (c.pause) {
      s.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY });
      toServer(c.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY }).output);
      continue;
    }
    const next = toClient.shift();
    if (!next) break;
    const f = deliver(next, down, k.toClient);
    if (f) toServer(c.step(f).output);
  }
  return { c, s, up, down };
}

const resp = (ts: TsRequest | undefined): NegTokenResp => decodeNegTokenResp(ts!.negoTokens![0]!);
const seqOf = (sealedOrSig: Uint8Array): number => Buffer.from(sealedOrSig).readUInt32LE(12);
/** Rewrite the NegTokenResp of a TSRequest. */
const withResp = (ts: TsRequest, f: (r: NegTokenResp) => NegTokenResp | null): TsRequest => {
  const r = f(resp(ts));
  const { negoTokens: _, ...rest } = ts;
  return r ? { ...rest, negoTokens: [encodeNegTokenResp(r)] } : rest;
};
const flipped = (b: Uint8Array, at: number): Buffer => {
  const x = Buffer.from(b);
  x[at]! ^= 0x01;
  return x;
};

describe('CredSSP over SPNEGO, our connector against our acceptor', () => {
  it('the tokens and sequence numbers on the wire', () => {
    const { c, s, up, down } = run();
    assert.equal(c.error, undefined, c.error?.message);
    assert.equal(s.summary.nla?.spnego, true);
    assert.equal(s.summary.nla?.credentials, 'password');
    const [negotiate, authenticate, credentials] = up;
    const init = decodeNegTokenInit(negotiate!.negoTokens![0]!);
    assert.deepEqual(init.mechTypes, [NTLMSSP_OID]);
    assert.equal(ntlmMessageType(init.mechToken!), NTLM_NEGOTIATE);
    assert.equal(init.mechListMIC, undefined);
    assert.equal(Buffer.from(init.mechTypeListBytes!).toString('hex'), encodeMechTypeList([NTLMSSP_OID]).toString('hex'));
    const challenge = resp(down[0]);
    assert.deepEqual([challenge.negState, challenge.supportedMech, ntlmMessageType(challenge.responseToken!)], [NEG_STATE_ACCEPT_INCOMPLETE, NTLMSSP_OID, NTLM_CHALLENGE]);
    const auth = resp(authenticate);
    assert.equal(ntlmMessageType(auth.responseToken!), NTLM_AUTHENTICATE);
    assert.equal(auth.mechListMIC?.length, 16);
    assert.deepEqual([seqOf(auth.mechListMIC!), seqOf(authenticate!.pubKeyAuth!), seqOf(credentials!.authInfo!)], [0, 1, 2]);
    assert.equal(credentials!.negoTokens, undefined);
    const final = resp(down[1]);
    assert.equal(final.negState, NEG_STATE_ACCEPT_COMPLETED);
    assert.equal(final.responseToken, undefined);
    assert.deepEqual([seqOf(final.mechListMIC!), seqOf(down[1]!.pubKeyAuth!)], [0, 1]);
    assert.notEqual(Buffer.from(final.mechListMIC!).toString('hex'), Buffer.from(auth.mechListMIC!).toString('hex'), 'each direction has its keys');
  });

  it('raw NTLM is unchanged: no SPNEGO, no negoTokens next to the server\'s pubKeyAuth, pubKeyAuth at sequence 0', () => {
    const { c, s, up, down } = run({ spnego: false });
    assert.equal(c.error, undefined, c.error?.message);
    assert.equal(s.summary.nla?.spnego, false);
    assert.equal(classifyNegoToken(up[0]!.negoTokens![0]!), 'ntlm');
    assert.equal(down[1]!.negoTokens, undefined);
    assert.deepEqual([seqOf(up[1]!.pubKeyAuth!), seqOf(down[1]!.pubKeyAuth!), seqOf(up[2]!.authInfo!)], [0, 0, 1]);
  });

  it('authenticates for every client version, 2 to 6', () => {
    for (const version of [2, 3, 4, 5, 6]) {
      const { c, s } = run({ client: { version } });
      assert.equal(c.error, undefined, `v${version}: ${c.error?.message}`);
      assert.equal(c.result?.credssp?.stage, 'authenticated');
      assert.deepEqual([s.summary.nla?.user, s.summary.nla?.clientVersion, s.summary.nla?.spnego], ['alice', version, true]);
    }
  });

  it('a wrong password: errorCode for versions 3, 4 and 6, silence for 2 and 5', () => {
    for (const version of [2, 3, 4, 5, 6]) {
      const { c, s } = run({ client: { version, password: 'wrong' } });
      assert.equal(s.summary.outcome, 'refused');
      assert.equal(s.summary.nla?.status, 'STATUS_LOGON_FAILURE');
      if (version === 2 || version === 5) assert.equal(c.result?.credssp?.stage, 'authenticate-sent');
      else assert.equal(c.error?.value, NTSTATUS.STATUS_LOGON_FAILURE, `v${version}`);
    }
  });

  it('restricted admin, HYBRID_EX to activation, and the CHALLENGE alone without credentials', () => {
    const ra = run({ server: { restrictedAdmin: true }, negReqFlags: NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED, client: { restrictedAdmin: true } });
    assert.equal(ra.c.error, undefined, ra.c.error?.message);
    assert.equal(ra.s.summary.nla?.credentials, 'restricted-admin');
    const ex = run({ protocols: PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX, stopAfter: 'activation' });
    assert.equal(ex.c.error, undefined, ex.c.error?.message);
    assert.equal(ex.c.result?.selectedProtocol, PROTOCOL.HYBRID_EX);
    assert.equal(ex.s.summary.outcome, 'finalized');
    for (const k of [{ client: { noCredentials: true } }, { stopAfter: 'credssp-challenge' as const }]) {
      const { c, up } = run(k);
      assert.equal(c.error, undefined, c.error?.message);
      assert.equal(c.result?.credssp?.stage, 'challenge');
      assert.equal(c.result?.credssp?.challenge?.targetInfo?.nbComputerName !== undefined, true);
      assert.equal(classifyNegoToken(up[0]!.negoTokens![0]!), 'spnego-init');
    }
  });
});

describe('CredSSP over SPNEGO: the mechListMIC', () => {
  const authenticateLeg = (f: (r: NegTokenResp) => NegTokenResp | null): Tamper => (ts, i) => (i === 1 ? withResp(ts, f) : ts);
  const finalLeg = (f: (r: NegTokenResp) => NegTokenResp | null): Tamper => (ts, i) => (i === 1 ? withResp(ts, f) : ts);

  it('the client\'s mechListMIC damaged: SEC_E_MESSAGE_ALTERED, in errorCode from version 3', () => {
    for (const at of [0, 4, 11, 12]) {
      for (const version of [2, 6]) {
        const { c, s } = run({ client: { version }, toServer: authenticateLeg((r) => ({ ...r, mechListMIC: flipped(r.mechListMIC!, at) })) });
        assert.equal(s.summary.outcome, 'refused');
        assert.match(s.summary.reason, /mechListMIC does not verify/);
        assert.equal(s.summary.nla?.status, 'SEC_E_MESSAGE_ALTERED');
        assert.notEqual(c.result?.credssp?.stage, 'authenticated');
        if (version === 6) assert.deepEqual([c.error?.code, c.error?.value], ['CREDSSP_LOGON_FAILED', SEC_E_MESSAGE_ALTERED]);
      }
    }
  });

  it('the client\'s mechListMIC over another MechTypeList, or of another length: refused', () => {
    const { s } = run({ toServer: authenticateLeg((r) => ({ ...r, mechListMIC: r.mechListMIC!.subarray(0, 15) })) });
    assert.equal(s.summary.nla?.status, 'SEC_E_MESSAGE_ALTERED');
    // a MechTypeList of two mechanisms in the NegTokenInit: the client signed { NTLM } only
    const other = run({ toServer: (ts, i) => (i === 0 ? { ...ts, negoTokens: [encodeNegTokenInit({ ...decodeNegTokenInit(ts.negoTokens![0]!), mechTypes: [NTLMSSP_OID, KERBEROS_OID] })] } : ts) });
    assert.match(other.s.summary.reason, /mechListMIC does not verify/);
  });

  it('no mechListMIC from the client although its AUTHENTICATE carries a MIC: SEC_E_INVALID_TOKEN', () => {
    const { c, s } = run({ toServer: authenticateLeg(({ mechListMIC: _, ...r }) => r) });
    assert.equal(s.summary.outcome, 'refused');
    assert.match(s.summary.reason, /without a mechListMIC/);
    assert.equal(c.error?.value, SEC_E_INVALID_TOKEN);
  });

  it('the server\'s mechListMIC damaged, missing, or its final token missing: CREDSSP_ERROR before pubKeyAuth is used', () => {
    const cases: Tamper[] = [
      finalLeg((r) => ({ ...r, mechListMIC: flipped(r.mechListMIC!, 6) })),
      finalLeg((r) => ({ ...r, mechListMIC: flipped(r.mechListMIC!, 12) })),
      finalLeg(({ mechListMIC: _, ...r }) => r),
      finalLeg(() => null),
      finalLeg((r) => ({ ...r, negState: NEG_STATE_ACCEPT_INCOMPLETE })),
    ];
    for (const toClient of cases) {
      const { c } = run({ toClient });
      assert.equal(c.error?.code, 'CREDSSP_ERROR', c.error?.message);
      assert.match(c.error!.message, /SPNEGO/);
      assert.notEqual(c.result?.credssp?.stage, 'authenticated');
    }
  });

  it('the server\'s mechListMIC replayed from another exchange does not verify', () => {
    const other = run().down[1]!;
    const { c } = run({ toClient: (ts, i) => (i === 1 ? { ...ts, negoTokens: other.negoTokens! } : ts) });
    assert.equal(c.error?.code, 'CREDSSP_ERROR');
    assert.match(c.error!.message, /mechListMIC does not verify/);
  });
});

describe('CredSSP over SPNEGO: hostile tokens never throw anything untyped', () => {
  /** An acceptor past TLS with HYBRID, fed `frames` in order. */
  function acceptorAt(frames: Uint8Array[]): ServerAcceptor {
    const s = new ServerAcceptor(policy(), IDENTITY, randomBytes);
    s.step(encodeConnectionRequest({ negReq: { type: 'RDP_NEG_REQ', flags: 0, requestedProtocols: PROTOCOL.HYBRID } }));
    s.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY });
    for (const f of frames) s.step(f);
    return s;
  }

  /** A connector past TLS with HYBRID, fed the server's `frames` in order. */
  function connectorAt(frames: Uint8Array[]): ClientConnector {
    const c = new ClientConnector(clientConfig({}));
    c.step(null);
    c.step(Buffer.from('030000130ed000000000000203080002000000', 'hex')); // RDP_NEG_RSP HYBRID
    c.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY });
    for (const f of frames) if (!c.done) c.step(f);
    return c;
  }

  // the real exchange, once the CredSSP client half has loaded
  let real: ReturnType<typeof run>;
  let up: Uint8Array[];
  let down: Uint8Array[];
  before(() => {
    real = run();
    up = real.up.map((t) => encodeTsRequest(t));
    down = real.down.map((t) => encodeTsRequest(t));
  });
  const ok = (s: ServerAcceptor): boolean => s.done || s.phaseName === 'Credssp' || s.phaseName === 'ConnectInitial';
  const clientOk = (c: ClientConnector): void => {
    if (c.stateName === 'Failed') assert.ok(c.error && CLIENT_ERRORS.includes(c.error.code), c.error?.code);
  };

  const bytes = (max: number) => fc.uint8Array({ maxLength: max });
  const token = fc.oneof(
    fc.record({ negState: fc.option(fc.nat({ max: 3 }), { nil: undefined }), supportedMech: fc.option(fc.constantFrom(NTLMSSP_OID, KERBEROS_OID, '1.2.3'), { nil: undefined }), responseToken: fc.option(bytes(64), { nil: undefined }), mechListMIC: fc.option(bytes(20), { nil: undefined }) }, { requiredKeys: [] }).map((r) => encodeNegTokenResp(Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)))),
    fc.record({ mechTypes: fc.array(fc.constantFrom(NTLMSSP_OID, KERBEROS_OID), { maxLength: 3 }), mechToken: fc.option(bytes(64), { nil: undefined }) }).map((r) => encodeNegTokenInit(r.mechToken ? r : { mechTypes: r.mechTypes })),
    bytes(80),
  );

  it('the server, in every state, fed damaged real frames and random SPNEGO tokens', () => {
    assert.equal(up.length, 3);
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.nat(), fc.nat({ max: 255 }), token, fc.boolean(), (depth, at, value, tok, withPubKeyAuth) => {
        const damaged = Buffer.from(up[depth]!);
        damaged[at % damaged.length] = value;
        const s1 = acceptorAt([...up.slice(0, depth), damaged]);
        assert.ok(ok(s1));
        const ts: TsRequest = { version: 6, negoTokens: [tok], ...(withPubKeyAuth ? { pubKeyAuth: real.up[1]!.pubKeyAuth!, clientNonce: real.up[1]!.clientNonce! } : {}) };
        const s2 = acceptorAt([...up.slice(0, Math.min(depth, 1)), encodeTsRequest(ts)]);
        assert.ok(ok(s2));
      }),
      { numRuns: 400 },
    );
  });

  it('the client, in every state, fed damaged real frames and random SPNEGO tokens', () => {
    assert.equal(down.length, 2);
    fc.assert(
      fc.property(fc.nat({ max: 1 }), fc.nat(), fc.nat({ max: 255 }), token, fc.boolean(), (depth, at, value, tok, withPubKeyAuth) => {
        const damaged = Buffer.from(down[depth]!);
        damaged[at % damaged.length] = value;
        clientOk(connectorAt([...down.slice(0, depth), damaged]));
        const ts: TsRequest = { version: 6, negoTokens: [tok], ...(withPubKeyAuth ? { pubKeyAuth: real.down[1]!.pubKeyAuth! } : {}) };
        clientOk(connectorAt([...down.slice(0, depth), encodeTsRequest(ts)]));
      }),
      { numRuns: 400 },
    );
  });
});
