// Records the histories of finished pair lifecycles from the local stack's Temporal, for the replay fixtures a
// release keeps (README, Versioning policy). Run the end-to-end tests on a running stack (`npm run stack:up`),
// then:
//   node dist/dev/scripts/record-histories.js <out-dir> [visibility query]
// Each completed lifecycle is written as `temporal workflow show --output json` writes it, and a line per history
// names its activities (with counts), so the recorder picks one per scenario.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { readState } from '../stack/stack.js';

const run = promisify(execFile);
const [outDir, query = 'WorkflowType="eniLifecycle" AND ExecutionStatus="Completed"'] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: record-histories.js <out-dir> [visibility query]');
  process.exit(2);
}
const s = readState();
if (!s) {
  console.error('no local stack: start it with `npm run stack:up` and run the end-to-end tests on it first');
  process.exit(2);
}
const temporal = path.join(s.bin, 'temporal');
const conn = ['--address', s.temporal.address, '--namespace', s.temporal.namespace];

interface Listed {
  execution: { workflowId: string; runId: string };
}
interface HistoryEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
}

const listed = JSON.parse((await run(temporal, ['workflow', 'list', ...conn, '--query', query, '--output', 'json', '--limit', '1000'], { maxBuffer: 64 << 20 })).stdout || '[]') as Listed[];
fs.mkdirSync(outDir, { recursive: true });
for (const { execution } of listed) {
  const { stdout } = await run(temporal, ['workflow', 'show', ...conn, '--workflow-id', execution.workflowId, '--run-id', execution.runId, '--output', 'json'], { maxBuffer: 256 << 20 });
  const events = (JSON.parse(stdout) as { events: HistoryEvent[] }).events;
  const counts = new Map<string, number>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType.name;
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const file = path.join(outDir, `${execution.workflowId.replaceAll('/', '_')}.${execution.runId.slice(0, 8)}.json`);
  fs.writeFileSync(file, stdout);
  console.log(`${file}  events=${events.length}  ${[...counts].map(([k, v]) => `${k}×${v}`).join(' ')}`);
}
console.log(`${listed.length} histories in ${outDir}`);
