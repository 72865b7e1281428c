/**
 * RC4 (ARCFOUR), the stream cipher of Standard RDP Security (MS-RDPBCGR 5.3.6.1) and of its key
 * update (5.3.7.1). Node 20's OpenSSL 3 no longer offers RC4 (it lives in the legacy provider,
 * which Node does not load), so this is our own small implementation of the algorithm as
 * described in [SCHNEIER] section 17.1, checked against RFC 6229's test vectors and, in
 * test/crypto, against OpenSSL's RC4 (legacy provider) on random keys and data.
 *
 * One instance is one keystream: `update` continues where the previous call stopped, as RDP
 * needs (one RC4 stream per direction, re-keyed only every 4096 packets).
 *
 * Speed (`npm run bench:crypto` measures it against OpenSSL's RC4), as measured in V8 (Node 20):
 * - the state is an Int32Array (a Uint8Array is no faster), and `update` works on one
 *   module-level table, WORK, copied in from the instance and back out around the loop (2 x 1 KiB,
 *   negligible): V8 then knows the table and its length and drops most bounds checks, ~30%;
 * - `update` copies the input into the output buffer once (a native memcpy), then XORs it 32 bits
 *   at a time with four keystream bytes assembled in a register: about twice as fast as the
 *   one-byte-at-a-time loop, whatever the input's alignment (the output buffer is 4-byte
 *   aligned; a byte loop handles the last 0..3 bytes, or everything on a big-endian machine or
 *   if the output ever is not aligned);
 * - no per-byte function calls, the indices in local variables.
 * The plain byte-at-a-time version ran at ~120 MB/s, this one at ~300-400 MB/s.
 */

/** Int32Array words hold their bytes lowest first (true on every platform Node supports but s390x). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([0x04030201]).buffer)[0] === 0x01;

/**
 * The table `update` works on (see above). JavaScript runs one `update` at a time per thread
 * (each worker thread has its own copy of this module), and nothing inside it calls out.
 */
const WORK = new Int32Array(256);

/** Any key: `clone` overwrites the state the key schedule makes. */
const CLONE_KEY = Uint8Array.of(0);

export class Rc4 {
  /** the substitution table S (values 0..255) */
  private readonly s = new Int32Array(256);
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
    const n = data.length;
    const out = Buffer.allocUnsafe(n);
    out.set(data);
    const s = WORK;
    s.set(this.s);
    let i = this.i;
    let j = this.j;
    let si = 0;
    let sj = 0;
    let k = 0;
    if (LITTLE_ENDIAN && (out.byteOffset & 3) === 0 && n >= 4) {
      const words = n >>> 2;
      const w32 = new Int32Array(out.buffer, out.byteOffset, words);
      for (let w = 0; w < words; w++) {
        // four PRGA steps, their keystream bytes packed lowest first
        i = (i + 1) & 0xff;
        si = s[i]!;
        j = (j + si) & 0xff;
        sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        let ks = s[(si + sj) & 0xff]!;
        i = (i + 1) & 0xff;
        si = s[i]!;
        j = (j + si) & 0xff;
        sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        ks |= s[(si + sj) & 0xff]! << 8;
        i = (i + 1) & 0xff;
        si = s[i]!;
        j = (j + si) & 0xff;
        sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        ks |= s[(si + sj) & 0xff]! << 16;
        i = (i + 1) & 0xff;
        si = s[i]!;
        j = (j + si) & 0xff;
        sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        ks |= s[(si + sj) & 0xff]! << 24;
        w32[w] = w32[w]! ^ ks;
      }
      k = words << 2;
    }
    for (; k < n; k++) {
      i = (i + 1) & 0xff;
      si = s[i]!;
      j = (j + si) & 0xff;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      out[k] = out[k]! ^ s[(si + sj) & 0xff]!;
    }
    this.s.set(s);
    this.i = i;
    this.j = j;
    return out;
  }

  /**
   * An independent copy of this keystream at its current position: NTLM unsealing decrypts on a
   * copy and keeps it only when the signature verifies (crypto/ntlm-seal.ts).
   */
  clone(): Rc4 {
    const c = new Rc4(CLONE_KEY);
    c.s.set(this.s);
    c.i = this.i;
    c.j = this.j;
    return c;
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
