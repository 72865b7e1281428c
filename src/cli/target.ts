import { isIPv4, isIPv6 } from 'node:net';

/** Parse HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address; the port defaults to 3389. */
export interface Target {
  host: string;
  port: number;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new UsageError(`invalid port "${text}"`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new UsageError(`port ${n} out of range 1-65535`);
  return n;
}

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

function checkHost(host: string, text: string): string {
  if (isIPv4(host) || HOST_NAME.test(host)) return host;
  throw new UsageError(`invalid host "${host}" in "${text}"`);
}

function checkIPv6(host: string, text: string): string {
  if (isIPv6(host.replace(/%[A-Za-z0-9._-]+$/, ''))) return host;
  throw new UsageError(`invalid IPv6 address "${host}" in "${text}"`);
}

export function parseTarget(text: string, defaultPort = 3389): Target {
  const s = text.trim();
  if (!s) throw new UsageError('empty target');
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(s);
  if (bracket) return { host: checkIPv6(bracket[1]!, text), port: bracket[2] !== undefined ? parsePort(bracket[2]) : defaultPort };
  const colons = s.split(':').length - 1;
  if (colons > 1) return { host: checkIPv6(s, text), port: defaultPort }; // a bare IPv6 address
  if (colons === 1) {
    const [host, port] = s.split(':') as [string, string];
    if (!host) throw new UsageError(`missing host in "${text}"`);
    return { host: checkHost(host, text), port: parsePort(port) };
  }
  return { host: checkHost(s, text), port: defaultPort };
}
