import { generateSelfSignedCertificate } from '../crypto/self-signed.js';
import { preset } from '../policy/presets.js';
import { serve } from '../serve/server.js';
import { wantColor } from '../report/terminal.js';
import { EXIT, probeAndReport } from './probe-command.js';

/**
 * The main job with no arguments (`npm start`): start rdpsec's own server on loopback with a
 * realistic misconfiguration — Windows with SecurityLayer=0, the registry "fix" that forums
 * give for CredSSP and TLS errors — probe it with full handshakes, and print what that setting
 * really exposes. Nothing outside this process is needed.
 */
export const DEMO_PRESET = 'windows-legacy-rdp';

export async function runDemo(opts: { json: boolean }): Promise<number> {
  const policy = preset(DEMO_PRESET);
  const tls = await generateSelfSignedCertificate('rdpsec-demo', 30);
  let listeners;
  try {
    listeners = await serve({ host: '127.0.0.1', ports: [0], policy, tls, onConnection: () => {} });
  } catch (err) {
    process.stderr.write(`rdpsec: could not start the built-in server on 127.0.0.1: ${(err as Error).message}\n`);
    return EXIT.UNREACHABLE;
  }
  const l = listeners[0]!;
  try {
    process.stderr.write(
      `rdpsec: started the built-in server on 127.0.0.1:${l.port} as "${DEMO_PRESET}" (SecurityLayer=0, the usual registry "fix"); probing it with --handshake\n`,
    );
    return await probeAndReport('127.0.0.1', l.port, { timeoutMs: 5000, parallel: 4, json: opts.json, color: wantColor(process.stdout), handshake: true });
  } finally {
    await l.close();
  }
}
