import path from 'node:path';
import { STACK_DIR } from '../../dist/dev/stack/paths.js';

/**
 * Present while the stack was started by a Jest run (so that run's teardown stops it). One per stack directory: a
 * run on another stack (MULTI_ENI_STACK_DIR) never takes this one's marker for its own.
 */
export const STARTED_MARKER = path.join(path.dirname(STACK_DIR), `${path.basename(STACK_DIR)}.started-by-jest`);
