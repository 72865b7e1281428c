/**
 * RC4 (ARCFOUR), the stream cipher of Standard RDP Security (MS-RDPBCGR 5.3.6.1) and of its key
 * update (5.3.7.1). Node 20's OpenSSL 3 no longer offers RC4 (it lives in the legacy provider,
 * which Node does not load), so this is our own small implementation of the algorithm as
 * described in [SCHNEIER] section 17.1, checked against RFC 6229's test vectors.
 *
 * One instance is one keystream: `update` continues where the previous call stopped, as RDP
 * needs (one RC4 stream per direction, re-keyed only every 4096 packets).
 */

export class Rc4 {
  /** the substitution table S */
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  /** Key schedule (KSA) with a 1..256-byte key. */
  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 256) throw new RangeError(`rc4 key of ${key.length} bytes is not 1..256`);
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      const t = s[k]!;
      j = (j + t + key[k % key.length]!) & 0xff;
      s[k] = s[j]!;
      s[j] = t;
    }
  }

  /** XOR `data` with the next data.length keystream bytes (PRGA); returns a new buffer. */
  update(data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < data.length; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      out[k] = data[k]! ^ s[(si + sj) & 0xff]!;
    }
    this.i = i;
    this.j = j;
    return out;
  }

  /** Skip n keystream bytes (RFC 6229 lists keystream at offsets up to 4096). */
  discard(n: number): void {
    this.update(new Uint8Array(n));
  }
}

/** One-shot RC4: a fresh keystream from `key` applied to `data`. */
export function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  return new Rc4(key).update(data);
}
