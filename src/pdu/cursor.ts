import { DecodeError, EncodeError } from './errors.js';

/**
 * A bounds-checked reader over a byte buffer. Every read names the PDU and field it is for, so
 * a short buffer becomes a DecodeError that says exactly what was missing and where. Nothing is
 * allocated before the bytes have been checked to be there (a hostile length cannot make us
 * allocate more than the input holds).
 */
export class ReadCursor {
  private pos: number;
  /** offset of this cursor's first byte within the outermost buffer, for error messages */
  readonly base: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
    base = 0,
  ) {
    this.pos = start;
    this.base = base;
  }

  get offset(): number {
    return this.pos;
  }
  /** absolute offset, for errors */
  get at(): number {
    return this.base + this.pos;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  get length(): number {
    return this.end;
  }
  isEmpty(): boolean {
    return this.pos >= this.end;
  }

  ensure(n: number, pdu: string, field: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError(
        'NotEnoughBytes',
        pdu,
        field,
        this.at,
        `need ${n} bytes, have ${Math.max(0, this.end - this.pos)}`,
      );
    }
  }

  u8(pdu: string, field: string): number {
    this.ensure(1, pdu, field);
    return this.buf[this.pos++]!;
  }
  peekU8(pdu: string, field: string): number {
    this.ensure(1, pdu, field);
    return this.buf[this.pos]!;
  }
  u16le(pdu: string, field: string): number {
    this.ensure(2, pdu, field);
    const v = this.buf[this.pos]! | (this.buf[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }
  u16be(pdu: string, field: string): number {
    this.ensure(2, pdu, field);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32le(pdu: string, field: string): number {
    this.ensure(4, pdu, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }
  u32be(pdu: string, field: string): number {
    this.ensure(4, pdu, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }
  /** A view (no copy) of the next n bytes. */
  bytes(n: number, pdu: string, field: string): Uint8Array {
    this.ensure(n, pdu, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  skip(n: number, pdu: string, field: string): void {
    this.ensure(n, pdu, field);
    this.pos += n;
  }
  /** A cursor over the next n bytes (checked), advancing this one past them. */
  sub(n: number, pdu: string, field: string): ReadCursor {
    this.ensure(n, pdu, field);
    const c = new ReadCursor(this.buf, this.pos, this.pos + n, this.base);
    this.pos += n;
    return c;
  }
  rest(): Uint8Array {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
  /** Strict decoders call this at the end: trailing bytes are an error. */
  expectEnd(pdu: string): void {
    if (this.pos !== this.end) {
      throw new DecodeError('TrailingBytes', pdu, '(end)', this.at, `${this.end - this.pos} unexpected trailing bytes`);
    }
  }
}

/**
 * A growable writer. Encoders write fields in order; `reserve` + `patchU16be` etc. back-patch
 * a length once the body is known (the pg-protocol habit).
 */
export class WriteCursor {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.alloc(initial);
  }
  get offset(): number {
    return this.pos;
  }
  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): this {
    this.grow(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16le(v: number): this {
    this.grow(2);
    this.buf.writeUInt16LE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }
  u16be(v: number): this {
    this.grow(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }
  u32le(v: number): this {
    this.grow(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  u32be(v: number): this {
    this.grow(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  zeros(n: number): this {
    this.grow(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
  /** Reserve n bytes to patch later; returns their offset. */
  reserve(n: number): number {
    const at = this.pos;
    this.zeros(n);
    return at;
  }
  patchU16be(at: number, v: number, pdu = 'PDU', field = 'length'): void {
    if (v > 0xffff) throw new EncodeError(pdu, field, `${v} does not fit in 16 bits`);
    this.buf.writeUInt16BE(v, at);
  }
  patchU16le(at: number, v: number, pdu = 'PDU', field = 'length'): void {
    if (v > 0xffff) throw new EncodeError(pdu, field, `${v} does not fit in 16 bits`);
    this.buf.writeUInt16LE(v, at);
  }
  patchU32le(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }
  /** The bytes written so far (a copy, so the cursor can be reused). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** Encode a value with an encoder that writes into a cursor, returning the bytes. */
export function encodeWith<T>(value: T, enc: (v: T, w: WriteCursor) => void): Buffer {
  const w = new WriteCursor();
  enc(value, w);
  return w.finish();
}
