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

export function parseTarget(text: string, defaultPort = 3389): Target {
  const s = text.trim();
  if (!s) throw new UsageError('empty target');
  const bracket = /^\[([0-9a-fA-F:.%a-zA-Z0-9]+)\](?::(\d+))?$/.exec(s);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? parsePort(bracket[2]) : defaultPort };
  const colons = s.split(':').length - 1;
  if (colons > 1) return { host: s, port: defaultPort }; // a bare IPv6 address
  if (colons === 1) {
    const [host, port] = s.split(':') as [string, string];
    if (!host) throw new UsageError(`missing host in "${text}"`);
    return { host, port: parsePort(port) };
  }
  if (!/^[A-Za-z0-9.-]+$/.test(s)) throw new UsageError(`invalid host "${text}"`);
  return { host: s, port: defaultPort };
}
