import type { Command } from 'commander';

/**
 * `rdpsec profiles`: the client profiles (data/clients) and server presets (data/presets.yaml)
 * that `simulate`, `doctor` and `serve` take by name.
 */
export function registerProfiles(program: Command): void {
  program
    .command('profiles')
    .description('list the client profiles and server presets (simulate --client / --server, doctor --client, serve --preset)')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const { clientProfiles } = await import('../connector/client-profiles.js');
      const { presetEntries } = await import('../policy/presets.js');
      const clients = [...clientProfiles().values()].map((p) => ({
        name: p.name,
        ...(p.aliases?.length ? { aliases: p.aliases } : {}),
        family: p.family,
        description: p.description,
        ...(p.unverified ? { unverified: p.unverified } : {}),
      }));
      const servers = [...presetEntries().values()].map((p) => ({ name: p.name, description: p.description }));
      if (o.json) {
        process.stdout.write(JSON.stringify({ clients, servers }, null, 2) + '\n');
        return;
      }
      const width = Math.max(...clients.map((c) => c.name.length), ...servers.map((s) => s.name.length));
      const out: string[] = ['client profiles (simulate/doctor --client):'];
      for (const c of clients) out.push(`  ${c.name.padEnd(width)}  ${c.description}${c.aliases ? ` (also: ${c.aliases.join(', ')})` : ''}`);
      out.push('', 'server presets (simulate --server, serve --preset):');
      for (const s of servers) out.push(`  ${s.name.padEnd(width)}  ${s.description}`);
      out.push('', 'a client can also be a .rdp file, an xfreerdp command line in a file, or a client .reg; a server an xrdp.ini or a reg export');
      process.stdout.write(out.join('\n') + '\n');
    });
}
