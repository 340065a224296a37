// Bundles the workflow code once at build time (dist/workflow-bundle.js), so workers start fast and the
// container image carries exactly the code that was tested.
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { REPO_ROOT } from '../stack/paths.js';

const { code } = await bundleWorkflowCode({ workflowsPath: path.join(REPO_ROOT, 'dist', 'workflows', 'index.js'), logger: new DefaultLogger('WARN') });
fs.writeFileSync(path.join(REPO_ROOT, 'dist', 'workflow-bundle.js'), code);
console.log(`workflow bundle: ${(code.length / 1024).toFixed(0)} KiB`);
