-- Tables for the notes and on-note-insert examples, the Supabase way: rows are owned by
-- auth.uid() (the JWT's `sub`, a uuid) and guarded by row-level security policies. Run once as
-- the database owner before deploying (`make run` does it); safe to run again.
create table if not exists public.notes (
  id bigserial primary key,
  owner uuid not null default auth.uid(),
  body text not null,
  created_at timestamptz not null default now()
);
alter table public.notes enable row level security;
drop policy if exists notes_select_own on public.notes;
create policy notes_select_own on public.notes for select to authenticated using (owner = auth.uid());
drop policy if exists notes_insert_own on public.notes;
create policy notes_insert_own on public.notes for insert to authenticated with check (owner = auth.uid());

-- Written by on-note-insert with the note writer's context. INSERT … RETURNING needs a SELECT
-- policy too, so writers can read their own audit rows.
create table if not exists public.notes_audit (
  id bigserial primary key,
  note_id bigint,
  op text not null,
  actor uuid,
  row jsonb,
  at timestamptz not null default now()
);
alter table public.notes_audit enable row level security;
drop policy if exists notes_audit_insert_own on public.notes_audit;
create policy notes_audit_insert_own on public.notes_audit for insert to authenticated with check (actor = auth.uid());
drop policy if exists notes_audit_select_own on public.notes_audit;
create policy notes_audit_select_own on public.notes_audit for select to authenticated using (actor = auth.uid());

-- Explicit, so the script does not depend on default privileges. The service role (schedules,
-- change events without a user) has BYPASSRLS.
grant select, insert on public.notes, public.notes_audit to authenticated, service_role;
grant usage, select on sequence public.notes_id_seq, public.notes_audit_id_seq to authenticated, service_role;
