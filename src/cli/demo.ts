import { generateSelfSignedCertificate } from '../crypto/self-signed.js';
import { preset } from '../policy/presets.js';
import { serve } from '../serve/server.js';
import { wantColor } from '../report/terminal.js';
import { EXIT } from './probe-command.js';
import { postureFindings } from '../diagnose/posture-findings.js';
import { probeServer } from '../probe/probe.js';
import { renderPosture } from '../report/terminal.js';
import { toJson } from '../report/json.js';

/**
 * The main job with no arguments (`npm start`): start rdpsec's own server on loopback with a
 * realistic misconfiguration — Windows with SecurityLayer=0, the registry "fix" that forums
 * give for CredSSP and TLS errors — probe it with full handshakes, print what that setting
 * really exposes, then diagnose it for several clients (doctor's second half: the policy
 * inferred from the probe, each client simulated against it, fixes checked by simulation).
 * Nothing outside this process is needed.
 */
export const DEMO_PRESET = 'windows-legacy-rdp';
/** Clients people bring to such a host: a current Windows, FreeRDP, a PAM proxy (the issue-6 case), rdesktop. */
export const DEMO_CLIENTS = ['mstsc-win10', 'freerdp-2', 'pam-proxy', 'rdesktop-1.9'];

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
    const posture = await probeServer({ host: '127.0.0.1', port: l.port, timeoutMs: 5000, parallel: 4, handshake: true });
    posture.findings = postureFindings(posture);
    if (!posture.reachable) return EXIT.UNREACHABLE;
    const { inferServerPolicy } = await import('../diagnose/infer-policy.js');
    const { diagnoseAgainst } = await import('../diagnose/doctor.js');
    const { clientProfile } = await import('../connector/client-profiles.js');
    const inferred = inferServerPolicy(posture);
    const diagnoses = [];
    for (const name of DEMO_CLIENTS) diagnoses.push(await diagnoseAgainst(inferred, posture.target, clientProfile(name)));
    if (opts.json) {
      process.stdout.write(JSON.stringify({ ...JSON.parse(toJson(posture)), diagnoses }, null, 2) + '\n');
    } else {
      const color = wantColor(process.stdout);
      const { renderDiagnosisSummary } = await import('../report/simulation.js');
      process.stdout.write(renderPosture(posture, { color }));
      process.stdout.write(renderDiagnosisSummary(diagnoses, { color }));
    }
    return EXIT.OK;
  } finally {
    await l.close();
  }
}
