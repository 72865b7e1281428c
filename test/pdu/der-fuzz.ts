/**
 * Structure-aware fuzzing for the DER decoders: random bytes rarely get past the first tag, so
 * these arbitraries build random TLV trees (with the tags CredSSP and SPNEGO use) and then break
 * them: a byte changed, the input cut, a length that lies.
 */
import fc from 'fast-check';
import { RUNS, decodesOrDecodeError } from './fuzz-helpers.js';

/** A TLV with a definite length in the shortest form. */
export function tlv(tag: number, contents: Uint8Array): Uint8Array {
  const n = contents.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([tag, ...len, ...contents]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const PRIMITIVE_TAGS = [0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x1b, 0x00, 0x80, 0x81];
const CONSTRUCTED_TAGS = [0x30, 0x30, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0x60, 0x24, 0x31, 0xbf];

/** Random, mostly well-formed DER trees whose outer tag is one of `outer`. */
export function derTree(outer: number[] = [0x30]): fc.Arbitrary<Uint8Array> {
  const { node } = fc.letrec((tie) => ({
    node: fc.oneof(
      { maxDepth: 6, depthSize: 'small' },
      fc.tuple(fc.constantFrom(...PRIMITIVE_TAGS), fc.uint8Array({ maxLength: 10 })).map(([t, c]) => tlv(t, c)),
      fc.tuple(fc.constantFrom(...CONSTRUCTED_TAGS), fc.array(tie('node'), { maxLength: 4 })).map(([t, kids]) => tlv(t, concat(kids as Uint8Array[]))),
    ),
  }));
  return fc.tuple(fc.constantFrom(...outer), fc.array(node, { maxLength: 6 })).map(([t, kids]) => tlv(t, concat(kids as Uint8Array[])));
}

/** Feed `decode` random trees, and the same trees with bytes changed or cut: only DecodeError. */
export function fuzzDerTrees(decode: (b: Uint8Array) => unknown, outer?: number[]): void {
  fc.assert(
    fc.property(derTree(outer), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat(), (tree, edits, cut) => {
      decodesOrDecodeError(() => decode(tree));
      const b = Uint8Array.from(tree);
      for (const [i, v] of edits) b[i % b.length] = v;
      decodesOrDecodeError(() => decode(b));
      decodesOrDecodeError(() => decode(b.subarray(0, cut % (b.length + 1))));
    }),
    // asn1js parses a 60-byte tree in ~0.1 ms: a quarter of RUNS keeps this under a second
    { numRuns: RUNS / 4 },
  );
}
