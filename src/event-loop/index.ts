export { LoopHold } from './loop-hold.js';
