import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Rc4, rc4 } from '../../src/crypto/rc4.js';

/** RC4 as the textbook writes it, one byte at a time: what the optimised Rc4 must equal. */
function textbookRc4(key: Uint8Array, data: Uint8Array): Buffer {
  const s = Array.from({ length: 256 }, (_, k) => k);
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  let i = 0;
  j = 0;
  for (let k = 0; k < data.length; k++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = data[k]! ^ s[(s[i]! + s[j]!) & 0xff]!;
  }
  return out;
}

/** `data` copied to `offset` bytes into a fresh buffer: a view at any alignment. */
function at(offset: number, data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(offset + data.length + 3);
  buf.set(data, offset);
  return buf.subarray(offset, offset + data.length);
}

/**
 * RFC 6229 section 2: keystream of the keys 0x0102... at 18 offsets. Tables for the 40-, 56-,
 * 64-, 80- and 128-bit keys (the 64-bit table matters most: RDP's 40-bit and 56-bit methods use
 * 8-byte RC4 keys, the 128-bit method 16-byte ones).
 */
const OFFSETS = [0, 16, 240, 256, 496, 512, 752, 768, 1008, 1024, 1520, 1536, 2032, 2048, 3056, 3072, 4080, 4096];
const RFC6229: Record<string, string[]> = {
  '0102030405': [
    'b2396305f03dc027ccc3524a0a1118a8', '6982944f18fc82d589c403a47a0d0919', '28cb1132c96ce286421dcaadb8b69eae',
    '1cfcf62b03eddb641d77dfcf7f8d8c93', '42b7d0cdd918a8a33dd51781c81f4041', '6459844432a7da923cfb3eb4980661f6',
    'ec10327bde2beefd18f9277680457e22', 'eb62638d4f0ba1fe9fca20e05bf8ff2b', '45129048e6a0ed0b56b490338f078da5',
    '30abbcc7c20b01609f23ee2d5f6bb7df', '3294f744d8f9790507e70f62e5bbceea', 'd8729db41882259bee4f825325f5a130',
    '1eb14a0c13b3bf47fa2a0ba93ad45b8b', 'cc582f8ba9f265e2b1be9112e975d2d7', 'f2e30f9bd102ecbf75aaade9bc35c43c',
    'ec0e11c479dc329dc8da7968fe965681', '068326a2118416d21f9d04b2cd1ca050', 'ff25b58995996707e51fbdf08b34d875',
  ],
  '01020304050607': [
    '293f02d47f37c9b633f2af5285feb46b', 'e620f1390d19bd84e2e0fd752031afc1', '914f02531c9218810df60f67e338154c',
    'd0fdb583073ce85ab83917740ec011d5', '75f81411e871cffa70b90c74c592e454', '0bb87202938dad609e87a5a1b079e5e4',
    'c2911246b612e7e7b903dfeda1dad866', '32828f91502b6291368de8081de36fc2', 'f3b9a7e3b297bf9ad804512f9063eff1',
    '8ecb67a9ba1f55a5a067e2b026a3676f', 'd2aa902bd42d0d7cfd340cd45810529f', '78b272c96e42eab4c60bd914e39d06e3',
    'f4332fd31a079396ee3cee3f2a4ff049', '05459781d41fda7f30c1be7e1246c623', 'adfd3868b8e51485d5e610017e3dd609',
    'ad26581c0c5be45f4cea01db2f3805d5', 'f3172ceffc3b3d997c85ccd5af1a950c', 'e74b0b9731227fd37c0ec08a47ddd8b8',
  ],
  '0102030405060708': [
    '97ab8a1bf0afb96132f2f67258da15a8', '8263efdb45c4a18684ef87e6b19e5b09', '9636ebc9841926f4f7d1f362bddf6e18',
    'd0a990ff2c05fef5b90373c9ff4b870a', '73239f1db7f41d80b643c0c52518ec63', '163b319923a6bdb4527c626126703c0f',
    '49d6c8af0f97144a87df21d91472f966', '44173a103b6616c5d5ad1cee40c863d0', '273c9c4b27f322e4e716ef53a47de7a4',
    'c6d0e7b226259fa9023490b26167ad1d', '1fe8986713f07c3d9ae1c163ff8cf9d3', '8369e1a965610be887fbd0c79162aafb',
    '0a0127abb44484b9fbef5abcae1b579f', 'c2cdadc6402e8ee866e1f37bdb47e42c', '26b51ea37df8e1d6f76fc3b66a7429b3',
    'bc7683205d4f443dc1f29dda3315c87b', 'd5fa5a3469d29aaaf83d23589db8c85b', '3fb46e2c8f0f068edce8cdcd7dfc5862',
  ],
  '0102030405060708090a': [
    'ede3b04643e586cc907dc21851709902', '03516ba78f413beb223aa5d4d2df6711', '3cfd6cb58ee0fdde640176ad0000044d',
    '48532b21fb6079c9114c0ffd9c04a1ad', '3e8cea98017109979084b1ef92f99d86', 'e20fb49bdb337ee48b8d8dc0f4afeffe',
    '5c2521eacd7966f15e056544bea0d315', 'e067a7031931a246a6c3875d2f678acb', 'a64f70af88ae56b6f87581c0e23e6b08',
    'f449031de312814ec6f319291f4a0516', 'bdae85924b3cb1d0a2e33a30c6d79599', '8a0feddbac865a09bcd127fb562ed60a',
    'b55a0a5b51a12a8be34899c3e047511a', 'd9a09cea3ce75fe39698070317a71339', '552225ed1177f44584ac8cfa6c4eb5fc',
    '7e82cbabfc95381b080998442129c2f8', '1f135ed14ce60a91369d2322bef25e3c', '08b6be45124a43e2eb77953f84dc8553',
  ],
  '0102030405060708090a0b0c0d0e0f10': [
    '9ac7cc9a609d1ef7b2932899cde41b97', '5248c4959014126a6e8a84f11d1a9e1c', '065902e4b620f6cc36c8589f66432f2b',
    'd39d566bc6bce3010768151549f3873f', 'b6d1e6c4a5e4771cad79538df295fb11', 'c68c1d5c559a974123df1dbc52a43b89',
    'c5ecf88de897fd57fed301701b82a259', 'eccbe13de1fcc91c11a0b26c0bc8fa4d', 'e7a72574f8782ae26aabcf9ebcd66065',
    'bdf0324e6083dcc6d3cedd3ca8c53c16', 'b40110c4190b5622a96116b0017ed297', 'ffa0b514647ec04f6306b892ae661181',
    'd03d1bc03cd33d70dff9fa5d71963ebd', '8a44126411eaa78bd51e8d87a8879bf5', 'fabeb76028ade2d0e48722e46c4615a3',
    'c05d88abd50357f935a63c59ee537623', 'ff38265c1642c1abe8d3c2fe5e572bf8', 'a36a4c301ae8ac13610ccbc12256cacc',
  ],
};

