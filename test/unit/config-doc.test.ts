import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describeSettings } from '../../src/config/index.js';

it('docs/configuration.md lists every setting exactly as the schema describes it', async () => {
  const doc = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  for (const row of describeSettings().split('\n')) {
    assert.ok(doc.includes(row), `docs/configuration.md lacks or differs on:\n${row}\n(regenerate the table with describeSettings())`);
  }
});
