import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { createJwtVerifier, mintDevTokens, mintToken, type JwtVerifier } from '../../../src/auth/index.js';
import { FunctionError } from '../../../src/errors/index.js';

const secret = 'test-secret-that-is-long-enough-for-hs256-0123456789';

async function rejects(verifier: JwtVerifier, token: string, pattern: RegExp): Promise<void> {
  await assert.rejects(verifier.verify(token), (error: unknown) => {
    assert.ok(error instanceof FunctionError, `expected FunctionError, got ${String(error)}`);
    assert.equal(error.kind, 'Unauthorized');
    assert.equal(error.httpStatus, 401);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('JWT verification (HS256 secret)', () => {
  let verifier: JwtVerifier;
  before(async () => {
    verifier = await createJwtVerifier({ jwtSecret: secret, jwtPublicKeys: [] });
  });

  it('turns role and sub claims into the RLS context, keeping every claim', async () => {
    const token = await mintToken({ secret, role: 'authenticated', sub: 'user-a', claims: { email: 'a@example.com' } });
    const context = await verifier.verify(token);
    assert.equal(context.role, 'authenticated');
    assert.equal(context.sub, 'user-a');
    assert.equal(context.claims['email'], 'a@example.com');
  });

  it('gives anon and service_role dev tokens their roles and no subject', async () => {
    const { anon, serviceRole } = await mintDevTokens(secret);
    assert.deepEqual([(await verifier.verify(anon)).role, (await verifier.verify(anon)).sub], ['anon', null]);
    assert.equal((await verifier.verify(serviceRole)).role, 'service_role');
  });

  it('refuses an expired token', async () => {
    await rejects(verifier, await mintToken({ secret, role: 'authenticated', sub: 'u', expiresInSeconds: -60 }), /expired/);
  });

  it('refuses a token signed with another secret (forgery)', async () => {
    await rejects(verifier, await mintToken({ secret: `${secret}-forged`, role: 'service_role' }), /signature/);
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const token = await mintToken({ secret, role: 'authenticated', sub: 'user-a' });
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ role: 'service_role', sub: 'user-a', exp: 9_999_999_999 })).toString('base64url');
    await rejects(verifier, `${header}.${payload}.${signature}`, /signature/);
  });

  it('refuses alg=none', async () => {
    const token = new UnsecuredJWT({ role: 'service_role' }).setIssuedAt().setExpirationTime('1h').encode();
    await rejects(verifier, token, /none|algorithm/);
  });

  it('refuses an unknown role and a missing role', async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
    await rejects(verifier, await sign({ role: 'postgres' }), /not one of/);
    await rejects(verifier, await sign({ sub: 'x' }), /no "role"/);
  });

  it('refuses something that is not a JWT', async () => {
    await rejects(verifier, 'not-a-token', /not a JWT/);
  });

  it('refuses every token when no key is configured', async () => {
    const none = await createJwtVerifier({ jwtSecret: undefined, jwtPublicKeys: [] });
    await rejects(none, await mintToken({ secret, role: 'anon' }), /AEROFN_JWT_SECRET/);
  });
});

describe('JWT verification (RS256 / ES256 public keys)', () => {
  let dir: string;
  let verifier: JwtVerifier;
  type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let rsaPrivate: PrivateKey;
  let ecPrivate: PrivateKey;
  let rsaPem: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aerofn-jwt-'));
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    rsaPrivate = rsa.privateKey;
    ecPrivate = ec.privateKey;
    rsaPem = await exportSPKI(rsa.publicKey);
    await writeFile(join(dir, 'rsa.pem'), rsaPem);
    await writeFile(join(dir, 'ec.pem'), await exportSPKI(ec.publicKey));
    verifier = await createJwtVerifier({ jwtSecret: undefined, jwtPublicKeys: [join(dir, 'rsa.pem'), join(dir, 'ec.pem')] });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts RS256 and ES256 tokens signed by the matching private keys', async () => {
    const rs = await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'RS256' }).setSubject('r').setExpirationTime('1h').sign(rsaPrivate);
    const es = await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256' }).setSubject('e').setExpirationTime('1h').sign(ecPrivate);
    assert.equal((await verifier.verify(rs)).sub, 'r');
    assert.equal((await verifier.verify(es)).sub, 'e');
  });

  it('refuses an RS256 token from a key that is not configured', async () => {
    const other = await generateKeyPair('RS256');
    const token = await new SignJWT({ role: 'service_role' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(other.privateKey);
    await rejects(verifier, token, /signature/);
  });

  it('refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const token = await new SignJWT({ role: 'service_role' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(rsaPem));
    await rejects(verifier, token, /accepts RS256, ES256/);
  });

  it('fails at start, naming the file, when a key file is not a PEM key', async () => {
    await writeFile(join(dir, 'bad.pem'), 'nope');
    await assert.rejects(createJwtVerifier({ jwtSecret: undefined, jwtPublicKeys: [join(dir, 'bad.pem')] }), /bad\.pem/);
  });
});
