import type { Command } from 'commander';
import { UsageError } from './target.js';

/**
 * `rdpsec explain "TEXT or CODE"`: what an RDP security error means, its likely causes and the
 * fixes, safest first. The text comes from the arguments (joined by spaces), or from stdin with
 * `-` or when no argument is given and stdin is not a terminal (`journalctl -u xrdp | rdpsec
 * explain`). At most 64 KiB of input is read.
 *
 * Exit codes, as grep's: 0 at least one entry matched, 1 nothing matched, 2 usage error or the
 * catalogue could not be loaded.
 */
export const EXPLAIN_EXIT = { MATCHED: 0, NO_MATCH: 1, ERROR: 2 } as const;

interface ExplainCliOptions {
  json?: boolean;
  color?: boolean;
  all?: boolean;
}

/** Read stdin up to `max` characters; says whether there was more. */
async function readStdin(max: number): Promise<{ text: string; truncated: boolean }> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin as AsyncIterable<string>) {
    text += chunk;
    if (text.length > max) {
      process.stdin.destroy();
      return { text: text.slice(0, max), truncated: true };
    }
  }
  return { text, truncated: false };
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('what an RDP security error means (mstsc, FreeRDP, xrdp, OpenSSL, CredSSP, RD Gateway), its causes and the fixes, safest first')
    .argument('[text...]', 'the error text, code or log lines (quote it); "-" or nothing reads stdin')
    .option('--json', 'print the matches as JSON (schemaVersion 1)')
    .option('--all', 'show every match in full, not only the first five')
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .action(async (words: string[], o: ExplainCliOptions) => {
      const { MAX_INPUT_CHARS } = await import('../diagnose/explain-text.js');
      let text = words.join(' ');
      let truncated = false;
      if (words.length === 0 || (words.length === 1 && words[0] === '-')) {
        if (words.length === 0 && process.stdin.isTTY) throw new UsageError('explain needs the error text: rdpsec explain "TEXT or CODE" (or pipe it on stdin)');
        ({ text, truncated } = await readStdin(MAX_INPUT_CHARS));
      }
      if (!text.trim()) throw new UsageError('explain: the text to explain is empty');
      if (truncated || text.length > MAX_INPUT_CHARS) process.stderr.write(`rdpsec explain: input longer than ${MAX_INPUT_CHARS / 1024} KiB, only the first ${MAX_INPUT_CHARS / 1024} KiB is read\n`);
      const { DataError } = await import('../data/load.js');
      const { errorCatalogue } = await import('../diagnose/explain-catalogue.js');
      const { explain } = await import('../diagnose/explain.js');
      const { explainJson, renderExplain } = await import('../diagnose/explain-render.js');
      let index;
      try {
        index = errorCatalogue();
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        process.stderr.write(`rdpsec explain: ${err.message}\n`);
        process.exitCode = EXPLAIN_EXIT.ERROR;
        return;
      }
      // `rdpsec explain ... | head -1`: a reader that goes away is not an error of ours
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
      });
      const result = explain(text, index);
      if (truncated) result.input.truncated = true;
      if (o.json) process.stdout.write(JSON.stringify(explainJson(result), null, 2) + '\n');
      else {
        const { wantColor } = await import('../report/terminal.js');
        const width = Math.max(60, Math.min(process.stdout.columns ?? 100, 120));
        process.stdout.write(renderExplain(result, { color: o.color !== false && wantColor(process.stdout), detailed: o.all ? Infinity : 5, width }));
      }
      process.exitCode = result.matches.length ? EXPLAIN_EXIT.MATCHED : EXPLAIN_EXIT.NO_MATCH;
    });
}
