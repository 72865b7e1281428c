/**
 * Fuzz helpers for the MCS/GCC decoders (the mqtt-packet habit): random bytes, every truncation
 * and random mutations of real fixtures must only ever raise DecodeError.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../../src/pdu/errors.js';
import { encodeWith, type WriteCursor } from '../../src/pdu/cursor.js';

export const RUNS = 2000;

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Run `fn`; a DecodeError is fine, anything else is rethrown. Returns whether it decoded. */
export function decodesOrDecodeError(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof DecodeError) return false;
    throw e;
  }
}

/** Random buffers, optionally behind a plausible prefix, only raise DecodeError. */
export function fuzzRandom(decode: (b: Uint8Array) => unknown, prefix: Uint8Array = new Uint8Array(0), maxLength = 600): void {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength }), (tail) => {
      const b = new Uint8Array(prefix.length + tail.length);
      b.set(prefix);
      b.set(tail, prefix.length);
      decodesOrDecodeError(() => decode(b));
    }),
    { numRuns: RUNS },
  );
}

/**
 * Every proper prefix of `bytes` only raises DecodeError; with `mustFail` (self-delimiting PDUs
 * whose lengths are declared) every prefix must actually fail.
 */
export function fuzzTruncations(bytes: Uint8Array, decode: (b: Uint8Array) => unknown, mustFail: boolean): void {
  for (let n = 0; n < bytes.length; n++) {
    const ok = decodesOrDecodeError(() => decode(bytes.subarray(0, n)));
    if (mustFail) assert.equal(ok, false, `prefix of ${n}/${bytes.length} bytes decoded`);
  }
}

/** Random single- and multi-byte mutations of a real PDU only raise DecodeError. */
export function fuzzMutations(bytes: Uint8Array, decode: (b: Uint8Array) => unknown): void {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: Math.max(0, bytes.length - 1) }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (edits) => {
        const b = Uint8Array.from(bytes);
        for (const [i, v] of edits) b[i] = v;
        decodesOrDecodeError(() => decode(b));
      },
    ),
    { numRuns: RUNS },
  );
}

/** Encode with a cursor encoder, as a Buffer. */
export function enc<T>(value: T, encoder: (v: T, w: WriteCursor) => void): Buffer {
  return encodeWith(value, encoder);
}

/** Assert `fn` throws a DecodeError of `kind` (and optionally naming `field`); returns it. */
export function throwsDecode(fn: () => unknown, kind: DecodeError['kind'], field?: string): DecodeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DecodeError, `expected a DecodeError, got ${String(e)}`);
    const root = e.root();
    assert.equal(root.kind, kind, root.message);
    if (field !== undefined) assert.equal(root.field, field, root.message);
    return e;
  }
  assert.fail(`expected a DecodeError ${kind}`);
}
