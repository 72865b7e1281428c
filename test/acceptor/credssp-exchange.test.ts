/**
 * CredSSP between our connector and our acceptor, in memory (the TLS handshake is the only
 * thing skipped: both sides are handed the same public key, or different ones for the
 * man-in-the-middle case). Real peers are in test/peers/serve-nla.test.ts and
 * test/peers/probe-nla.test.ts; here every combination the policies allow:
 * - the CVE-2018-0886 matrix of KB4295591 (fact sheet section 4): server version and
 *   AllowEncryptionOracle x client version and AllowEncryptionOracle;
 * - a wrong password answered with errorCode for client versions 3, 4, 6 and not 2, 5;
 * - account states, restricted admin, HYBRID_EX's Early User Authorization Result, a
 *   pubKeyAuth for another key;
 * - random and damaged TSRequests in every CredSSP state.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ServerAcceptor } from '../../src/acceptor/acceptor.js';
import { acceptorPolicy, type AcceptorPolicyOptions } from '../../src/acceptor/from-server-policy.js';
import { ServerIdentity } from '../../src/acceptor/server-identity.js';
import { ClientConnector, type ConnectorConfig } from '../../src/connector/connector.js';
import { DEFAULT_CLIENT_DATA } from '../../src/connector/mcs-connect.js';
import { generateRsaKeyPairLE } from '../../src/crypto/rsa.js';
import { NEG_REQ_FLAGS, PROTOCOL } from '../../src/pdu/nego.js';
import { NTSTATUS } from '../../src/pdu/ntstatus.js';
import { encodeConnectionRequest } from '../../src/pdu/x224.js';
import { preset } from '../../src/policy/presets.js';
import type { CredsspPolicy } from '../../src/policy/server-policy.js';
import { ACCOUNT_STATES, parseUsersFile } from '../../src/policy/users-file.js';
import { loadCredsspClient } from '../../src/connector/credssp-loader.js';

// CredSSP's client half loads on demand (connector/credssp-loader.ts)
before(() => loadCredsspClient());

const IDENTITY = new ServerIdentity(generateRsaKeyPairLE(1024));
/** Two different RSAPublicKey-shaped blobs: the server's TLS key and a man in the middle's. */
const SERVER_KEY = Buffer.concat([Buffer.from('3082010a02820101', 'hex'), randomBytes(257), Buffer.from('0203010001', 'hex')]);
const OTHER_KEY = Buffer.concat([Buffer.from('3082010a02820101', 'hex'), randomBytes(257), Buffer.from('0203010001', 'hex')]);
const ALICE_HASH = '10b2f1961375b20126508c2267862bf0'; // S3cret!

function accounts(text = `alice::${ALICE_HASH}\nbob::${ALICE_HASH}:locked\ncarol::${ALICE_HASH}:password-expired\n`): AcceptorPolicyOptions['accounts'] {
  const d = parseUsersFile(text);
  return (user, domain) => {
    const a = d.find(user, domain);
    return a ? { ntHash: a.ntHash, status: ACCOUNT_STATES[a.state] } : undefined;
  };
}

interface Case {
  server?: Partial<CredsspPolicy>;
  presetName?: string;
  client?: { version?: number; allowEncryptionOracle?: 0 | 1 | 2; user?: string; password?: string; restrictedAdmin?: boolean; remoteGuard?: boolean };
  protocols?: number;
  negReqFlags?: number;
  stopAfter?: ConnectorConfig['stopAfter'];
  clientKey?: Buffer;
}

function run(k: Case) {
  const policy = acceptorPolicy(preset(k.presetName ?? 'windows-2019'), { accounts: accounts(), ...(k.server ? { credssp: k.server } : {}) });
  const s = new ServerAcceptor(policy, IDENTITY, randomBytes);
  const user = k.client?.user ?? 'alice';
  const password = k.client?.password ?? 'S3cret!';
  const c = new ClientConnector({
    requestedProtocols: k.protocols ?? PROTOCOL.SSL | PROTOCOL.HYBRID,
    ...(k.negReqFlags !== undefined ? { negReqFlags: k.negReqFlags } : {}),
    stopAfter: k.stopAfter ?? 'credssp',
    clientData: DEFAULT_CLIENT_DATA,
    credssp: {
      ...(k.client?.version !== undefined ? { version: k.client.version } : {}),
      ...(k.client?.allowEncryptionOracle !== undefined ? { allowEncryptionOracle: k.client.allowEncryptionOracle } : {}),
      credentials: {
        user,
        domain: '',
        // the NT hash of the password the client typed (only alice's is known here)
        ntHash: password === 'S3cret!' ? Buffer.from(ALICE_HASH, 'hex') : Buffer.alloc(16, 0x42),
        password: Buffer.from(password, 'utf16le'),
        ...(k.client?.restrictedAdmin ? { restrictedAdmin: true } : {}),
        ...(k.client?.remoteGuard ? { remoteGuard: { packageName: 'Kerberos', credBuffer: Buffer.from('opaque KERB_TICKET_LOGON') } } : {}),
      },
    },
  });
  const toClient: Uint8Array[] = [];
  const toServer = (outputs: Uint8Array[]): void => {
    for (const o of outputs) toClient.push(...s.step(o).output);
  };
  toServer(c.step(null).output);
  let guard = 0;
  while (!c.done && guard++ < 200) {
    if (c.pause) {
      s.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY });
      toServer(c.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: k.clientKey ?? SERVER_KEY }).output);
      continue;
    }
    const next = toClient.shift();
    if (!next) break; // the server closed without a word
    toServer(c.step(next).output);
  }
  return { c, s };
}

