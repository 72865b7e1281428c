#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerDoctor } from './doctor-command.js';
import { registerExplain } from './explain-command.js';
import { registerProfiles } from './profiles-command.js';
import { EXIT, registerProbe } from './probe-command.js';
import { registerServe } from './serve-command.js';
import { registerSimulate } from './simulate-command.js';
import { UsageError } from './target.js';

/** The `rdpsec` command line: thin, each command a few lines over the library. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('rdpsec')
    .description('RDP security negotiation: what a server really offers, and why clients fail')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerProbe(program);
  registerServe(program);
  registerExplain(program);
  registerSimulate(program);
  registerDoctor(program);
  registerProfiles(program);
  program
    .command('demo')
    .description('start a real RDP server on loopback and probe it (what `npm start` runs)')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const { runDemo } = await import('./demo.js'); // the server's modules, only when asked for
      process.exitCode = await runDemo({ json: Boolean(o.json) });
    });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`rdpsec: ${err.message}\n`);
      return EXIT.USAGE;
    }
    process.stderr.write(`rdpsec: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.ERROR;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
