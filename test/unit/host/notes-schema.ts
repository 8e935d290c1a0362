/** The two-user notes table under an owner policy that the host-call tests run on PGlite and PostgreSQL alike. */
export function notesSchemaSql(schema: string, userA: string, userB: string): string {
  return `
    create schema ${schema};
    grant usage on schema ${schema} to authenticated, service_role;
    create table ${schema}.notes (id bigserial primary key, owner uuid not null default auth.uid(), body text not null);
    alter table ${schema}.notes enable row level security;
    create policy own on ${schema}.notes for all to authenticated using (owner = auth.uid()) with check (owner = auth.uid());
    grant select, insert, update, delete on ${schema}.notes to authenticated, service_role;
    grant usage on all sequences in schema ${schema} to authenticated, service_role;
    insert into ${schema}.notes (owner, body) values ('${userA}', 'a1'), ('${userB}', 'b1');
  `;
}
