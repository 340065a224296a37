// Replays recorded histories of real lifecycles against the current workflow bundle: a change to workflow
// code that would break running workflows fails here (guard such changes with patched()).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../dev/stack/paths.js';

const dir = path.join(REPO_ROOT, 'test', 'fixtures', 'histories');
const script = path.join(REPO_ROOT, 'dist', 'dev', 'scripts', 'replay-histories.js');
// Replay runs in its own process: protobuf type checks do not survive Jest's module sandbox.
const replay = (files: string[]) => spawnSync(process.execPath, [script, ...files], { encoding: 'utf8', timeout: 120000 });

describe('workflow replay', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f));

  it('replays every recorded full lifecycle deterministically', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const events = (JSON.parse(fs.readFileSync(f, 'utf8')) as { events: { eventType: string }[] }).events;
      // Each recording ran to its end, so every command of the code is checked against it.
      expect(events.at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    }
    const r = replay(files);
    expect(r.stdout).not.toContain('FAILED');
    expect(r.status).toBe(0);
    expect(r.stdout.match(/^ok /gm)).toHaveLength(files.length);
  });

  it('detects a history the code cannot have produced', () => {
    const history = JSON.parse(fs.readFileSync(files[0]!, 'utf8')) as { events: { activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[] };
    history.events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!.activityType.name = 'somethingElse';
    const tampered = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'replay-')), 'tampered.json');
    fs.writeFileSync(tampered, JSON.stringify(history));
    const r = replay([tampered]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAILED .*tampered\.json: DeterminismViolationError: .*Activity type of scheduled event .somethingElse. does not match/);
  });
});
