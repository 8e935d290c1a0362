// Fails when src/ has an import cycle (DESIGN §3: import cycles fail the build).
import madge from 'madge';

const result = await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json', excludeRegExp: [/\/gen\//] });
const cycles = result.circular();
if (cycles.length > 0) {
  console.error(`import cycles in src/ (${cycles.length}):`);
  for (const cycle of cycles) console.error('  ' + cycle.join(' -> '));
  process.exit(1);
}
console.log(`no import cycles among ${Object.keys(result.obj()).length} modules`);
