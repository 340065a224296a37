// Starts the real local stack for the integration tests, or reuses one that `npm run stack:up` left running.
// Plain JS on the compiled stack module: Jest does not map `.js` imports to TypeScript for global setup.
import fs from 'node:fs';
import { readState, stackHealthy, startStack, stopStack } from '../../dist/dev/stack/stack.js';
import { temporalMode } from '../../dist/dev/stack/temporal-cluster.js';
import { STARTED_MARKER } from './stack-marker.mjs';

export default async function globalSetup() {
  const existing = readState();
  // MULTI_ENI_TEMPORAL picks the engine: a running stack on the other one is not reused.
  if (existing && existing.temporal.mode === temporalMode() && (await stackHealthy(existing))) {
    console.log(`\n[stack] reusing the running stack (${existing.dir})`);
    return;
  }
  if (existing) await stopStack();
  console.log('\n[stack] starting the local stack');
  await startStack({ progress: (l) => console.log(`[stack] ${l}`) });
  fs.writeFileSync(STARTED_MARKER, String(process.pid));
}
