import pg from 'pg';

/** AEROFN_TEST_DATABASE_URL, started by scripts/postgres.sh (make test does it). */
export const testDatabaseUrl = process.env['AEROFN_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:54329/postgres';

/** Creates a throwaway database on the test server; `drop` removes it (closing stray connections first). */
export async function withDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: testDatabaseUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
