import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, ok } from "@/api/client";
import { formatDate, timeAgo } from "@/lib/format";
import { Badge, Button, Card, Empty, ErrorNote, Field, Input, Mono, PageHeader, Select, Spinner } from "@/ui/primitives";
import { adminKeys } from "./queries";

/** Personal API tokens: every role has its own (reached from the account menu). */
export default function TokensPage() {
  const qc = useQueryClient();
  const q = useQuery({ queryKey: adminKeys.tokens, queryFn: () => ok(api.GET("/api/v1/tokens")) });
  const [f, setF] = useState<{ name: string; scope: "read" | "read_write"; expires_in: string }>({ name: "", scope: "read", expires_in: "720h" });
  const create = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/tokens", { body: f })),
    onSuccess: () => {
      setF({ ...f, name: "" });
      qc.invalidateQueries({ queryKey: adminKeys.tokens });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => ok(api.DELETE("/api/v1/tokens/{id}", { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: adminKeys.tokens }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <div className="max-w-4xl">
      <PageHeader title="API tokens" subtitle="Personal tokens for scripts and CI: Authorization: Bearer <token>. Stored hashed; shown once." />
      <Card title="New token" className="mb-4">
        <form onSubmit={submit} className="flex flex-wrap items-end gap-2">
          <Field label="Name"><Input value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} required className="w-56" placeholder="ci-export" /></Field>
          <Field label="Scope">
            <Select value={f.scope} onChange={(e) => setF({ ...f, scope: e.target.value as "read" | "read_write" })} className="w-36"><option value="read">Read</option><option value="read_write">Read and write</option></Select>
          </Field>
          <Field label="Expires in">
            <Select value={f.expires_in} onChange={(e) => setF({ ...f, expires_in: e.target.value })} className="w-32">
              <option value="168h">7 days</option><option value="720h">30 days</option><option value="2160h">90 days</option><option value="8760h">1 year</option>
            </Select>
          </Field>
          <Button type="submit" variant="primary" busy={create.isPending}>Create token</Button>
        </form>
        {create.data && (
          <div role="status" className="mt-3 rounded-md border border-amber-500/40 bg-amber-500/10 px-3 py-2 text-[13px]">
            Token <b>{create.data.name}</b>: <Mono className="rounded bg-panel px-1.5 py-0.5 break-all select-all">{create.data.token}</Mono> — copy it now; it is never shown again.
          </div>
        )}
        <ErrorNote error={create.error} className="mt-3" />
      </Card>
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.items.length === 0 ? <Card><Empty>No token yet.</Empty></Card> : (
        <div className="overflow-hidden rounded-lg border border-line bg-panel">
          <table className="w-full text-[13px]">
            <thead className="border-b border-line bg-panel-2 text-left text-[12px] text-muted">
              <tr><th className="px-4 py-2 font-medium">Name</th><th className="px-2 font-medium">Prefix</th><th className="px-2 font-medium">Scope</th><th className="px-2 font-medium">Expires</th><th className="px-2 font-medium">Last used</th><th /></tr>
            </thead>
            <tbody>
              {q.data.items.map((t) => (
                <tr key={t.id} className="border-b border-line/60">
                  <td className="px-4 py-2 font-medium">{t.name}</td>
                  <td className="px-2"><Mono>{t.prefix}…</Mono></td>
                  <td className="px-2"><Badge tone={t.scope === "read" ? "gray" : "amber"}>{t.scope}</Badge></td>
                  <td className="px-2 text-muted">{formatDate(t.expires_at)}</td>
                  <td className="px-2 text-muted">{timeAgo(t.last_used_at)}</td>
                  <td className="px-4 text-right">{t.revoked_at ? <Badge tone="red">revoked</Badge> : <Button variant="ghost" onClick={() => revoke.mutate(t.id)} busy={revoke.isPending && revoke.variables === t.id}>Revoke</Button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorNote error={revoke.error} className="mt-3" />
    </div>
  );
}
