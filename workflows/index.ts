// The workflows the controller worker registers.
export { eniLifecycle } from './eni-lifecycle.js';
export { eniFleetSweep } from './fleet-sweep.js';
