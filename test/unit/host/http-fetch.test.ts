import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpFetch } from '../../../src/wasm/host/index.js';
import { callJson, hostContext } from './host-context.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url} host=${req.headers.host}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

describe('http_fetch', () => {
  const fetchFn = createHttpFetch({ maxResponseBytes: 64 * 1024 });
  let echo: Awaited<ReturnType<typeof listen>>;
  let other: Awaited<ReturnType<typeof listen>>;
  let redirector: Awaited<ReturnType<typeof listen>>;
  let target = '';

  before(async () => {
    echo = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.url === '/big') {
          res.end('x'.repeat(100 * 1024));
          return;
        }
        if (req.url === '/stream-big') {
          res.write('x'.repeat(40 * 1024));
          res.write('x'.repeat(40 * 1024));
          res.end();
          return;
        }
        if (req.url === '/hang') return; // never answers
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-test', 'yes');
        res.end(JSON.stringify({ method: req.method, url: req.url, body, auth: req.headers.authorization ?? null, host: req.headers.host }));
      });
    });
    other = await listen((_req, res) => res.end('other server'));
    redirector = await listen((req, res) => {
      res.statusCode = req.url === '/see-other' ? 303 : 302;
      res.setHeader('location', target);
      res.end();
    });
  });
  after(async () => {
    for (const { server } of [echo, other, redirector]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reaches a loopback test server when its IP is listed, with method, headers and body', async () => {
    const context = hostContext({ config: { allowedHosts: ['127.0.0.1'] } });
    const answer = await callJson(fetchFn, { url: `http://127.0.0.1:${echo.port}/hello?x=1`, method: 'POST', headers: { 'x-a': '1' }, body: 'ping' }, context);
    assert.equal(answer['status'], 200);
    assert.equal((answer['headers'] as Record<string, string>)['x-test'], 'yes');
    const body = JSON.parse(answer['body'] as string) as Record<string, unknown>;
    assert.deepEqual([body['method'], body['url'], body['body']], ['POST', '/hello?x=1', 'ping']);
  });

  it('refuses a host that is not on the list, without connecting', async () => {
    const before = echo.hits.length;
    const answer = await callJson(fetchFn, { url: `http://127.0.0.1:${echo.port}/` }, hostContext({ config: { allowedHosts: ['api.example.com'] } }));
    assert.match(String((answer['error'] as { message: string }).message), /not on this function's allowedHosts/);
    assert.equal(echo.hits.length, before);
  });

  it('refuses 127.0.0.1, [::1] and a name resolving to 127.0.0.1 unless that IP is listed', async () => {
    const names = hostContext({ config: { allowedHosts: ['localhost', '127.0.0.1.nip.test'] } });
    for (const url of [`http://127.0.0.1:${echo.port}/`, `http://[::1]:${echo.port}/`]) {
      const answer = await callJson(fetchFn, { url }, hostContext({ config: { allowedHosts: [] } }));
      assert.ok('error' in answer, url);
    }
    const resolvedToLoopback = await callJson(fetchFn, { url: `http://localhost:${echo.port}/` }, names);
    assert.match(String((resolvedToLoopback['error'] as { message: string }).message), /loopback, private and link-local/);
    // A wildcard does not open internal addresses either.
    const starred = await callJson(fetchFn, { url: `http://[::1]:${echo.port}/` }, hostContext({ config: { allowedHosts: ['*.localhost', 'localhost'] } }));
    assert.ok('error' in starred);
  });

  it('connects to the address it checked: a listed name resolved once, never looked up again (DNS rebinding)', async () => {
    const lookups: string[] = [];
    const pinned = createHttpFetch({
      maxResponseBytes: 1024,
      resolve: async (name) => {
        lookups.push(name);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const context = hostContext({ config: { allowedHosts: ['api.rebind.test', '127.0.0.1'] } });
    const answer = await callJson(pinned, { url: `http://api.rebind.test:${echo.port}/pinned` }, context);
    assert.equal(answer['status'], 200);
    assert.equal((JSON.parse(answer['body'] as string) as { host: string }).host, `api.rebind.test:${echo.port}`);
    assert.deepEqual(lookups, ['api.rebind.test']);
    // Without the IP listed the same name is refused: the resolved address decides.
    const refused = await callJson(pinned, { url: `http://api.rebind.test:${echo.port}/` }, hostContext({ config: { allowedHosts: ['api.rebind.test'] } }));
    assert.ok('error' in refused);
  });

  it('follows a redirect to a listed host (dropping credentials across origins) and refuses one to an unlisted host or port', async () => {
    target = `http://127.0.0.1:${echo.port}/landed`;
    const both = hostContext({ config: { allowedHosts: [`127.0.0.1:${redirector.port}`, `127.0.0.1:${echo.port}`] } });
    const followed = await callJson(fetchFn, { url: `http://127.0.0.1:${redirector.port}/start`, headers: { authorization: 'Bearer t' } }, both);
    assert.equal(followed['status'], 200);
    const landed = JSON.parse(followed['body'] as string) as { url: string; auth: string | null };
    assert.equal(landed.url, '/landed');
    assert.equal(landed.auth, null, 'credentials do not follow a redirect to another origin');

    target = `http://127.0.0.1:${other.port}/`;
    const before = other.hits.length;
    const onlyRedirector = hostContext({ config: { allowedHosts: [`127.0.0.1:${redirector.port}`, `127.0.0.1:${echo.port}`] } });
    const refused = await callJson(fetchFn, { url: `http://127.0.0.1:${redirector.port}/start` }, onlyRedirector);
    assert.match(String((refused['error'] as { message: string }).message), /not on this function's allowedHosts/);
    assert.equal(other.hits.length, before);

    target = `http://localhost:${echo.port}/`;
    const byName = await callJson(fetchFn, { url: `http://127.0.0.1:${redirector.port}/start` }, onlyRedirector);
    assert.ok('error' in byName);
  });

  it('turns a POST into a GET without body on 303', async () => {
    target = `http://127.0.0.1:${echo.port}/after`;
    const context = hostContext({ config: { allowedHosts: ['127.0.0.1'] } });
    const answer = await callJson(fetchFn, { url: `http://127.0.0.1:${redirector.port}/see-other`, method: 'POST', body: 'data' }, context);
    const body = JSON.parse(answer['body'] as string) as Record<string, unknown>;
    assert.deepEqual([body['method'], body['body']], ['GET', '']);
  });

  it('refuses non-http schemes and URLs with credentials', async () => {
    const context = hostContext({ config: { allowedHosts: ['127.0.0.1', 'example.com'] } });
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', `http://u:p@127.0.0.1:${echo.port}/`, 'not a url']) {
      const answer = await callJson(fetchFn, { url }, context);
      assert.ok('error' in answer, url);
    }
  });

  it('caps the response size, by content-length and while streaming', async () => {
    const context = hostContext({ config: { allowedHosts: ['127.0.0.1'] } });
    for (const path of ['/big', '/stream-big']) {
      const answer = await callJson(fetchFn, { url: `http://127.0.0.1:${echo.port}${path}` }, context);
      assert.match(String((answer['error'] as { message: string }).message), /limit/, path);
    }
  });

  it('gives up at the invocation deadline and when the invocation is aborted', async () => {
    const started = Date.now();
    const late = await callJson(fetchFn, { url: `http://127.0.0.1:${echo.port}/hang` }, hostContext({ config: { allowedHosts: ['127.0.0.1'] }, deadline: Date.now() + 200 }));
    assert.match(String((late['error'] as { message: string }).message), /deadline/);
    assert.ok(Date.now() - started < 1500);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const aborted = await callJson(fetchFn, { url: `http://127.0.0.1:${echo.port}/hang` }, hostContext({ config: { allowedHosts: ['127.0.0.1'] }, signal: controller.signal }));
    assert.match(String((aborted['error'] as { message: string }).message), /invocation ended/);
  });
});
