/**
 * TLS specifics of the transport: upgrade options and their defaults, handshake error mapping,
 * and the TlsInfo a finished handshake yields.
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { DetailedPeerCertificate, SecureVersion, TLSSocket } from 'node:tls';
import { certificateParts, spkiSubjectPublicKey } from '../crypto/x509-der.js';
import { TransportError, describe, isOpenSslError } from './errors.js';
import type { TlsHandshakeSlots } from './handshake-slots.js';

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** What a finished TLS handshake tells us, for CredSSP and for the report. */
export interface TlsInfo {
  /** as OpenSSL names it (tlsSocket.getProtocol()) */
  version: TlsVersion;
  cipher: {
    /** OpenSSL name, e.g. ECDHE-RSA-AES256-GCM-SHA384 */
    name: string;
    /** IANA name, e.g. TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 */
    standardName: string;
  };
  /**
   * The peer's certificates, DER, leaf first (client role: the server's chain as sent; server
   * role: the client's, usually empty).
   */
  peerCertificateChain: Buffer[];
  /**
   * The server's public key as CredSSP binds to it (MS-CSSP 3.1.5): the contents of the
   * leaf certificate's SubjectPublicKeyInfo.subjectPublicKey BIT STRING (for RSA, the
   * RSAPublicKey DER). Client role: the peer's leaf; server role: our own certificate.
   */
  serverPublicKey: Buffer;
  /** The (EC)DHE key exchange, client role only; null for RSA key transport or unknown. */
  ephemeralKey: { type: string; name?: string; size: number } | null;
}

const VERSIONS: readonly string[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Client-role TLS upgrade. Defaults are those of a prober that must talk to old servers:
 * TLS 1.0 to 1.3, OpenSSL security level 0 (Node 20's OpenSSL 3 refuses TLS 1.0/1.1 and SHA-1
 * signatures at its default level 1), no certificate verification (RDP servers mostly present
 * self-signed certificates; the report judges them, the handshake does not).
 */
export interface TlsClientOptions {
  timeoutMs: number;
  /** SNI; ignored for an IP address */
  servername?: string;
  /** default 'TLSv1' */
  minVersion?: SecureVersion;
  /** default 'TLSv1.3' */
  maxVersion?: SecureVersion;
  /**
   * OpenSSL cipher list; default 'DEFAULT:@SECLEVEL=0', or 'ALL:!aNULL:!eNULL:@SECLEVEL=0' when
   * maxVersion is below TLS 1.2. TLS 1.3 suite names (TLS_AES_128_GCM_SHA256) may be mixed in,
   * Node passes them to SSL_CTX_set_ciphersuites; otherwise its TLS 1.3 defaults stay
   */
  ciphers?: string;
  /** signature algorithms list (OpenSSL syntax) */
  sigalgs?: string;
  /** phase named in errors; 'tls' by default */
  phase?: string;
}

/** Server-role TLS upgrade, for the acceptor (`rdpsec serve`). */
export interface TlsServerOptions {
  timeoutMs: number;
  key: string | Buffer;
  cert: string | Buffer;
  /** Node's default (TLSv1.2) when absent */
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** default: Node's, or 'DEFAULT:@SECLEVEL=0' when minVersion is below TLS 1.2 */
  ciphers?: string;
  phase?: string;
  /**
   * Shared by a listener's connections: wait for one of these before starting the handshake.
   * `timeoutMs` then covers the wait and the handshake together.
   */
  handshakeSlots?: TlsHandshakeSlots;
}

const VERSION_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const below12 = (v: SecureVersion | undefined): boolean =>
  v !== undefined && VERSION_ORDER.indexOf(v) < VERSION_ORDER.indexOf('TLSv1.2');

/** tls.connect options over `socket` for a client-role upgrade, defaults applied. */
export function clientConnectOptions(socket: Duplex, opts: TlsClientOptions): tls.ConnectionOptions {
  const maxVersion = opts.maxVersion ?? 'TLSv1.3';
  const options: tls.ConnectionOptions = {
    socket,
    rejectUnauthorized: false,
    minVersion: opts.minVersion ?? 'TLSv1',
    maxVersion,
    ciphers: opts.ciphers ?? (below12(maxVersion) ? 'ALL:!aNULL:!eNULL:@SECLEVEL=0' : 'DEFAULT:@SECLEVEL=0'),
  };
  if (opts.servername !== undefined && net.isIP(opts.servername) === 0) options.servername = opts.servername;
  if (opts.sigalgs !== undefined) options.sigalgs = opts.sigalgs;
  return options;
}

/** createSecureContext options for a server-role upgrade, defaults applied. */
export function serverContextOptions(opts: TlsServerOptions): tls.SecureContextOptions {
  const ciphers = opts.ciphers ?? (below12(opts.minVersion) ? 'DEFAULT:@SECLEVEL=0' : undefined);
  return {
    key: opts.key,
    cert: opts.cert,
    ...(opts.minVersion !== undefined ? { minVersion: opts.minVersion } : {}),
    ...(opts.maxVersion !== undefined ? { maxVersion: opts.maxVersion } : {}),
    ...(ciphers !== undefined ? { ciphers } : {}),
  };
}

/** The OS or OpenSSL `code` and OpenSSL `reason` of an error, when it has them. */
export function reasonOf(err: unknown): { code?: string; reason?: string } {
  const e = err as { code?: unknown; reason?: unknown } | null;
  const out: { code?: string; reason?: string } = {};
  if (typeof e?.code === 'string') out.code = e.code;
  if (typeof e?.reason === 'string') out.reason = e.reason;
  return out;
}

/**
 * Any failure during the handshake is 'tls': an OpenSSL error carries its reason ('unsupported
 * protocol', 'wrong version number', 'tlsv1 alert protocol version'); a peer that resets or
 * closes mid-handshake (what many servers do instead of an alert) keeps its OS code.
 */
export function tlsError(err: unknown, phase: string): TransportError {
  const { code, reason } = reasonOf(err);
  if (isOpenSslError(err) && reason !== undefined) {
    return new TransportError('tls', phase, `tls handshake failed: ${reason}`, { code, reason, cause: err });
  }
  // Node reports a FIN or RST before the handshake ended as ECONNRESET "client network socket
  // disconnected before secure tls connection was established"
  const r = code === 'ECONNRESET' || code === 'EPIPE' ? 'connection closed or reset during handshake' : describe(err);
  return new TransportError('tls', phase, `tls handshake failed: ${r}`, { ...(code !== undefined ? { code } : {}), reason: r, cause: err });
}

/**
 * The leaf's subjectPublicKey bytes, read from the certificate's own DER (the exact bytes it
 * carries, which is what Windows binds to); if that strict read fails on an odd certificate,
 * OpenSSL (node:crypto X509Certificate) re-exports the SubjectPublicKeyInfo and we take its
 * BIT STRING contents, identical for RSA keys.
 */
export function subjectPublicKey(certDer: Uint8Array): Buffer {
  try {
    return Buffer.from(certificateParts(certDer).subjectPublicKey);
  } catch {
    const spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
    return Buffer.from(spkiSubjectPublicKey(spki));
  }
}

/** DER certificates from getPeerCertificate(true), leaf first, stopping at a self-issued one. */
export function certificateChain(leaf: DetailedPeerCertificate | null | undefined): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  let cert = leaf;
  // an empty object means "no certificate"
  while (cert && cert.raw && !seen.has(cert) && chain.length < 16) {
    seen.add(cert);
    chain.push(Buffer.from(cert.raw));
    const next = cert.issuerCertificate;
    if (!next || next === cert || next.fingerprint256 === cert.fingerprint256) break;
    cert = next;
  }
  return chain;
}

