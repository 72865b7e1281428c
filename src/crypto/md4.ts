import { createMD4, type IHasher } from 'hash-wasm';
import { NtlmError } from './ntlm-error.js';

/**
 * MD4 (RFC 1320) for the NT hash, NTOWFv1 of MS-NLMP 3.3.1: MD4(UTF-16LE(password)). Node 20's
 * OpenSSL 3 keeps MD4 in the legacy provider, which Node does not load, so MD4 comes from
 * hash-wasm (a maintained WebAssembly build). Its hasher is created asynchronously once and
 * cached; after `initMd4()` (or any `ntHash`) has resolved, `ntHashSync` and `md4Sync` work
 * synchronously, for the sans-IO state machines.
 */

let hasher: IHasher | undefined;
let creating: Promise<IHasher> | undefined;

/** Create the MD4 hasher once; later calls return at once. */
export async function initMd4(): Promise<void> {
  if (hasher) return;
  creating ??= createMD4();
  try {
    hasher = await creating;
  } finally {
    creating = undefined;
  }
}

/** MD4 of `data`; throws NtlmError 'not-initialised' until `initMd4()` has resolved. */
export function md4Sync(data: Uint8Array): Buffer {
  if (!hasher) throw new NtlmError('not-initialised', 'md4 is not ready: await initMd4() first');
  hasher.init();
  hasher.update(data);
  return Buffer.from(hasher.digest('binary'));
}

/** The NT hash (NTOWFv1, MS-NLMP 3.3.1) of a password: MD4 of its UTF-16LE bytes. */
export function ntHashSync(password: string): Buffer {
  return md4Sync(Buffer.from(password, 'utf16le'));
}

/** `ntHashSync`, initialising MD4 first if needed. */
export async function ntHash(password: string): Promise<Buffer> {
  await initMd4();
  return ntHashSync(password);
}

/** The NT hash of a password already in UTF-16LE (so the caller can zero its buffer afterwards). */
export async function ntHashOfUtf16(passwordUtf16: Uint8Array): Promise<Buffer> {
  await initMd4();
  return md4Sync(passwordUtf16);
}
