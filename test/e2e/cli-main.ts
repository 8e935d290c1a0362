// The `aerofn` entry for tests: the same main() bin/aerofn.js runs from dist/, run from source with tsx.
import { main } from '../../src/cli/index.js';

await main(process.argv);