/**
 * Collect TlsInfo from a socket whose handshake has completed. `ownKey`, server role only: our
 * own certificate's subjectPublicKey when the caller already has it (it is the same for every
 * connection of a secure context); otherwise it is read from getCertificate(), which builds the
 * whole certificate object with its fingerprints.
 */
export function tlsInfoOf(sock: TLSSocket, role: 'client' | 'server', ownKey?: Uint8Array): TlsInfo {
  const version = sock.getProtocol();
  if (version === null || !VERSIONS.includes(version)) {
    throw new Error(`unexpected tls protocol version ${String(version)}`);
  }
  const cipher = sock.getCipher();
  const peerCertificateChain = certificateChain(sock.getPeerCertificate(true));
  let serverDer: Uint8Array | undefined;
  if (role === 'client') {
    serverDer = peerCertificateChain[0];
  } else if (!ownKey) {
    const own = sock.getCertificate();
    serverDer = own && 'raw' in own ? own.raw : undefined;
  }
  if (!serverDer && !ownKey) throw new Error('the tls handshake completed without a server certificate');
  let ephemeralKey: TlsInfo['ephemeralKey'] = null;
  if (role === 'client') {
    const k = sock.getEphemeralKeyInfo();
    if (k && typeof k === 'object' && 'type' in k && typeof k.type === 'string') {
      ephemeralKey = { type: k.type, size: k.size ?? 0 };
      if (k.name !== undefined) ephemeralKey.name = k.name;
    }
  }
  return {
    version: version as TlsVersion,
    cipher: { name: cipher.name, standardName: cipher.standardName },
    peerCertificateChain,
    serverPublicKey: serverDer ? subjectPublicKey(serverDer) : ownCopy(ownKey!),
    ephemeralKey,
  };
}

/** A connection's own copy of a shared key, in a buffer of its own (not a slice of Node's pool, which it would pin). */
function ownCopy(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(key.length);
  out.set(key);
  return out;
}
