import { BlockList, isIP } from 'node:net';

/**
 * DESIGN §4.1 allow-list entries: `host`, `host:port`, `*.example.com` (any subdomain, not the apex),
 * an IPv4 literal, an IPv6 literal (`::1` or `[::1]`, with `[::1]:8080` for a port). No port = any port.
 */
export interface AllowEntry {
  readonly host: string; // lower case, no brackets; `*.` prefix for wildcards
  readonly port: number | null;
  readonly ip: boolean;
}

export function parseAllowEntry(entry: string): AllowEntry | null {
  const text = entry.trim().toLowerCase();
  if (text === '') return null;
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed !== null) {
    const host = bracketed[1] as string;
    if (isIP(host) !== 6) return null;
    return { host, port: bracketed[2] === undefined ? null : Number(bracketed[2]), ip: true };
  }
  if (isIP(text) === 6) return { host: text, port: null, ip: true };
  const match = /^(\*\.)?([a-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (match === null) return null;
  const host = `${match[1] ?? ''}${match[2] as string}`;
  const port = match[3] === undefined ? null : Number(match[3]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host, port, ip: match[1] === undefined && isIP(match[2] as string) === 4 };
}

export function parseAllowList(entries: readonly string[]): AllowEntry[] {
  return entries.map(parseAllowEntry).filter((entry): entry is AllowEntry => entry !== null);
}

function portMatches(entry: AllowEntry, port: number): boolean {
  return entry.port === null || entry.port === port;
}

/** Is the URL's host (a name or an IP literal) on the list for this port? */
export function hostAllowed(list: readonly AllowEntry[], hostname: string, port: number): boolean {
  const host = stripBrackets(hostname).toLowerCase().replace(/\.$/, '');
  const hostIsIp = isIP(host) !== 0;
  return list.some((entry) => {
    if (!portMatches(entry, port)) return false;
    if (entry.host.startsWith('*.')) return !hostIsIp && host.endsWith(entry.host.slice(1)) && host.length > entry.host.length - 1;
    return entry.ip && hostIsIp ? sameIp(entry.host, host) : entry.host === host;
  });
}

/** A loopback/private/link-local/… address is reachable only when that IP literal is listed (with the port, if given). */
export function internalAddressListed(list: readonly AllowEntry[], address: string, port: number): boolean {
  return list.some((entry) => entry.ip && portMatches(entry, port) && sameIp(entry.host, address));
}

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function sameIp(a: string, b: string): boolean {
  const list = new BlockList();
  const family = isIP(a) === 6 ? 'ipv6' : 'ipv4';
  list.addAddress(a, family);
  return list.check(b, isIP(b) === 6 ? 'ipv6' : 'ipv4');
}

const internal = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", includes the unspecified address
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata endpoints
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) internal.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) internal.addSubnet(net, prefix, 'ipv6');

/** Loopback, private, link-local, unspecified, multicast or reserved; IPv4-mapped/NAT64 IPv6 checked as their IPv4. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return internal.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: never connect
  const embedded = embeddedIpv4(address);
  if (embedded !== null) return internal.check(embedded, 'ipv4');
  return internal.check(address, 'ipv6');
}

function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted !== null) return dotted[1] as string;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex === null) return null;
  const high = parseInt(hex[1] as string, 16);
  const low = parseInt(hex[2] as string, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
