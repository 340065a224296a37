// The ENI lifecycle of one (NodeENI, node) pair: the workflow the watcher starts and signals. The work is in
// PairLifecycle (pair-lifecycle.ts); runs that started on the first version finish on it (eni-lifecycle-v1.ts).
import { patched } from '@temporalio/workflow';
import type { LifecycleInput } from '../common/lifecycle-contract.js';
import { eniLifecycleV1 } from './eni-lifecycle-v1.js';
import { PairLifecycle } from './pair-lifecycle.js';

/** Marks runs of the pair-lifecycle class; a run without the marker (older history) replays on the first version. */
export const PATCH_PAIR_LIFECYCLE = 'pair-lifecycle-class';

export async function eniLifecycle(input: LifecycleInput): Promise<{ released: string[] }> {
  if (!patched(PATCH_PAIR_LIFECYCLE)) return eniLifecycleV1(input);
  return new PairLifecycle(input).run();
}
