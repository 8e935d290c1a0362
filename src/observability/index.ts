export { createRootLogger, createThreadLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { topologyPage } from './topology-page.js';
export type { TopologyPage } from './topology-page.js';
export { counterIn, gaugeIn, histogramIn } from './metrics-registry.js';
