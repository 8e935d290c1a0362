import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { HostCallContext, HostFunction } from '../host-function.js';
import { hostAllowed, internalAddressListed, isInternalAddress, parseAllowList, stripBrackets, type AllowEntry } from './allowed-hosts.js';
import { errorResponse, parseJsonObject } from './host-json.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export interface HttpFetchOptions {
  /** config.sandbox.httpFetchMaxResponseBytes */
  readonly maxResponseBytes: number;
  readonly maxRedirects?: number;
  /** Name → addresses; the system resolver by default (tests inject one to prove no second lookup happens). */
  readonly resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
// Hop-by-hop and routing headers the guest may not set: Host would let a listed address serve another site.
const droppedRequestHeaders = new Set(['host', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

class Refusal extends Error {}

const systemResolve = async (hostname: string): Promise<ResolvedAddress[]> =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));

interface FetchRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function parseRequest(request: Uint8Array): FetchRequest {
  const json = parseJsonObject(request);
  if (json === null) throw new Refusal('http_fetch expects a JSON object {"url","method","headers","body"}');
  const { url, method, headers, body } = json;
  if (typeof url !== 'string') throw new Refusal('http_fetch needs a "url" string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Refusal(`"${url}" is not an absolute URL`);
  }
  if (method !== undefined && (typeof method !== 'string' || !/^[A-Za-z]{1,16}$/.test(method))) throw new Refusal('"method" must be an HTTP method name');
  if (body !== undefined && body !== null && typeof body !== 'string') throw new Refusal('"body" must be a string');
  const outHeaders: Record<string, string> = {};
  if (headers !== undefined && headers !== null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) throw new Refusal('"headers" must be an object of strings');
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      if (typeof value !== 'string') throw new Refusal(`header "${name}" must be a string`);
      if (!droppedRequestHeaders.has(name.toLowerCase())) outHeaders[name] = value;
    }
  }
  return { url: parsed, method: (method ?? 'GET').toUpperCase(), headers: outHeaders, body: body ?? undefined };
}

function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Checks scheme, allow-list and every resolved address; returns the one address we will connect to. */
async function checkDestination(url: URL, list: readonly AllowEntry[], resolve: HttpFetchOptions['resolve'] & {}): Promise<ResolvedAddress> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Refusal(`only http and https URLs are allowed, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new Refusal('URLs with credentials are not allowed; send an authorization header');
  const host = stripBrackets(url.hostname);
  const port = portOf(url);
  if (!hostAllowed(list, url.hostname, port)) {
    throw new Refusal(`${host}:${port} is not on this function's allowedHosts; add it to config.allowedHosts to reach it`);
  }
  const family = isIP(host);
  const addresses: ResolvedAddress[] = family !== 0 ? [{ address: host, family: family === 6 ? 6 : 4 }] : await resolve(host).catch((error: unknown) => {
    throw new Refusal(`cannot resolve ${host}: ${(error as Error).message}`);
  });
  const usable = addresses.filter((entry) => !isInternalAddress(entry.address) || internalAddressListed(list, entry.address, port));
  if (usable.length === 0) {
    const shown = addresses.map((entry) => entry.address).join(', ') || 'nothing';
    throw new Refusal(`${host} resolves to ${shown}: loopback, private and link-local addresses are reachable only when that IP is listed in allowedHosts`);
  }
  return usable[0] as ResolvedAddress;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  location: string | undefined;
}

function send(request: FetchRequest, address: ResolvedAddress, maxBytes: number, signal: AbortSignal): Promise<RawResponse> {
  // Connect to the address we checked, never to a second DNS answer (DNS rebinding).
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all === true) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [address]);
    else callback(null, address.address, address.family);
  };
  const client = request.url.protocol === 'https:' ? https : http;
  return new Promise((resolvePromise, reject) => {
    const req = client.request(
      request.url,
      { method: request.method, headers: request.headers, lookup, signal, agent: false, ...(request.url.protocol === 'https:' && isIP(stripBrackets(request.url.hostname)) === 0 ? { servername: request.url.hostname } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          res.destroy();
          reject(new Refusal(`the response is ${declared} bytes, over the ${maxBytes}-byte limit`));
          return;
        }
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            reject(new Refusal(`the response is over the ${maxBytes}-byte limit`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolvePromise({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks), location: res.headers.location });
        });
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/**
 * http_fetch (DESIGN §4.2, §5): only allow-listed hosts, http and https only, redirects followed by
 * hand with every hop checked again, resolved addresses checked (internal ones only when their IP
 * is listed) and connected to directly, a response-size cap, and the invocation's deadline/abort.
 */
export function createHttpFetch(options: HttpFetchOptions): HostFunction {
  const resolve = options.resolve ?? systemResolve;
  const maxRedirects = options.maxRedirects ?? 5;
  return async (requestBytes: Uint8Array, context: HostCallContext): Promise<string> => {
    const remaining = context.deadline - Date.now();
    if (remaining <= 0) return errorResponse('the invocation deadline has passed');
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(remaining)]);
    try {
      const list = parseAllowList(context.config.allowedHosts);
      let request = parseRequest(requestBytes);
      for (let hop = 0; ; hop += 1) {
        const address = await checkDestination(request.url, list, resolve);
        const response = await send(request, address, options.maxResponseBytes, signal);
        if (!redirectStatuses.has(response.status) || response.location === undefined) {
          return JSON.stringify({ status: response.status, headers: response.headers, body: response.body.toString('utf8') });
        }
        if (hop >= maxRedirects) throw new Refusal(`more than ${maxRedirects} redirects`);
        const next = new URL(response.location, request.url);
        const keepsBody = response.status === 307 || response.status === 308;
        const headers = { ...request.headers };
        if (next.origin !== request.url.origin) {
          // Credentials are for the origin the guest named, not for wherever it redirects.
          for (const name of Object.keys(headers)) if (/^(authorization|cookie)$/i.test(name)) delete headers[name];
        }
        request = keepsBody
          ? { ...request, url: next, headers }
          : { url: next, method: request.method === 'HEAD' ? 'HEAD' : 'GET', headers, body: undefined };
      }
    } catch (error) {
      if (error instanceof Refusal) return errorResponse(error.message);
      if (signal.aborted) {
        return errorResponse(context.signal.aborted ? 'the invocation ended before the response arrived' : 'the request ran past the invocation deadline');
      }
      context.logger.debug({ err: error }, 'http_fetch failed');
      return errorResponse(`the request failed: ${(error as Error).message}`);
    }
  };
}
