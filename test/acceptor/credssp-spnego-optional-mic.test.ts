/**
 * The CredSSP server with a SPNEGO client whose NTLM AUTHENTICATE carries no MIC, which our own
 * client never sends: the MS-NLMP 4.2.4 example AUTHENTICATE (user "User", domain "Domain",
 * password "Password", RandomSessionKey 55 x 16, no MsvAvFlags), answering a CHALLENGE whose
 * ServerChallenge is forced to the example's 0123456789abcdef. Without an NTLM MIC the
 * mechListMIC is optional (RFC 4178 5; MS-SPNG appendix A makes it mandatory only with one):
 * - none sent: the server answers accept-completed without one, and its pubKeyAuth is its
 *   message 0 on a fresh keystream;
 * - one sent: the server verifies it and answers with its own, pubKeyAuth then at sequence 1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredsspServer } from '../../src/acceptor/credssp-server.js';
import { acceptorPolicy } from '../../src/acceptor/from-server-policy.js';
import { pubKeyAuthMatches, pubKeyAuthPlaintext } from '../../src/crypto/credssp-binding.js';
import { DEFAULT_NTLM_VERSION, XFREERDP_NEGOTIATE_FLAGS } from '../../src/crypto/ntlm-context.js';
import { NtlmSealer } from '../../src/crypto/ntlm.js';
import { decodeTsRequest, encodeTsRequest } from '../../src/pdu/credssp.js';
import { decodeAuthenticateMessage, encodeNegotiateMessage, NTLM_CHALLENGE, ntlmMessageType } from '../../src/pdu/ntlm.js';
import { NTSTATUS } from '../../src/pdu/ntstatus.js';
import { decodeNegTokenResp, encodeMechTypeList, encodeNegTokenInit, encodeNegTokenResp, NEG_STATE_ACCEPT_COMPLETED, NTLMSSP_OID } from '../../src/pdu/spnego.js';
import { preset } from '../../src/policy/presets.js';
import { NLMP_V2 as V, NLMP_V2_AUTHENTICATE, h } from '../pdu/fixtures-ntlm.js';

const KEY = Buffer.concat([h('3082010a02820101'), Buffer.alloc(257, 7), h('0203010001')]);
const NONCE = Buffer.alloc(32, 9);
const PASSWORD_HASH = h('a4f49c406510bdcab6824ee7c30fd852'); // MD4(UTF-16LE "Password"), MS-NLMP 4.2.2.1.2
const FLAGS = decodeAuthenticateMessage(NLMP_V2_AUTHENTICATE).flags;
const MECH_TYPES = encodeMechTypeList([NTLMSSP_OID]);

function serverAfterChallenge(): CredsspServer {
  const settings = acceptorPolicy(preset('windows-2019'), { accounts: () => undefined }).credssp!.settings;
  const s = new CredsspServer({
    settings,
    accounts: (user, domain) => (user === 'User' && domain === 'Domain' ? { ntHash: PASSWORD_HASH, status: NTSTATUS.STATUS_SUCCESS } : undefined),
    publicKey: KEY,
    restrictedAdminRequested: false,
    redirectedAuthenticationRequested: false,
    random: (n) => (n === 8 ? Buffer.from(V.serverChallenge) : Buffer.alloc(n)),
  });
  const negotiate = encodeNegotiateMessage({ flags: XFREERDP_NEGOTIATE_FLAGS, version: DEFAULT_NTLM_VERSION });
  const out = s.step(encodeTsRequest({ version: 6, negoTokens: [encodeNegTokenInit({ mechTypes: [NTLMSSP_OID], mechToken: negotiate })] }));
  const challenge = decodeNegTokenResp(decodeTsRequest(out.output[0]!).negoTokens![0]!).responseToken!;
  assert.equal(ntlmMessageType(challenge), NTLM_CHALLENGE);
  assert.equal(Buffer.from(challenge.subarray(24, 32)).toString('hex'), '0123456789abcdef');
  return s;
}

describe('CredSSP over SPNEGO, an AUTHENTICATE without an NTLM MIC (MS-NLMP 4.2.4)', () => {
  it('no mechListMIC: accepted; accept-completed without one; pubKeyAuth at sequence 0 both ways', () => {
    const s = serverAfterChallenge();
    const up = new NtlmSealer(V.randomSessionKey, FLAGS, 'client-to-server');
    const r = s.step(
      encodeTsRequest({
        version: 6,
        negoTokens: [encodeNegTokenResp({ responseToken: NLMP_V2_AUTHENTICATE })],
        pubKeyAuth: up.seal(pubKeyAuthPlaintext('client-to-server', 6, KEY, NONCE)),
        clientNonce: NONCE,
      }),
    );
    assert.equal(r.result, undefined, r.result && !r.result.ok ? r.result.reason : '');
    const answer = decodeTsRequest(r.output[0]!);
    const final = decodeNegTokenResp(answer.negoTokens![0]!);
    assert.deepEqual([final.negState, final.mechListMIC], [NEG_STATE_ACCEPT_COMPLETED, undefined]);
    assert.equal(Buffer.from(answer.pubKeyAuth!).readUInt32LE(12), 0);
    const down = new NtlmSealer(V.randomSessionKey, FLAGS, 'server-to-client');
    assert.ok(pubKeyAuthMatches(down.unseal(answer.pubKeyAuth!), 'server-to-client', 6, KEY, NONCE));
  });

  it('a mechListMIC all the same: verified, answered with ours, pubKeyAuth at sequence 1 after the resets', () => {
    const s = serverAfterChallenge();
    const up = new NtlmSealer(V.randomSessionKey, FLAGS, 'client-to-server');
    const mechListMIC = up.sign(MECH_TYPES);
    up.resetRc4();
    const r = s.step(
      encodeTsRequest({
        version: 6,
        negoTokens: [encodeNegTokenResp({ responseToken: NLMP_V2_AUTHENTICATE, mechListMIC })],
        pubKeyAuth: up.seal(pubKeyAuthPlaintext('client-to-server', 6, KEY, NONCE)),
        clientNonce: NONCE,
      }),
    );
    assert.equal(r.result, undefined, r.result && !r.result.ok ? r.result.reason : '');
    const answer = decodeTsRequest(r.output[0]!);
    const final = decodeNegTokenResp(answer.negoTokens![0]!);
    assert.equal(final.negState, NEG_STATE_ACCEPT_COMPLETED);
    const down = new NtlmSealer(V.randomSessionKey, FLAGS, 'server-to-client');
    down.verify(MECH_TYPES, final.mechListMIC!);
    down.resetRc4();
    assert.ok(pubKeyAuthMatches(down.unseal(answer.pubKeyAuth!), 'server-to-client', 6, KEY, NONCE));
  });
});
