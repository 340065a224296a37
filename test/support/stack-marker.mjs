import path from 'node:path';
import { STACK_DIR } from '../../dist/dev/stack/paths.js';

/** Present while the stack was started by a Jest run (so that run's teardown stops it). */
export const STARTED_MARKER = path.join(path.dirname(STACK_DIR), 'multi-eni-stack.started-by-jest');
