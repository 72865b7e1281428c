/**
 * The pubKeyAuth plaintexts of MS-CSSP 3.1.5: the key itself (versions 2-4, the server's with
 * its first byte plus one) and the SHA-256 binding hashes with the client nonce (5-6). The
 * real exchanges (the captures, sealed by xfreerdp and the FreeRDP server) are checked in
 * test/crypto/ntlm.test.ts; here the rules themselves, against an independent computation.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { pubKeyAuthMatches, pubKeyAuthPlaintext } from '../../src/crypto/credssp-binding.js';

const KEY = Buffer.from('3082010a0282010100c0ffee' + '11'.repeat(16), 'hex');
const NONCE = Buffer.alloc(32, 0xab);

describe('CredSSP pubKeyAuth binding', () => {
  it('versions 2-4: the key, and the key plus one from the server', () => {
    for (const v of [2, 3, 4]) {
      assert.deepEqual(pubKeyAuthPlaintext('client-to-server', v, KEY), KEY);
      const s = pubKeyAuthPlaintext('server-to-client', v, KEY);
      assert.equal(s[0], 0x31);
      assert.deepEqual(s.subarray(1), KEY.subarray(1));
    }
    // a carry runs into the next byte (little-endian increment, as FreeRDP does it)
    assert.deepEqual(pubKeyAuthPlaintext('server-to-client', 2, Buffer.from([0xff, 0x01])), Buffer.from([0x00, 0x02]));
  });

  it('versions 5-6: SHA-256 of the magic string with its NUL, the nonce and the key', () => {
    const h = (m: string) => createHash('sha256').update(Buffer.from(m + '\0', 'latin1')).update(NONCE).update(KEY).digest();
    for (const v of [5, 6]) {
      assert.deepEqual(pubKeyAuthPlaintext('client-to-server', v, KEY, NONCE), h('CredSSP Client-To-Server Binding Hash'));
      assert.deepEqual(pubKeyAuthPlaintext('server-to-client', v, KEY, NONCE), h('CredSSP Server-To-Client Binding Hash'));
    }
    assert.throws(() => pubKeyAuthPlaintext('client-to-server', 6, KEY), RangeError);
    assert.throws(() => pubKeyAuthPlaintext('client-to-server', 6, KEY, Buffer.alloc(16)), RangeError);
  });

  it('matches only the same key, nonce and direction', () => {
    const good = pubKeyAuthPlaintext('client-to-server', 6, KEY, NONCE);
    assert.ok(pubKeyAuthMatches(good, 'client-to-server', 6, KEY, NONCE));
    assert.ok(!pubKeyAuthMatches(good, 'server-to-client', 6, KEY, NONCE));
    assert.ok(!pubKeyAuthMatches(good, 'client-to-server', 6, Buffer.concat([KEY, Buffer.of(0)]), NONCE));
    assert.ok(!pubKeyAuthMatches(good, 'client-to-server', 6, KEY, Buffer.alloc(32)));
    assert.ok(!pubKeyAuthMatches(good.subarray(1), 'client-to-server', 6, KEY, NONCE));
    assert.ok(!pubKeyAuthMatches(KEY, 'client-to-server', 6, KEY, NONCE), 'a v2 answer to a v6 exchange');
  });
});
