// Faults a test turns on: latency, coin-toss throttling and 5xx (seeded, so a run repeats), and holds, the
// answers withheld from their callers until released (crash tests).
import { errorAnswer, type Answer } from './answers.js';
import type { Faults } from './config.js';
import type { HeldAnswer, ProxyState } from './state.js';

/** mulberry32: tiny seeded PRNG, so a run with the same seed throttles the same calls. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultDecision = 'none' | 'throttle' | 'serverError';

/** One draw per call that the fault config targets, so the sequence depends only on the seed and the calls. */
export function decideFault(faults: Faults, action: string, rand: () => number): FaultDecision {
  if (faults.actions && !faults.actions.includes(action)) return 'none';
  if (faults.throttleRate === 0 && faults.serverErrorRate === 0) return 'none';
  const r = rand();
  if (r < faults.throttleRate) return 'throttle';
  if (r < faults.throttleRate + faults.serverErrorRate) return 'serverError';
  return 'none';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The fault this call meets, after the configured latency: a call the buckets did not admit is throttled, else
 * the seeded draw decides. The answer to give in its place, or undefined to carry it out.
 */
export async function injectFault(state: ProxyState, action: string, admitted: boolean): Promise<Answer | undefined> {
  const faults = state.faults;
  const fault = admitted ? decideFault(faults, action, state.rand) : 'throttle';
  if (faults.latencyMs > 0 && (!faults.actions || faults.actions.includes(action))) await sleep(faults.latencyMs);
  if (fault === 'throttle') return errorAnswer(503, 'RequestLimitExceeded', 'Request limit exceeded.');
  if (fault === 'serverError') return errorAnswer(500, 'InternalError', 'An internal error has occurred.');
  return undefined;
}

/** Withholds a successful answer of the held action while the hold has a count left; true when held. */
export function holdAnswer(state: ProxyState, answer: Omit<HeldAnswer, 'send'> & { status: number }, send: () => void): boolean {
  const hold = state.hold;
  if (!(hold && hold.action === answer.action && hold.count > 0 && answer.status === 200)) return false;
  hold.count--;
  state.held.push({ action: answer.action, params: answer.params, body: answer.body, send });
  return true;
}

/** Ends the hold and sends every withheld answer. */
export function releaseHeld(state: ProxyState): void {
  state.hold = undefined;
  for (const h of state.held.splice(0)) h.send();
}
