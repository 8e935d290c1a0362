-- Tables for the notes and on-note-insert examples. Run once as a superuser or the service role
-- (the dev setup does it before deploying). auth.uid() is cast to text so the example works
-- whether the helper returns uuid (as Supabase does) or text, and whatever shape `sub` has.
create table if not exists public.notes (
  id bigserial primary key,
  owner text not null default (auth.uid()::text),
  body text not null,
  created_at timestamptz not null default now()
);
alter table public.notes enable row level security;
drop policy if exists notes_select_own on public.notes;
create policy notes_select_own on public.notes for select to authenticated using (owner = auth.uid()::text);
drop policy if exists notes_insert_own on public.notes;
create policy notes_insert_own on public.notes for insert to authenticated with check (owner = auth.uid()::text);
grant select, insert on public.notes to authenticated;
grant usage, select on sequence public.notes_id_seq to authenticated;

-- Written by on-note-insert as the writer of the note; users see their own audit rows (INSERT …
-- RETURNING needs a SELECT policy too).
create table if not exists public.notes_audit (
  id bigserial primary key,
  note_id bigint,
  op text not null,
  actor text,
  row jsonb,
  at timestamptz not null default now()
);
alter table public.notes_audit enable row level security;
drop policy if exists notes_audit_insert_own on public.notes_audit;
create policy notes_audit_insert_own on public.notes_audit for insert to authenticated with check (actor = auth.uid()::text);
drop policy if exists notes_audit_select_own on public.notes_audit;
create policy notes_audit_select_own on public.notes_audit for select to authenticated using (actor = auth.uid()::text);
grant select, insert on public.notes_audit to authenticated;
grant usage, select on sequence public.notes_audit_id_seq to authenticated;

-- Schedules and change events without a user context run as the service role (BYPASSRLS).
grant all on public.notes, public.notes_audit to service_role;
grant usage, select on sequence public.notes_id_seq, public.notes_audit_id_seq to service_role;
