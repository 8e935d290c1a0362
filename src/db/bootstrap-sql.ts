/**
 * Run once at every start, as the owner, inside one transaction under an advisory lock so that
 * several instances starting together do not race. Everything is idempotent.
 */
export const bootstrapLockKey = 7_274_001;
/** Taken by every capture trigger until commit: outbox ids then follow commit order (docs/database.md). */
export const captureOrderLockKey = 7_274_002;
/** Held by the relay while it moves one batch, so two instances never relay the same rows. */
export const relayLockKey = 7_274_003;

export const rolesSql = `
do $$
declare
  r record;
begin
  for r in select * from (values ('anon', false), ('authenticated', false), ('service_role', true)) as t(name, bypass) loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I nologin noinherit %s', r.name, case when r.bypass then 'bypassrls' else '' end);
      exception when duplicate_object then null; -- another database of the cluster made it first
      end;
    end if;
  end loop;
  -- SET ROLE needs membership unless the owner is a superuser.
  if not (select rolsuper from pg_roles where rolname = current_user) then
    begin
      execute format('grant anon, authenticated, service_role to %I', current_user);
    exception when others then
      raise warning 'aerofn: could not grant anon, authenticated, service_role to %: %', current_user, sqlerrm;
    end;
  end if;
end $$;
`;

export const authSchemaSql = `
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create or replace function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;

-- Supabase's auth.uid() is a uuid; a non-uuid sub gives null rather than an error in every policy.
create or replace function auth.uid() returns uuid language sql stable as $$
  select case when (auth.jwt() ->> 'sub') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then (auth.jwt() ->> 'sub')::uuid end
$$;

create or replace function auth.role() returns text language sql stable as $$
  select coalesce(auth.jwt() ->> 'role', nullif(current_setting('role', true), 'none'))
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;

-- As Supabase does: tables the owner creates in public are granted to the API roles, and rows
-- are then guarded by row-level security policies. Enable RLS on every such table.
alter default privileges in schema public grant select, insert, update, delete on tables to anon, authenticated, service_role;
alter default privileges in schema public grant usage, select on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant execute on functions to anon, authenticated, service_role;
`;

/**
 * Guest SQL must not rewrite its own claims or role. Top-level SET/RESET/DO are refused by the
 * statement guard; these close the nested ways (select set_config(…), update pg_settings …).
 */
export const lockdownSql = `
do $$
begin
  revoke execute on function pg_catalog.set_config(text, text, boolean) from public;
  revoke update on pg_catalog.pg_settings from public;
  -- Pooled connections outlive a statement: a guest's temp table would shadow a real table for
  -- the next caller on that connection, and a session advisory lock would block every captured
  -- write. Neither is for guests (\`select … into\` and lock functions pass the statement guard).
  execute format('revoke temporary on database %I from public', current_database());
  revoke create on schema public from public;
  revoke execute on function pg_catalog.pg_advisory_lock(bigint), pg_catalog.pg_advisory_lock(integer, integer),
    pg_catalog.pg_advisory_lock_shared(bigint), pg_catalog.pg_advisory_lock_shared(integer, integer),
    pg_catalog.pg_try_advisory_lock(bigint), pg_catalog.pg_try_advisory_lock(integer, integer),
    pg_catalog.pg_try_advisory_lock_shared(bigint), pg_catalog.pg_try_advisory_lock_shared(integer, integer)
    from public;
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant execute on function pg_catalog.set_config(text, text, boolean) to %I', current_user);
    execute format('grant temporary on database %I to %I', current_database(), current_user);
  end if;
exception when insufficient_privilege then
  raise warning 'aerofn: connect once as a superuser so that guests cannot call set_config (see docs/security.md)';
end $$;
`;

export const outboxSql = `
create schema if not exists aerofn;
revoke all on schema aerofn from public;

create table if not exists aerofn.change_outbox (
  id bigserial primary key,
  tx_id bigint not null,
  schema_name text not null,
  table_name text not null,
  op text not null,
  row_data jsonb,
  old_data jsonb,
  claims jsonb,
  trigger_depth integer not null default 0,
  written_at timestamptz not null default clock_timestamp()
);

create or replace function aerofn.capture_change() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  -- Writers of captured tables take turns from their first captured write to commit, so the
  -- bigserial id order is the commit order and the committed rows are always a prefix of it.
  perform pg_advisory_xact_lock(${captureOrderLockKey});
  insert into aerofn.change_outbox (tx_id, schema_name, table_name, op, row_data, old_data, claims, trigger_depth)
  values (
    txid_current(), tg_table_schema, tg_table_name, tg_op,
    case when tg_op = 'DELETE' then to_jsonb(old) else to_jsonb(new) end,
    case when tg_op = 'INSERT' then null else to_jsonb(old) end,
    nullif(current_setting('request.jwt.claims', true), '')::jsonb,
    coalesce(nullif(current_setting('aerofn.trigger_depth', true), '')::integer, 0)
  );
  return null;
end $$;
revoke all on function aerofn.capture_change() from public;
`;
