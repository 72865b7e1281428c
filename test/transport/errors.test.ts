import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../src/pdu/errors.js';
import { TransportError, fromSocketError, quietTransportError } from '../../src/transport/errors.js';

function sysError(code: string, message = `connect ${code} 10.0.0.1:3389`): Error {
  return Object.assign(new Error(message), { code });
}

describe('TransportError', () => {
  it('classifies socket error codes', () => {
    const cases: [string, TransportError['kind']][] = [
      ['ECONNREFUSED', 'refused'],
      ['ECONNRESET', 'reset'],
      ['EPIPE', 'reset'],
      ['ETIMEDOUT', 'timeout'],
      ['EHOSTUNREACH', 'unreachable'],
      ['ENETUNREACH', 'unreachable'],
      ['EADDRNOTAVAIL', 'unreachable'],
      ['ENOTFOUND', 'unreachable'],
      ['EAI_AGAIN', 'unreachable'],
    ];
    for (const [code, kind] of cases) {
      const e = fromSocketError(sysError(code), 'connect');
      assert.equal(e.kind, kind, code);
      assert.equal(e.code, code);
      assert.equal(e.phase, 'connect');
    }
    assert.equal(fromSocketError(sysError('EWHATEVER'), 'connect').kind, 'unreachable');
    assert.equal(fromSocketError(sysError('EWHATEVER'), 'mcs').kind, 'reset');
  });

  it('classifies OpenSSL errors as tls with their reason', () => {
    const ssl = Object.assign(new Error('C0:error:0A00010B:SSL routines:ssl3_get_record:wrong version number\n'), {
      code: 'ERR_SSL_WRONG_VERSION_NUMBER',
      library: 'SSL routines',
      reason: 'wrong version number',
    });
    const e = fromSocketError(ssl, 'tls');
    assert.equal(e.kind, 'tls');
    assert.equal(e.reason, 'wrong version number');
    assert.equal(e.message, 'tls: tls error: wrong version number');
  });

  it('has lowercase one-line messages and a JSON form', () => {
    const e = fromSocketError(sysError('ECONNRESET', 'Read ECONNRESET.'), 'x224');
    assert.equal(e.message, 'x224: read ECONNRESET');
    assert.deepEqual(e.toJSON(), { kind: 'reset', phase: 'x224', message: 'x224: read ECONNRESET', code: 'ECONNRESET' });
  });

  it('puts the DecodeError of a malformed frame in the JSON', () => {
    const cause = new DecodeError('UnexpectedType', 'TPKT', 'version', 0, 'expected 3, got 83');
    const e = new TransportError('malformed', 'x224', `cannot frame TPKT: ${cause.message}`, { cause, bytesBuffered: 21 });
    assert.deepEqual(e.toJSON(), {
      kind: 'malformed',
      phase: 'x224',
      message: 'x224: cannot frame TPKT: TPKT.version at offset 0: expected 3, got 83',
      bytesBuffered: 21,
      cause: { kind: 'UnexpectedType', pdu: 'TPKT', field: 'version', offset: 0, message: 'TPKT.version at offset 0: expected 3, got 83' },
    });
    assert.equal(JSON.parse(JSON.stringify(e)).kind, 'malformed');
  });

  it('quietTransportError: the same error without a stack trace, and the stack limit restored', () => {
    const limit = Error.stackTraceLimit;
    const e = quietTransportError('closed', 'mcs', 'the peer closed the connection while framing TPKT (0 bytes buffered)', { bytesBuffered: 0 });
    assert.ok(e instanceof TransportError);
    assert.equal(e.kind, 'closed');
    assert.equal(e.bytesBuffered, 0);
    assert.equal(e.stack, 'TransportError: mcs: the peer closed the connection while framing TPKT (0 bytes buffered)');
    assert.equal(Error.stackTraceLimit, limit);
    assert.match(new TransportError('closed', 'mcs', 'x').stack ?? '', /\n\s+at /);
  });
});
