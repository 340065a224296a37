// Replays workflow histories (JSON, as `temporal workflow show --output json` writes them) against the
// built workflow bundle: run it before deploying workflow changes. Exit code 1 if any replay fails.
//   node dist/dev/scripts/replay-histories.js test/fixtures/histories/*.json
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { REPO_ROOT } from '../stack/paths.js';

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: replay-histories.js <history.json>...');
  process.exit(2);
}
const codePath = path.join(REPO_ROOT, 'dist', 'workflow-bundle.js');
let failed = 0;
for (const file of files) {
  try {
    const history: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath } }, history, path.basename(file));
    console.log(`ok     ${file}`);
  } catch (err) {
    failed++;
    console.log(`FAILED ${file}: ${(err as Error).name}: ${(err as Error).message.split('\n')[0]}`);
  }
}
process.exit(failed ? 1 : 0);
