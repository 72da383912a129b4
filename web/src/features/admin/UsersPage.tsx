import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { UserPlus } from "lucide-react";
import { useState, type FormEvent } from "react";
import { api, ok, ROLES, withQuery, type Role, type User } from "@/api/client";
import { useSession } from "@/app/session";
import { roleLabel, timeAgo } from "@/lib/format";
import { Badge, Button, Card, ErrorNote, Field, Input, Mono, PageHeader, Select, Spinner } from "@/ui/primitives";
import { adminKeys } from "./queries";

function Secret({ label, value }: { label: string; value: string }) {
  return (
    <div role="status" className="rounded-md border border-amber-500/40 bg-amber-500/10 px-3 py-2 text-[13px]">
      {label} <Mono className="rounded bg-panel px-1.5 py-0.5 select-all">{value}</Mono> — shown once; pass it on now.
    </div>
  );
}

function UserRow({ u, self }: { u: User; self: boolean }) {
  const qc = useQueryClient();
  const refresh = () => qc.invalidateQueries({ queryKey: adminKeys.users });
  const role = useMutation({ mutationFn: (r: string) => ok(api.PATCH("/api/v1/users/{id}", { params: { path: { id: u.id } }, body: { role: r as Role } })), onSuccess: refresh });
  const toggle = useMutation({
    mutationFn: () => ok(api.POST(u.disabled ? "/api/v1/users/{id}/enable" : "/api/v1/users/{id}/disable", { params: { path: { id: u.id } } })),
    onSuccess: refresh,
  });
  const reset = useMutation({ mutationFn: () => ok(api.POST("/api/v1/users/{id}/reset-password", { params: { path: { id: u.id } } })), onSuccess: refresh });
  // The username again only under a display name that differs from it.
  const sub = [u.display_name && u.display_name !== u.username ? u.username : "", u.email].filter(Boolean).join(" · ");
  return (
    <>
      <tr className="border-b border-line/60">
        <td className="px-4 py-2">
          <div className="font-medium">{u.display_name || u.username}</div>
          {sub && <div className="text-[12px] text-muted">{sub}</div>}
        </td>
        <td className="px-2">
          <Select aria-label={`Role of ${u.username}`} value={u.role} disabled={self || role.isPending} onChange={(e) => role.mutate(e.target.value)} className="w-40">
            {ROLES.map((r) => <option key={r} value={r}>{roleLabel(r)}</option>)}
          </Select>
        </td>
        <td className="px-2">
          {u.disabled ? <Badge tone="red">disabled</Badge> : u.must_change_password ? <Badge tone="amber">must change password</Badge> : <Badge tone="green">active</Badge>}
        </td>
        <td className="px-2 text-muted">{timeAgo(u.last_login_at)}</td>
        <td className="px-4 text-right">
          {!self && (
            <span className="flex justify-end gap-1">
              <Button variant="ghost" busy={reset.isPending} onClick={() => reset.mutate()}>Reset password</Button>
              <Button variant="ghost" busy={toggle.isPending} onClick={() => toggle.mutate()}>{u.disabled ? "Enable" : "Disable"}</Button>
            </span>
          )}
        </td>
      </tr>
      {(reset.data?.password || role.error || toggle.error || reset.error) && (
        <tr><td colSpan={5} className="px-4 py-2">
          {reset.data?.password && <Secret label={`New password of ${u.username}:`} value={reset.data.password} />}
          <ErrorNote error={role.error ?? toggle.error ?? reset.error} />
        </td></tr>
      )}
    </>
  );
}

export default function UsersPage() {
  const { user } = useSession();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: adminKeys.users, queryFn: () => ok(api.GET("/api/v1/users", withQuery({ limit: 500 }))) });
  const [f, setF] = useState<{ username: string; display_name: string; email: string; role: Role }>({ username: "", display_name: "", email: "", role: "red_tech" });
  const create = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/users", { body: f })),
    onSuccess: () => {
      setF({ username: "", display_name: "", email: "", role: f.role });
      qc.invalidateQueries({ queryKey: adminKeys.users });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <div>
      <PageHeader title="Users" subtitle={q.data ? `${q.data.total} accounts` : "Accounts and roles"} />
      <Card title="New user" className="mb-4">
        <form onSubmit={submit} className="flex flex-wrap items-end gap-2">
          <Field label="Username"><Input name="new_username" value={f.username} onChange={(e) => setF({ ...f, username: e.target.value })} required className="w-40" /></Field>
          <Field label="Display name"><Input value={f.display_name} onChange={(e) => setF({ ...f, display_name: e.target.value })} className="w-48" /></Field>
          <Field label="E-mail"><Input type="email" value={f.email} onChange={(e) => setF({ ...f, email: e.target.value })} className="w-56" /></Field>
          <Field label="Role">
            <Select name="new_role" value={f.role} onChange={(e) => setF({ ...f, role: e.target.value as Role })} className="w-40">
              {ROLES.map((r) => <option key={r} value={r}>{roleLabel(r)}</option>)}
            </Select>
          </Field>
          <Button type="submit" variant="primary" busy={create.isPending}><UserPlus className="size-4" aria-hidden /> Create</Button>
        </form>
        {create.data?.password && <div className="mt-3"><Secret label={`Password of ${create.data.user?.username}:`} value={create.data.password} /></div>}
        <ErrorNote error={create.error} className="mt-3" />
      </Card>
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : (
        <div className="overflow-hidden rounded-lg border border-line bg-panel">
          <table className="w-full text-[13px]">
            <thead className="border-b border-line bg-panel-2 text-left text-[12px] text-muted">
              <tr><th className="px-4 py-2 font-medium">User</th><th className="px-2 font-medium">Role</th><th className="px-2 font-medium">Status</th><th className="px-2 font-medium">Last sign-in</th><th /></tr>
            </thead>
            <tbody>{q.data.items.map((u) => <UserRow key={u.id} u={u} self={u.id === user.id} />)}</tbody>
          </table>
        </div>
      )}
    </div>
  );
}
