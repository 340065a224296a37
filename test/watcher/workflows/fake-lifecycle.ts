// A stand-in for the pair lifecycle workflow, registered under the real type name on a test task queue: it
// records what the watcher sends, answers the `state` query and finishes on `release`. It tests the watcher's
// behaviour, not the workflow's.
import { condition, defineQuery, defineSignal, setHandler, sleep } from '@temporalio/workflow';
import type { DesiredPair, LifecycleInput, PairState, ReleaseRequest } from '../../../common/lifecycle-contract.js';

export const specSignal = defineSignal<[DesiredPair]>('spec');
export const releaseSignal = defineSignal<[ReleaseRequest]>('release');
export const stateQuery = defineQuery<PairState>('state');

export interface Recorded {
  /** The start input's desired pair. */
  started: DesiredPair;
  /** Every `spec` signal, in order. */
  specs: DesiredPair[];
  releases: ReleaseRequest[];
}
/** A real pair takes a while to detach and delete its ENIs: finishing a moment after `release` lets the test
 * see the watcher wait for the workflow before it removes the finalizer. */
export const RELEASE_HOLD_MS = 1500;

export const recordedQuery = defineQuery<Recorded>('recorded');

export async function eniLifecycle(input: LifecycleInput): Promise<void> {
  let desired = input.desired;
  const specs: DesiredPair[] = [];
  const releases: ReleaseRequest[] = [];
  setHandler(specSignal, (d) => {
    specs.push(d);
    desired = d;
  });
  setHandler(releaseSignal, (r) => {
    releases.push(r);
  });
  setHandler(stateQuery, () => ({ desired, enis: [], phase: releases.length ? 'Releasing' : 'Ready', releasing: releases.length > 0, converging: false }));
  setHandler(recordedQuery, () => ({ started: input.desired, specs, releases }));
  await condition(() => releases.length > 0);
  await sleep(RELEASE_HOLD_MS);
}
