// Starts the real local stack for the integration tests, or reuses one that `npm run stack:up` left running.
import fs from 'node:fs';
import path from 'node:path';
import { readState, stackHealthy, startStack, stopStack } from '../../stack/stack.js';
import { STACK_DIR } from '../../stack/paths.js';

export const STARTED_MARKER = path.join(STACK_DIR, '..', 'multi-eni-stack.started-by-jest');

export default async function globalSetup(): Promise<void> {
  const existing = readState();
  if (existing && (await stackHealthy(existing))) {
    console.log(`\n[stack] reusing the running stack (${existing.dir})`);
    return;
  }
  if (existing) await stopStack();
  console.log('\n[stack] starting the local stack');
  await startStack({ progress: (l) => console.log(`[stack] ${l}`) });
  fs.writeFileSync(STARTED_MARKER, String(process.pid));
}
