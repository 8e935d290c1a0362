// GET /topology in a real Chromium (Debian's, driven by playwright-core; `make tools` installs it):
// the page draws the nodes and edges the running pipeline's describe() reports, its counters and
// rates rise live while rows change in the database, a node turns red when its errors rise, and
// the page says "disconnected" when the server goes away.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { watToWasm } from '../fixtures/wasm/compile-fixture.js';
import { dbQueryGuestWat } from '../fixtures/wasm/wat-parts.js';
import { deploy, request, startHarness, type Harness } from './api-harness.js';

const chromiumPath = process.env['AEROFN_CHROMIUM'] ?? '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

interface DescribedNode {
  name: string;
  kind: string;
  in: number;
  errors: number;
  successors: string[];
}
interface Described {
  text: string;
  lag: Array<{ topic: string; partition: number; lag: number }>;
  subTopologies: Array<{ nodes: DescribedNode[] }>;
}


async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!ok(value)) {
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

async function nodeAttribute(page: Page, node: string, attribute: string): Promise<string | null> {
  return page.locator(`g.node[data-node="${node}"]`).getAttribute(attribute);
}

const numberAttribute = async (page: Page, node: string, attribute: string): Promise<number> => Number((await nodeAttribute(page, node, attribute)) ?? NaN);

describe('the topology page in a real Chromium', () => {
  const table = `topo_items_${randomBytes(4).toString('hex')}`;
  let h: Harness;
  let dir: string;
  let browser: Browser;
  let page: Page;
  let polling: Page;
  const problems: string[] = [];

  const described = async (): Promise<Described> => {
    const response = await request(h, 'GET', '/topology.json');
    assert.equal(response.status, 200, response.text);
    return (response.body as { description: Described }).description;
  };
  const fill = async (): Promise<void> => {
    const filled = await request(h, 'POST', '/functions/v1/fill', { json: {}, token: h.tokens.serviceRole });
    assert.equal(filled.status, 200, filled.text);
  };
  const watch = (target: Page): void => {
    target.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    target.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aerofn-topology-page-'));
    const schema = join(dir, 'schema.sql');
    await writeFile(schema, `create table if not exists ${table} (id bigserial primary key, n int not null);\ngrant select, insert on ${table} to service_role;\ngrant usage on sequence ${table}_id_seq to service_role;\n`);
    h = await startHarness({ AEROFN_INIT_SQL: schema });
    const writer = Buffer.from(await watToWasm(dbQueryGuestWat(`insert into ${table} (n) select g from generate_series(1, 10) g`))).toString('base64');
    const deployed = await request(h, 'POST', '/functions/v1/deploy', { token: h.tokens.serviceRole, json: { name: 'fill', wasm: writer } });
    assert.equal(deployed.status, 201, deployed.text);
    const trigger = await deploy(h, 'on-item', 'echo', { triggers: [{ type: 'database', table, operations: ['INSERT'] }] });
    assert.equal(trigger.status, 201, trigger.text);
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    watch(page);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('draws the nodes and edges that describe() reports, and its text', async () => {
    const response = await page.goto(`${h.baseUrl}/topology`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'sha256-/);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });

    const description = await described();
    const nodes = description.subTopologies.flatMap((sub) => sub.nodes);
    assert.ok(nodes.length >= 3, JSON.stringify(nodes));
    const drawn = await Promise.all((await page.locator('g.node').all()).map((node) => node.getAttribute('data-node')));
    assert.deepEqual([...drawn].sort(), nodes.map((node) => node.name).sort());
    for (const node of nodes) {
      assert.equal(await nodeAttribute(page, node.name, 'data-kind'), node.kind);
      assert.match((await page.locator(`g.node[data-node="${node.name}"] text.name`).textContent()) ?? '', new RegExp(`^${node.name}`));
    }
    const edges = nodes.flatMap((node) => node.successors.map((to) => `${node.name} -> ${to}`)).sort();
    assert.ok(edges.length >= nodes.length - 1, edges.join('\n'));
    const drawnEdges = await Promise.all(
      (await page.locator('path.edge').all()).map(async (edge) => `${await edge.getAttribute('data-from')} -> ${await edge.getAttribute('data-to')}`),
    );
    assert.deepEqual(drawnEdges.sort(), edges);
    assert.equal(await page.locator('#description').textContent(), description.text);
    assert.match(description.text, /Source: change-source/);

    const lagRows = await page.locator('#lag-body tr[data-partition]').count();
    assert.equal(lagRows, description.lag.length);
    // Every node is inside the viewport's width: readable on a laptop without scrolling sideways.
    const box = await page.locator('#graph-body svg').boundingBox();
    assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 1366, JSON.stringify(box));
    assert.deepEqual(problems, []);
  });

  it('shows counters and rates rising while rows change, without a reload', async () => {
    await page.evaluate('window.__sameDocument = 42');
    const sourceBefore = await numberAttribute(page, 'change-source', 'data-in');
    const invokeBefore = await numberAttribute(page, 'invoke', 'data-in');
    assert.ok(Number.isFinite(sourceBefore) && Number.isFinite(invokeBefore));

    let peakRate = 0;
    let peakText = '';
    const sampleRate = async (): Promise<number> => {
      const rate = Number((await nodeAttribute(page, 'invoke', 'data-rate')) || 0);
      if (rate > peakRate) {
        peakRate = rate;
        peakText = (await page.locator('g.node[data-node="invoke"] text.rate').textContent()) ?? '';
      }
      return numberAttribute(page, 'invoke', 'data-in');
    };
    // Three inserts of 10 rows each, spread over more than one snapshot interval.
    for (let i = 0; i < 3; i += 1) {
      await fill();
      const pause = Date.now() + 400;
      while (Date.now() < pause) await sampleRate();
    }
    await until('invoke in after 30 inserted rows', sampleRate, (n) => n >= invokeBefore + 30, 15_000);
    await until('a positive invoke rate', async () => (await sampleRate(), peakRate), (rate) => rate > 0, 5_000);
    assert.match(peakText, /^[0-9.,]+ ev\/s$/);
    assert.ok(Number(peakText.replace(/[^0-9.]/g, '')) > 0, peakText);
    assert.ok((await numberAttribute(page, 'change-source', 'data-in')) >= sourceBefore + 30);

    // Once the work is done the page settles on what /topology.json says.
    await until('the table row of invoke agrees with /topology.json', async () => {
      const json = (await described()).subTopologies[0]?.nodes.find((node) => node.name === 'invoke')?.in;
      return { json, page: await numberAttribute(page, 'invoke', 'data-in') };
    }, (seen) => seen.json === seen.page, 5_000);
    assert.equal(await page.evaluate('window.__sameDocument'), 42, 'the page was reloaded');
    assert.deepEqual(problems, []);
  });

  it('turns a node red when its errors rise', async () => {
    const panic = await deploy(h, 'on-item-panics', 'panic', { triggers: [{ type: 'database', table, operations: ['INSERT'] }] });
    assert.equal(panic.status, 201, panic.text);
    const errorsBefore = await numberAttribute(page, 'invoke', 'data-errors');
    assert.doesNotMatch((await nodeAttribute(page, 'invoke', 'class')) ?? '', /\bbad\b/);
    // Capture of the table follows the registry change asynchronously; keep inserting until errors show.
    await until('invoke errors after a panicking trigger', async () => {
      await fill();
      return numberAttribute(page, 'invoke', 'data-errors');
    }, (n) => n > errorsBefore, 15_000);
    await until('the invoke node coloured as failing', () => nodeAttribute(page, 'invoke', 'class'), (c) => /\bbad\b/.test(c ?? ''), 5_000);
    await until('dead letters reaching the dlq sink', () => numberAttribute(page, 'dlq-sink', 'data-in'), (n) => n > 0, 10_000);
    assert.equal(await page.locator('#nodes-body tr[data-node="invoke"]').getAttribute('class'), 'bad');
  });

  it('streams /topology.json snapshots as server-sent events and refuses a bad interval', async () => {
    const bad = await request(h, 'GET', '/topology/stream?intervalMs=5');
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /intervalMs must be a whole number of milliseconds from 100 to 60000/);

    const stop = new AbortController();
    const response = await fetch(`${h.baseUrl}/topology/stream?intervalMs=100`, { signal: stop.signal });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = response.body!.getReader();
    let text = '';
    const events: Array<{ event: string; data: string }> = [];
    while (events.length < 2) {
      const { value, done } = await reader.read();
      assert.equal(done, false, `the stream ended early: ${text}`);
      text += Buffer.from(value).toString('utf8');
      const blocks = text.split('\n\n');
      text = blocks.pop() ?? '';
      for (const block of blocks) {
        const event = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data });
      }
    }
    stop.abort();
    for (const { event, data } of events) {
      assert.equal(event, 'topology');
      const snapshot = JSON.parse(data) as { nodes: Array<{ name: string; metrics: object }>; description: Described; capturedAt: string };
      // The fields docs/topology.md documents, no more and no fewer.
      const keys = (value: object): string[] => Object.keys(value).sort();
      assert.deepEqual(keys(snapshot), ['capturedAt', 'description', 'nodes']);
      assert.deepEqual(keys(snapshot.description), ['groupId', 'lag', 'mode', 'state', 'subTopologies', 'text', 'totalLag']);
      for (const node of snapshot.nodes) {
        assert.deepEqual(keys(node), ['inputs', 'metrics', 'name', 'type']);
        assert.deepEqual(keys(node.metrics).filter((key) => !['p50Ms', 'p99Ms'].includes(key)), ['errors', 'in', 'inFlight', 'out']);
      }
      for (const sub of snapshot.description.subTopologies) {
        assert.deepEqual(keys(sub), ['id', 'nodes']);
        for (const node of sub.nodes) assert.deepEqual(keys(node), ['errors', 'in', 'inFlight', 'kind', 'name', 'out', 'p50Ms', 'p99Ms', 'predecessors', 'successors', 'topics']);
      }
      for (const part of snapshot.description.lag) assert.deepEqual(keys(part), ['lag', 'partition', 'topic']);
      assert.deepEqual(snapshot.nodes.map((node) => node.name), (await described()).subTopologies[0]?.nodes.map((node) => node.name));
      assert.ok(!Number.isNaN(Date.parse(snapshot.capturedAt)));
    }
  });

  it('shows the disconnected state when the server goes away, also when polling', async () => {
    polling = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    watch(polling);
    await polling.goto(`${h.baseUrl}/topology?mode=poll&intervalMs=300`);
    await polling.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    assert.equal(await polling.locator('g.node').count(), await page.locator('g.node').count());
    assert.match((await polling.locator('#transport').textContent()) ?? '', /polling/);
    assert.deepEqual(problems, []);

    await h.close();
    for (const target of [page, polling]) {
      await target.locator('#connection[data-state="disconnected"]').waitFor({ timeout: 5_000 });
      assert.equal(await target.locator('body').getAttribute('data-connection'), 'disconnected');
      assert.ok(await target.locator('#banner').isVisible());
      assert.match((await target.locator('#banner').textContent()) ?? '', /shutting down|Disconnected|Cannot reach/);
      // The last numbers stay on screen, dimmed.
      assert.ok((await target.locator('g.node').count()) > 0);
    }
  });
});
