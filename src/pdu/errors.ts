/**
 * Typed decode errors. Every decoder in `pdu/` throws only `DecodeError`: it names the PDU,
 * the field and the byte offset, so a failure reads as "while decoding X: ..." chains
 * (the IronRDP convention: lowercase messages without final punctuation).
 */
export type DecodeErrorKind =
  /** the buffer ends before the field does */
  | 'NotEnoughBytes'
  /** a field holds a value the layout forbids (a length that does not add up, a bad magic) */
  | 'InvalidField'
  /** the PDU is of another type than expected here */
  | 'UnexpectedType'
  /** a value that is legal but that we do not implement */
  | 'UnsupportedValue'
  /** bytes left over after a PDU whose length says it has ended */
  | 'TrailingBytes';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly kind: DecodeErrorKind,
    /** the PDU or structure being decoded, spec name where there is one (RDP_NEG_REQ, TS_UD_SC_SEC1) */
    readonly pdu: string,
    /** the field within it */
    readonly field: string,
    /** byte offset of the field within the buffer handed to the decoder */
    readonly offset: number,
    readonly detail: string,
    /** the error of an inner structure this one wraps */
    override readonly cause?: DecodeError,
  ) {
    super(`${pdu}.${field} at offset ${offset}: ${detail}${cause ? `: ${cause.message}` : ''}`);
  }

  /** Wrap an inner structure's error so the message reads outer-to-inner. */
  static wrap(err: unknown, pdu: string, field: string, offset: number): never {
    if (err instanceof DecodeError) {
      throw new DecodeError(err.kind, pdu, field, offset, 'while decoding inner structure', err);
    }
    throw err;
  }

  /** The innermost error of a chain (the one that names the real fault). */
  root(): DecodeError {
    let e: DecodeError = this;
    while (e.cause) e = e.cause;
    return e;
  }

  toJSON(): Record<string, unknown> {
    const r = this.root();
    return { kind: r.kind, pdu: r.pdu, field: r.field, offset: r.offset, message: this.message };
  }
}

/** Thrown by encoders when a value cannot be represented (a name too long, a length overflow). */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  constructor(readonly pdu: string, readonly field: string, readonly detail: string) {
    super(`cannot encode ${pdu}.${field}: ${detail}`);
  }
}
