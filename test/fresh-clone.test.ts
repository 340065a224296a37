// README's `npm run demo` on a fresh clone, as a new user runs it: `git clone` of this commit into an empty
// directory (no node_modules, no dist), then `npm run demo`, which must install the npm packages, build and run.
// The demo's unattended mode (`--exit-when-ready`) with one node stops once every attachment is Ready and cleans
// up. It shares the running stack (`--keep-stack`, its own task queue, selector and names). npm reuses its cache
// (`prefer-offline`), as CI does. `npm test` from a clean clone is what CI itself runs, so it is not repeated here.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../dev/stack/paths.js';
import { API_GROUP, API_VERSION, NODEENI_PLURAL } from '../common/names.js';
import { kubeClients, uniq } from './support/env.js';

interface Run {
  code: number | null;
  out: string;
  seconds: number;
}

/** `npm run demo -- <args>` in `dir`, with a user's environment (none of Jest's Node options). */
function npmRunDemo(dir: string, args: string[], timeoutMs: number): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
  delete env.NODE_OPTIONS;
  delete env.NODE_ENV;
  delete env.JEST_WORKER_ID;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'demo', '--', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`npm run demo did not finish in ${timeoutMs / 1000}s; output:\n${out.slice(-6000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, seconds: (Date.now() - started) / 1000 });
    });
  });
}

describe('a fresh clone: README commands', () => {
  const id = uniq('fc');
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multi-eni-fresh-clone-'));
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('`npm run demo` installs the npm packages, builds, converges and cleans up, from a clone with nothing installed', async () => {
    const head = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD']).toString().trim();
    const clone = path.join(dir, 'multi-eni');
    execFileSync('git', ['clone', '--quiet', '--no-checkout', REPO_ROOT, clone]);
    execFileSync('git', ['-C', clone, 'checkout', '--quiet', head]);
    expect(execFileSync('git', ['-C', clone, 'rev-parse', 'HEAD']).toString().trim()).toBe(head);
    // Nothing installed or built: only what git tracks.
    expect(fs.existsSync(path.join(clone, 'node_modules'))).toBe(false);
    expect(fs.existsSync(path.join(clone, 'dist'))).toBe(false);
    expect(execFileSync('git', ['-C', clone, 'status', '--porcelain', '--ignored']).toString()).toBe('');

    const r = await npmRunDemo(
      clone,
      ['--exit-when-ready', '--nodes', '1', '--keep-stack', '--task-queue', `multi-eni-controller-${id}`, '--selector', `demo-run=${id}`, '--node-group', `multi-eni-${id}`, '--name-suffix', id, '--cluster-name', id],
      280000,
    );
    expect({ code: r.code, tail: r.code === 0 ? '' : r.out.slice(-6000) }).toEqual({ code: 0, tail: '' });
    console.log(`fresh clone: npm run demo (npm install from the cache, build, demo with 1 node) took ${r.seconds.toFixed(0)}s`);

    // What the demo's first step did: the locked packages installed, the build in place.
    expect(r.out).toContain('== npm install (locked versions)');
    expect(fs.existsSync(path.join(clone, 'node_modules', '.package-lock.json'))).toBe(true);
    expect(fs.existsSync(path.join(clone, 'node_modules', '.bin', 'tsc'))).toBe(true);
    expect(fs.existsSync(path.join(clone, 'dist', 'dev', 'demo', 'main.js'))).toBe(true);
    // Every NodeENI converged (one node: one attachment each, two for the multi-subnet one), then all cleaned up.
    expect(r.out).toMatch(/DEMO READY: 4 NodeENIs, 5\/5 attachments Ready, 5 ENIs in EC2, 1 nodes; /);
    expect(r.out).toContain('cleanup: no ENI of the demo left in EC2');
    expect(r.out).toMatch(/demo stopped: /);
    const k = kubeClients();
    const left = (await k.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, labelSelector: `demo-run=${id}` })) as { items: unknown[] };
    expect(left.items).toHaveLength(0);
    // The clone's own build ran the demo: nothing in git's tracked files changed.
    expect(execFileSync('git', ['-C', clone, 'status', '--porcelain']).toString()).toBe('');
  }, 300000);
});
