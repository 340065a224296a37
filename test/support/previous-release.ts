// The previous release, built from this repository's history (git archive of a commit, compiled with this
// checkout's npm packages), for upgrade tests. Cached by commit next to the stack's tools.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, TOOLS_CACHE } from '../../dev/stack/paths.js';

/** The last commit before NodeENIAttachment objects: its pairs write their entries into the NodeENI's status. */
export const BEFORE_ATTACHMENT_OBJECTS = 'b92d4076791f9ee1637c454f6a9ae68c5111e5e3';

const execFileP = promisify(execFile);

/** The `dist` directory of `commit`, built on first use (asynchronously: the test's connections stay served). */
export async function previousReleaseDist(commit: string): Promise<string> {
  const dir = path.join(TOOLS_CACHE, 'previous-release', commit);
  const done = path.join(dir, '.built');
  const modules = path.join(dir, 'node_modules');
  if (!fs.existsSync(done)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const archive = execFileSync('git', ['-C', REPO_ROOT, 'archive', '--format=tar', commit], { maxBuffer: 256 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
  }
  // The packages of this checkout (the release's lock is the same); re-pointed each time, the checkout may move.
  fs.rmSync(modules, { force: true });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), modules);
  if (!fs.existsSync(done)) {
    await execFileP(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir });
    await execFileP(process.execPath, ['dist/dev/scripts/bundle-workflows.js'], { cwd: dir });
    fs.writeFileSync(done, `${commit}\n`);
  }
  return path.join(dir, 'dist');
}
