import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostAllowed, isInternalAddress, parseAllowList } from '../../../src/wasm/host/index.js';

describe('allowedHosts matching (DESIGN §4.1)', () => {
  const list = parseAllowList(['api.example.com', 'pay.example.net:8443', '*.example.org', '127.0.0.1:9000', '[::1]', '10.0.0.5']);

  it('matches a host on any port, a host:port on that port only, case-insensitively', () => {
    assert.equal(hostAllowed(list, 'api.example.com', 443), true);
    assert.equal(hostAllowed(list, 'API.Example.com', 8080), true);
    assert.equal(hostAllowed(list, 'pay.example.net', 8443), true);
    assert.equal(hostAllowed(list, 'pay.example.net', 443), false);
    assert.equal(hostAllowed(list, 'evil-api.example.com', 443), false);
    assert.equal(hostAllowed(list, 'api.example.com.evil.net', 443), false);
  });

  it('matches *.example.org for any subdomain depth but not the apex', () => {
    assert.equal(hostAllowed(list, 'a.example.org', 1), true);
    assert.equal(hostAllowed(list, 'b.a.example.org', 1), true);
    assert.equal(hostAllowed(list, 'example.org', 1), false);
    assert.equal(hostAllowed(list, 'notexample.org', 1), false);
  });

  it('matches IP literals, IPv6 with or without brackets', () => {
    assert.equal(hostAllowed(list, '127.0.0.1', 9000), true);
    assert.equal(hostAllowed(list, '127.0.0.1', 9001), false);
    assert.equal(hostAllowed(list, '[::1]', 1234), true);
    assert.equal(hostAllowed(list, '10.0.0.5', 80), true);
    assert.equal(hostAllowed(list, '10.0.0.6', 80), false);
  });

  it('ignores entries that are not hosts', () => {
    assert.deepEqual(parseAllowList(['', 'http://x.com', 'x.com:99999', 'a b']), []);
  });

  it('classifies loopback, private, link-local, unspecified and mapped addresses as internal', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '10.1.1.1', '172.16.0.1', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.64.0.1', '::1', '::', 'fe80::1', 'fd12::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1']) {
      assert.equal(isInternalAddress(address), true, address);
    }
    for (const address of ['8.8.8.8', '93.184.216.34', '2606:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(isInternalAddress(address), false, address);
    }
  });
});
