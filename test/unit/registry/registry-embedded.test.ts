import { openEmbeddedPair } from './embedded-pair.js';
import { registrySuite } from './registry-suite.js';

registrySuite('embedded', openEmbeddedPair);