/** KB4295591's matrix (fact sheet section 4): who blocks whom. */
function expected(serverMax: number, serverForce: boolean, clientVersion: number, clientAeo: 0 | 1 | 2): 'ok' | 'server-blocks' | 'client-blocks' {
  const serverPatched = serverMax >= 5;
  const clientPatched = clientVersion >= 5;
  if (serverPatched && !clientPatched && serverForce) return 'server-blocks';
  if (!serverPatched && clientPatched && clientAeo !== 2) return 'client-blocks';
  return 'ok';
}

describe('CredSSP, our connector against our acceptor', () => {
  it('authenticates with the right password, for every client version', () => {
    for (const version of [2, 3, 4, 5, 6]) {
      const { c, s } = run({ client: { version } });
      assert.equal(c.error, undefined, `v${version}: ${c.error?.message}`);
      assert.equal(c.result?.credssp?.stage, 'authenticated');
      assert.equal(s.summary.nla?.user, 'alice');
      assert.equal(s.summary.nla?.credentials, 'password');
      assert.equal(s.summary.nla?.clientVersion, version);
    }
  });

  describe('the CVE-2018-0886 matrix (KB4295591)', () => {
    for (const serverMax of [2, 3, 4, 6]) {
      for (const force of serverMax >= 5 ? [false, true] : [false]) {
        for (const clientVersion of [2, 4, 5, 6]) {
          for (const aeo of [0, 1, 2] as const) {
            const want = expected(serverMax, force, clientVersion, aeo);
            it(`server v${serverMax}${force ? ' Force' : ''}, client v${clientVersion} AllowEncryptionOracle=${aeo}: ${want}`, () => {
              const server: Partial<CredsspPolicy> = { versions: Array.from({ length: serverMax - 1 }, (_, i) => i + 2), checkNonce: force };
              const { c, s } = run({ server, client: { version: clientVersion, allowEncryptionOracle: aeo } });
              if (want === 'ok') {
                assert.equal(c.error, undefined, c.error?.message);
                assert.equal(s.summary.nla?.user, 'alice');
              } else if (want === 'client-blocks') {
                assert.equal(c.error?.code, 'CREDSSP_ORACLE_REMEDIATION');
                assert.equal(c.error?.value, NTSTATUS.SEC_E_UNSUPPORTED_FUNCTION);
                assert.notEqual(s.summary.outcome, 'finalized');
              } else {
                assert.equal(s.summary.outcome, 'refused');
                assert.match(s.summary.reason, /Force Updated Clients/);
                assert.notEqual(c.result?.credssp?.stage, 'authenticated');
              }
            });
          }
        }
      }
    }
  });

  it('answers a wrong password with errorCode for client versions 3, 4 and 6, and with silence for 2 and 5', () => {
    for (const version of [2, 3, 4, 5, 6]) {
      const { c, s } = run({ client: { version, password: 'wrong' } });
      assert.equal(s.summary.outcome, 'refused');
      assert.equal(s.summary.nla?.status, 'STATUS_LOGON_FAILURE');
      if (version === 2 || version === 5) {
        assert.equal(c.done, false, 'the client is left waiting: the server closes');
        assert.equal(c.result?.credssp?.stage, 'authenticate-sent');
      } else {
        assert.equal(c.error?.code, 'CREDSSP_LOGON_FAILED', `v${version}`);
        assert.equal(c.error?.value, NTSTATUS.STATUS_LOGON_FAILURE);
      }
    }
  });

  it('closes without errorCode when the policy says so (FreeRDP 2.11 shadow server)', () => {
    const { c, s } = run({ presetName: 'freerdp-shadow-nla', client: { password: 'wrong' } });
    assert.equal(s.summary.outcome, 'refused');
    assert.equal(c.done, false);
  });

  it('reports an unknown user as a logon failure, like a wrong password', () => {
    const { c } = run({ client: { user: 'mallory' } });
    assert.equal(c.error?.value, NTSTATUS.STATUS_LOGON_FAILURE);
  });

  it('ends a right password on a locked or expired account with the account state', () => {
    assert.equal(run({ client: { user: 'bob' } }).c.error?.value, NTSTATUS.STATUS_ACCOUNT_LOCKED_OUT);
    assert.equal(run({ client: { user: 'carol' } }).c.error?.value, NTSTATUS.STATUS_PASSWORD_EXPIRED);
  });

  it('refuses a pubKeyAuth made for another TLS key (the man-in-the-middle check)', () => {
    for (const version of [2, 6]) {
      const { c, s } = run({ client: { version }, clientKey: OTHER_KEY });
      assert.equal(s.summary.outcome, 'refused');
      assert.match(s.summary.reason, /pubKeyAuth does not match/);
      assert.notEqual(c.result?.credssp?.stage, 'authenticated');
    }
  });

  it('sends the Early User Authorization Result for HYBRID_EX and goes on to activation', () => {
    const { c, s } = run({ protocols: PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX, stopAfter: 'activation' });
    assert.equal(c.error, undefined, c.error?.message);
    assert.equal(c.result?.selectedProtocol, PROTOCOL.HYBRID_EX);
    assert.equal(s.summary.outcome, 'finalized');
    assert.equal(s.summary.nla?.user, 'alice');
  });

  it('goes on to activation after HYBRID', () => {
    const { c, s } = run({ stopAfter: 'activation' });
    assert.equal(c.error, undefined, c.error?.message);
    assert.equal(s.summary.outcome, 'finalized');
  });

  it('accepts restricted admin only when the policy allows it and the client asked for it', () => {
    const ok = run({ server: { restrictedAdmin: true }, negReqFlags: NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED, client: { restrictedAdmin: true } });
    assert.equal(ok.c.error, undefined, ok.c.error?.message);
    assert.equal(ok.s.summary.nla?.credentials, 'restricted-admin');
    assert.ok((ok.c.result?.confirm.negotiation as { flags: number }).flags & 0x08, 'RESTRICTED_ADMIN_MODE_SUPPORTED');
    const off = run({ negReqFlags: NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED, client: { restrictedAdmin: true } });
    assert.equal(off.s.summary.outcome, 'refused');
    assert.match(off.s.summary.reason, /restricted admin/);
    const unasked = run({ server: { restrictedAdmin: true }, client: { restrictedAdmin: true } });
    assert.equal(unasked.s.summary.outcome, 'refused');
  });

  it('accepts Remote Credential Guard credentials only when the policy allows it and the client asked for it', () => {
    const flag = NEG_REQ_FLAGS.REDIRECTED_AUTHENTICATION_MODE_REQUIRED;
    const ok = run({ server: { redirectedAuthentication: true }, negReqFlags: flag, client: { remoteGuard: true } });
    assert.equal(ok.s.summary.nla?.credentials, 'remote-guard', ok.s.summary.reason);
    assert.ok((ok.c.result?.confirm.negotiation as { flags: number }).flags & 0x10, 'REDIRECTED_AUTHENTICATION_MODE_SUPPORTED');
    assert.match(run({ negReqFlags: flag, client: { remoteGuard: true } }).s.summary.reason, /Remote Credential Guard/);
    assert.match(run({ server: { redirectedAuthentication: true }, client: { remoteGuard: true } }).s.summary.reason, /REDIRECTED_AUTHENTICATION_MODE_REQUIRED/);
  });

  it('never throws on random or damaged TSRequests in any CredSSP state', () => {
    // the real client's TSRequests, to damage
    const frames: Uint8Array[] = [];
    {
      const policy = acceptorPolicy(preset('windows-2019'), { accounts: accounts() });
      const s = new ServerAcceptor(policy, IDENTITY, randomBytes);
      const c = new ClientConnector({ requestedProtocols: PROTOCOL.HYBRID, stopAfter: 'credssp', clientData: DEFAULT_CLIENT_DATA, credssp: { credentials: { user: 'alice', domain: '', ntHash: Buffer.from(ALICE_HASH, 'hex'), password: Buffer.from('S3cret!', 'utf16le') } } });
      let pending = [...c.step(null).output];
      for (let i = 0; i < 20 && !c.done; i++) {
        if (c.pause) {
          s.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY });
          pending = [...c.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY }).output];
          frames.push(...pending);
        }
        const back = pending.flatMap((o) => s.step(o).output);
        pending = back.flatMap((b) => [...c.step(b).output]);
        frames.push(...pending);
      }
    }
    assert.ok(frames.length >= 3, 'NEGOTIATE, AUTHENTICATE, authInfo');
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat({ max: 255 }), (depth, junk, at, value) => {
        const policy = acceptorPolicy(preset('windows-2019'), { accounts: accounts() });
        const s = new ServerAcceptor(policy, IDENTITY, randomBytes);
        s.step(encodeConnectionRequest({ negReq: { type: 'RDP_NEG_REQ', flags: 0, requestedProtocols: PROTOCOL.HYBRID } }));
        s.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY });
        for (let i = 0; i < depth && i < frames.length; i++) s.step(frames[i]!);
        const base = frames[Math.min(depth, frames.length - 1)]!;
        const damaged = Buffer.from(base);
        damaged[at % damaged.length] = value;
        s.step(damaged);
        s.step(junk);
        assert.ok(s.done || s.phaseName === 'Credssp' || s.phaseName === 'ConnectInitial');
      }),
      { numRuns: 500 },
    );
  });
});

