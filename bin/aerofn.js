#!/usr/bin/env -S node --max-semi-space-size=32
// The installed command runs the compiled CLI; `make build` writes dist/.
// The flag above is the service's one Node setting (docs/configuration.md, "Node's flags"): the
// pipeline allocates ~8 KB per event and holds thousands of events in flight, so V8's default
// 16 MB semi-space promoted most of them to the old generation; 32 MB let them die young
// (docs/benchmarks-pipeline.md, "Tenth session"). The Helm chart sets the same in NODE_OPTIONS.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
if (!existsSync(compiled)) {
  console.error('aerofn: dist/ is missing. Run `make build` in the aerodb-functions checkout first.');
  process.exit(1);
}
const { main } = await import(compiled);
await main(process.argv);
