// The ENI lifecycle of one (NodeENI, node) pair: the workflow the watcher starts and signals. The work is in
// PairLifecycle (pair-lifecycle.ts).
import type { LifecycleInput } from '../common/lifecycle-contract.js';
import { PairLifecycle } from './pair-lifecycle.js';

export async function eniLifecycle(input: LifecycleInput): Promise<{ released: string[] }> {
  return new PairLifecycle(input).run();
}
