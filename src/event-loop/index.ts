export { LoopHold } from './loop-hold.js';
export { startModuleWorker } from './module-worker.js';