describe('RC4 (RFC 6229 section 2)', () => {
  for (const [key, rows] of Object.entries(RFC6229)) {
    it(`${(key.length / 2) * 8}-bit key 0x${key}: keystream at all 18 offsets`, () => {
      const ks = new Rc4(Buffer.from(key, 'hex')).update(new Uint8Array(4112));
      OFFSETS.forEach((off, i) => assert.equal(ks.subarray(off, off + 16).toString('hex'), rows[i], `offset ${off}`));
    });
  }

  it('discard skips keystream', () => {
    const r = new Rc4(Buffer.from('0102030405', 'hex'));
    r.discard(4096);
    assert.equal(r.update(new Uint8Array(16)).toString('hex'), RFC6229['0102030405']![17]);
  });
});

describe('RC4 classic vectors', () => {
  // the Wikipedia "RC4" article's examples (also in many RC4 test suites)
  it('"Key" / "Plaintext", "Wiki" / "pedia", "Secret" / "Attack at dawn"', () => {
    assert.equal(rc4(Buffer.from('Key'), Buffer.from('Plaintext')).toString('hex'), 'bbf316e8d940af0ad3');
    assert.equal(rc4(Buffer.from('Wiki'), Buffer.from('pedia')).toString('hex'), '1021bf0420');
    assert.equal(rc4(Buffer.from('Secret'), Buffer.from('Attack at dawn')).toString('hex'), '45a01f645fc35b383552544b9bf5');
  });

  it('refuses empty and oversized keys', () => {
    assert.throws(() => new Rc4(new Uint8Array(0)), RangeError);
    assert.throws(() => new Rc4(new Uint8Array(257)), RangeError);
    assert.doesNotThrow(() => new Rc4(new Uint8Array(256)));
  });
});

