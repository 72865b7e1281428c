import v8 from 'node:v8';

/**
 * How `rdpsec serve` runs V8's heap (`--heap`): 'small', the default, or 'node' (V8's own
 * settings, or whatever NODE_OPTIONS says).
 *
 * Why: under a load of short connections most of serve's memory is not what the connections
 * hold (12 KiB of JS heap each, measured with heap snapshots) but garbage between two
 * collections. With V8's defaults the young generation grows under the allocation rate of a few
 * hundred handshakes a second, up to two 16 MiB semi-spaces (+16-24 MiB of RSS over idle), and
 * the old one grows to 3-4 times what survives a full collection before the next (+15 MiB):
 * bench/serve measured (peak - idle) / 200 connections at 160-270 KiB. 'small' keeps both near
 * what is live:
 *
 * - `--semi-space-growth-factor=1`: the young generation stays at the size it has when serve
 *   starts (V8 grows it from 0.5 MiB to 2 or 4 MiB semi-spaces while the CLI loads its modules),
 *   much as `--max-semi-space-size` would. That flag sizes the heap when the isolate is made, so
 *   it only works on node's command line or in NODE_OPTIONS; the growth factor is read each time
 *   V8 considers growing the new space (SemiSpaceNewSpace::Grow), so setting it here, in the
 *   running process, has the same effect without a re-exec (which would leave a second process,
 *   and a supervisor or bench/serve watching the first).
 * - `--heap-growing-percent=30`: after a full collection the old generation may grow by 30%
 *   (V8's own "conservative" factor) before the next one, instead of a factor V8 picks from its
 *   GC and mutator speeds (up to 4 on a machine with this much memory). V8 still allows at least
 *   8 MiB of growth (its minimum step), so a small heap collects every 8 MiB of promoted objects.
 *   Read when V8 computes the next limit (MemoryController::GrowingFactor), so it applies from
 *   the next full collection on.
 *
 * The cost is more collections, so more CPU per handshake: in bench/serve (RDP layer, 200
 * clients, 10 s) ~270 scavenges instead of ~60 and about as many full collections (~7). Server
 * CPU per handshake, on a shared 2-CPU VM where it is noisy: RDP 0.38-0.56 ms against 0.38-0.47
 * with 'node', TLS 3.0-3.4 ms against 2.5-3.3; up to a fifth more, often within the noise.
 * Memory per connection under that load ((peak - idle) / 200): RDP 29-42 KiB against 147-232,
 * TLS 39-47 KiB against 146-192 (with 16 TLS handshake slots; bench/README.md).
 */
export type HeapMode = 'small' | 'node';

export const SMALL_HEAP_V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--heap-growing-percent=30'];

/** Apply `mode` to this process's V8 heap ('node' changes nothing). Process-wide: for a process that only serves. */
export function useHeapMode(mode: HeapMode): void {
  if (mode === 'small') for (const flag of SMALL_HEAP_V8_FLAGS) v8.setFlagsFromString(flag);
}
