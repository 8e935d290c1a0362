#!/usr/bin/env node
// The installed command runs the compiled CLI; `make build` writes dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
if (!existsSync(compiled)) {
  console.error('aerofn: dist/ is missing. Run `make build` in the aerodb-functions checkout first.');
  process.exit(1);
}
const { main } = await import(compiled);
await main(process.argv);