describe('CredSSP, the client side fed hostile servers', () => {
  /** The server's real TSRequests of one exchange (CHALLENGE, pubKeyAuth), to damage. */
  function serverFrames(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const policy = acceptorPolicy(preset('windows-2019'), { accounts: accounts() });
    const s = new ServerAcceptor(policy, IDENTITY, randomBytes);
    const c = new ClientConnector(clientConfig());
    let pending = [...c.step(null).output];
    for (let i = 0; i < 20 && !c.done; i++) {
      if (c.pause) {
        s.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY });
        pending = [...c.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY }).output];
      }
      const back = pending.flatMap((o) => s.step(o).output);
      out.push(...back.filter((b) => b[0] === 0x30));
      pending = back.flatMap((b) => [...c.step(b).output]);
    }
    return out;
  }

  function clientConfig(): ConnectorConfig {
    return {
      requestedProtocols: PROTOCOL.SSL | PROTOCOL.HYBRID,
      stopAfter: 'credssp',
      clientData: DEFAULT_CLIENT_DATA,
      credssp: { credentials: { user: 'alice', domain: '', ntHash: Buffer.from(ALICE_HASH, 'hex'), password: Buffer.from('S3cret!', 'utf16le') } },
    };
  }

  /** A connector past TLS with HYBRID selected, waiting for the server's first TSRequest. */
  function afterTls(): ClientConnector {
    const c = new ClientConnector(clientConfig());
    c.step(null);
    c.step(Buffer.from('030000130ed000000000000203080002000000', 'hex')); // RDP_NEG_RSP HYBRID (shadow-nla capture)
    c.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: SERVER_KEY });
    assert.equal(c.stateName, 'Credssp');
    return c;
  }

  it('ends every damaged or random server TSRequest with a typed error, never a throw', () => {
    const frames = serverFrames();
    assert.equal(frames.length, 2, 'CHALLENGE and pubKeyAuth');
    fc.assert(
      fc.property(fc.nat({ max: 1 }), fc.nat(), fc.nat({ max: 255 }), fc.uint8Array({ maxLength: 200 }), (depth, at, value, junk) => {
        const c = afterTls();
        // the first frames as they came (a replay: the server's CHALLENGE of another exchange)
        for (let i = 0; i < depth && !c.done; i++) c.step(frames[i]!);
        const damaged = Buffer.from(frames[depth]!);
        damaged[at % damaged.length] = value;
        if (!c.done) c.step(damaged);
        if (!c.done) c.step(junk);
        if (c.stateName === 'Failed') assert.ok(c.error && ['DECODE_ERROR', 'CREDSSP_ERROR', 'CREDSSP_LOGON_FAILED', 'CREDSSP_PUBKEY_MISMATCH', 'CREDSSP_ORACLE_REMEDIATION'].includes(c.error.code), c.error?.code);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a replayed pubKeyAuth from another exchange (another session key)', () => {
    const [, otherPubKeyAuth] = serverFrames();
    const c = afterTls();
    const [challenge] = serverFrames();
    c.step(challenge!); // a CHALLENGE of another exchange: our AUTHENTICATE answers it
    c.step(otherPubKeyAuth!); // sealed with that other exchange's keys
    assert.equal(c.stateName, 'Failed');
    assert.ok(['CREDSSP_ERROR', 'CREDSSP_PUBKEY_MISMATCH'].includes(c.error!.code), c.error!.message);
  });
});
