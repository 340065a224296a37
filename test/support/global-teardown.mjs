// Stops the stack only if this run started it (MULTI_ENI_KEEP_STACK=1 keeps it for the next run).
import fs from 'node:fs';
import { stopStack } from '../../dist/dev/stack/stack.js';
import { STARTED_MARKER } from './stack-marker.mjs';

export default async function globalTeardown() {
  if (!fs.existsSync(STARTED_MARKER)) return;
  if (process.env.MULTI_ENI_KEEP_STACK === '1') return;
  fs.rmSync(STARTED_MARKER, { force: true });
  await stopStack((l) => console.log(`[stack] ${l}`));
}
