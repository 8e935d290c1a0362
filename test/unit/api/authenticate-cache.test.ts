import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate, type Authenticator } from '../../../src/api/index.js';
import { createJwtVerifier, mintToken } from '../../../src/auth/index.js';
import { FunctionError } from '../../../src/errors/index.js';

const secret = 'a-test-secret-of-at-least-32-bytes!!';

/** The real HS256 verifier, counting how often it really verifies. */
async function countingVerifier(): Promise<Authenticator & { calls: number }> {
  const real = await createJwtVerifier({ jwtSecret: secret, jwtPublicKeys: [] });
  const counting = {
    calls: 0,
    verify(token: string) {
      counting.calls++;
      return real.verify(token);
    },
  };
  return counting;
}

describe('authenticate: recently verified tokens', () => {
  it('verifies a token once, then answers the same context from the cache', async () => {
    const auth = await countingVerifier();
    const token = await mintToken({ secret, role: 'authenticated', sub: 'user-1' });
    const first = await authenticate(auth, `Bearer ${token}`);
    const second = await authenticate(auth, `Bearer ${token}`);
    assert.equal(auth.calls, 1);
    assert.equal(second, first);
    assert.equal(second.sub, 'user-1');
    // Another token, and another authenticator, are verified on their own.
    await authenticate(auth, `Bearer ${await mintToken({ secret, role: 'anon' })}`);
    assert.equal(auth.calls, 2);
    const other = await countingVerifier();
    await authenticate(other, `Bearer ${token}`);
    assert.equal(other.calls, 1);
  });

  it('verifies again once the token has expired, and then refuses it', async () => {
    const auth = await countingVerifier();
    const token = await mintToken({ secret, role: 'anon', expiresInSeconds: 1 });
    await authenticate(auth, `Bearer ${token}`);
    await authenticate(auth, `Bearer ${token}`);
    assert.equal(auth.calls, 1);
    // jwt exp has whole seconds: wait until it has passed, then past the verifier's 5 s tolerance.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await authenticate(auth, `Bearer ${token}`);
    assert.equal(auth.calls, 2, 'past exp the cache no longer answers');
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await assert.rejects(authenticate(auth, `Bearer ${token}`), (error: unknown) => error instanceof FunctionError && error.kind === 'Unauthorized');
    assert.equal(auth.calls, 3);
  });

  it('never keeps a refusal: a bad or expired token is verified, and refused, every time', async () => {
    const auth = await countingVerifier();
    const expired = await mintToken({ secret, role: 'anon', expiresInSeconds: -60 });
    const forged = await mintToken({ secret: 'another-secret-of-at-least-32-bytes', role: 'service_role' });
    for (const token of [expired, forged, expired, forged]) {
      await assert.rejects(authenticate(auth, `Bearer ${token}`), (error: unknown) => error instanceof FunctionError && error.kind === 'Unauthorized');
    }
    assert.equal(auth.calls, 4);
  });
});