describe('RC4 streaming', () => {
  it('any split of the input gives the one-shot result; decrypt(encrypt(x)) == x', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 6 }), (key, data, cuts) => {
        const whole = rc4(key, data);
        const r = new Rc4(key);
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const parts: Buffer[] = [];
        let at = 0;
        for (const p of [...points, data.length]) {
          parts.push(r.update(data.subarray(at, p)));
          at = p;
        }
        assert.equal(Buffer.concat(parts).toString('hex'), whole.toString('hex'));
        assert.equal(rc4(key, whole).toString('hex'), Buffer.from(data).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('RC4 equals the textbook algorithm and OpenSSL', () => {
  const key = fc.uint8Array({ minLength: 1, maxLength: 256 });

  it('any split, at any alignment, gives the textbook keystream (word loop, byte tail, state carried over)', () => {
    fc.assert(
      fc.property(key, fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(3000), { maxLength: 8 }), fc.array(fc.nat(3), { minLength: 9, maxLength: 9 }), (k, data, cuts, offsets) => {
        const expected = textbookRc4(k, data);
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const r = new Rc4(k);
        const parts: Buffer[] = [];
        let from = 0;
        for (const [n, p] of [...points, data.length].entries()) {
          parts.push(r.update(at(offsets[n]!, data.subarray(from, p))));
          from = p;
        }
        assert.equal(Buffer.concat(parts).toString('hex'), expected.toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('interleaved instances keep their own state', () => {
    fc.assert(
      fc.property(key, key, fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })), { maxLength: 12 }), (k1, k2, steps) => {
        const a = new Rc4(k1);
        const b = new Rc4(k2);
        const outA: Buffer[] = [];
        const outB: Buffer[] = [];
        const inA: Uint8Array[] = [];
        const inB: Uint8Array[] = [];
        for (const [first, data] of steps) {
          (first ? outA : outB).push((first ? a : b).update(data));
          (first ? inA : inB).push(data);
        }
        assert.equal(Buffer.concat(outA).toString('hex'), textbookRc4(k1, Buffer.concat(inA)).toString('hex'));
        assert.equal(Buffer.concat(outB).toString('hex'), textbookRc4(k2, Buffer.concat(inB)).toString('hex'));
      }),
      { numRuns: 200 },
    );
  });

  it("random keys and data: the same bytes as OpenSSL's RC4 (node --openssl-legacy-provider)", (t) => {
    const cases = Array.from({ length: 64 }, (_, n) => ({
      key: randomBytes(1 + ((n * 37) % 256)).toString('hex'),
      data: randomBytes((n * 997) % 20000).toString('hex'),
    }));
    const script = `
      const { createCipheriv } = require('node:crypto');
      let input = '';
      process.stdin.on('data', (d) => (input += d)).on('end', () => {
        try {
          const out = JSON.parse(input).map((c) => {
            const e = createCipheriv('rc4', Buffer.from(c.key, 'hex'), null);
            return Buffer.concat([e.update(Buffer.from(c.data, 'hex')), e.final()]).toString('hex');
          });
          process.stdout.write(JSON.stringify(out));
        } catch (err) {
          process.stdout.write(JSON.stringify({ unavailable: err.message }));
        }
      });`;
    const r = spawnSync(process.execPath, ['--openssl-legacy-provider', '-e', script], {
      input: JSON.stringify(cases),
      encoding: 'utf8',
      timeout: 30_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.ok(!r.error && r.status === 0, `the OpenSSL child failed: ${r.error?.message ?? `exit ${r.status}`} ${r.stderr}`);
    const answer = JSON.parse(r.stdout) as string[] | { unavailable: string };
    if (!Array.isArray(answer)) {
      t.skip(`OpenSSL's RC4 is not available: ${answer.unavailable}`);
      return;
    }
    assert.equal(answer.length, cases.length);
    cases.forEach((c, n) => {
      const ours = new Rc4(Buffer.from(c.key, 'hex'));
      const data = Buffer.from(c.data, 'hex');
      const half = data.length >> 1;
      const got = Buffer.concat([ours.update(at(n % 4, data.subarray(0, half))), ours.update(data.subarray(half))]);
      assert.equal(got.toString('hex'), answer[n], `case ${n}: ${c.key.length / 2}-byte key, ${data.length} bytes`);
    });
  });
});

describe('RC4 clone', () => {
  it('a clone continues the keystream where the original is, and the two are independent', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.nat({ max: 300 }), fc.uint8Array({ maxLength: 200 }), (key, skip, data) => {
        const a = new Rc4(key);
        a.discard(skip);
        const b = a.clone();
        const fromClone = b.update(data);
        b.update(data); // advancing the clone does not move the original
        assert.equal(a.update(data).toString('hex'), fromClone.toString('hex'));
        assert.equal(fromClone.toString('hex'), textbookRc4(key, Buffer.concat([Buffer.alloc(skip), data])).subarray(skip).toString('hex'));
      }),
      { numRuns: 200 },
    );
  });
});
