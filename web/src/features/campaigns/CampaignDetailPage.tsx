import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowDown, ArrowUp, ListOrdered, Lock, Pencil, Trash2 } from "lucide-react";
import { useMemo, useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { api, ok, type Schemas } from "@/api/client";
import { lookupKeys, useActors } from "@/api/lookups";
import { useSession } from "@/app/session";
import { formatDate, humanize, stateLabel } from "@/lib/format";
import { Badge, Button, Card, Empty, ErrorNote, KV, PageHeader, Select, Spinner, Stat, stateTone } from "@/ui/primitives";
import { CampaignFields } from "./CampaignFields";
import { campaignKeys } from "./CampaignsPage";
import { campaignForm, campaignInput, moveRow, NEXT_STATUS, ordered, planInput, planRows, setAfter, STATUS_TONE, type CampaignForm, type PlanRow } from "./model";

type Campaign = Schemas["Detail"];

/** EditCampaign changes a campaign's name, description, recurrence and dates. */
function EditCampaign({ c, onDone }: { c: Campaign; onDone: () => void }) {
  const qc = useQueryClient();
  const [form, setForm] = useState<CampaignForm>(() => campaignForm(c));
  const { body, missing } = campaignInput(form, true);
  const save = useMutation({
    mutationFn: () => ok(api.PATCH("/api/v1/campaigns/{id}", { params: { path: { id: c.id } }, body })),
    onSuccess: (d) => {
      qc.setQueryData(campaignKeys.detail(c.id), d);
      qc.invalidateQueries({ queryKey: ["campaigns", "list"] });
      qc.invalidateQueries({ queryKey: lookupKeys.campaigns });
      onDone();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!missing) save.mutate();
  };
  return (
    <Card title="Edit campaign" className="mb-4">
      <form onSubmit={submit} className="space-y-3">
        <CampaignFields form={form} onChange={setForm} />
        <div className="flex items-center gap-2">
          <Button type="submit" variant="primary" busy={save.isPending} disabled={!!missing}>Save changes</Button>
          <Button type="button" variant="ghost" onClick={onDone}>Cancel</Button>
          {missing && <span role="alert" className="text-[13px] text-amber-700 dark:text-amber-300">{missing}</span>}
        </div>
        <ErrorNote error={save.error} />
      </form>
    </Card>
  );
}

/** DeleteCampaign asks once more; the campaign's tests stay. */
function DeleteCampaign({ c, onCancel }: { c: Campaign; onCancel: () => void }) {
  const qc = useQueryClient();
  const nav = useNavigate();
  const del = useMutation({
    mutationFn: () => ok(api.DELETE("/api/v1/campaigns/{id}", { params: { path: { id: c.id } } })),
    onSuccess: () => {
      qc.removeQueries({ queryKey: campaignKeys.detail(c.id) });
      // Drop it from every cached list now: the list page renders its cache before the
      // refetch answers, and a deleted campaign must not flash back into it.
      qc.setQueriesData<{ items: { id: string }[]; total?: number }>({ queryKey: ["campaigns", "list"] }, (old) =>
        old && { ...old, items: old.items.filter((x) => x.id !== c.id), total: old.total === undefined ? undefined : Math.max(0, old.total - 1) });
      qc.invalidateQueries({ queryKey: ["campaigns", "list"] });
      qc.invalidateQueries({ queryKey: lookupKeys.campaigns });
      nav("/campaigns", { replace: true });
    },
  });
  return (
    <div role="alertdialog" aria-label="Delete campaign" className="mb-4 rounded-md border border-red-500/30 bg-red-500/8 px-3 py-2.5 text-[13px]">
      <div className="flex flex-wrap items-center gap-2">
        <span className="min-w-0 flex-1">Delete <b>{c.name}</b>? Its {c.tests?.length ?? 0} tests stay, outside any campaign.</span>
        <Button variant="danger" busy={del.isPending} onClick={() => del.mutate()}><Trash2 className="size-4" aria-hidden /> Delete campaign</Button>
        <Button variant="ghost" onClick={onCancel}>Keep it</Button>
      </div>
      <ErrorNote error={del.error} className="mt-2" />
    </div>
  );
}

const LEADS = ["admin", "red_lead", "blue_lead"];

/** OrderEditor lets a lead reorder a campaign's tests and make a test wait for an earlier one. */
function OrderEditor({ c, onDone }: { c: Campaign; onDone: () => void }) {
  const qc = useQueryClient();
  const [rows, setRows] = useState<PlanRow[]>(() => planRows(c.tests ?? []));
  const save = useMutation({
    mutationFn: () => ok(api.PATCH("/api/v1/campaigns/{id}", { params: { path: { id: c.id } }, body: { tests: planInput(rows) } })),
    onSuccess: (saved) => {
      qc.setQueryData(campaignKeys.detail(c.id), saved);
      qc.invalidateQueries({ queryKey: ["campaigns", "list"] });
      onDone();
    },
  });
  return (
    <Card
      title={`Order and dependencies (${rows.length})`}
      className="mb-4"
      actions={
        <span className="flex gap-2">
          <Button variant="ghost" onClick={onDone}>Cancel</Button>
          <Button variant="primary" busy={save.isPending} onClick={() => save.mutate()}>Save order</Button>
        </span>
      }
    >
      <ErrorNote error={save.error} className="mb-3" />
      <table className="-mt-2 w-full table-fixed text-[13px]" aria-label="Order and dependencies">
        <thead className="border-b border-line text-left text-[12px] text-muted">
          <tr>
            <th className="w-10 py-2 font-medium">#</th>
            <th className="py-2 pr-3 font-medium">Test</th>
            <th className="w-20 py-2 pr-3 font-medium">Move</th>
            <th className="w-80 py-2 font-medium">Runs after</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-line">
          {rows.map((r, i) => (
            <tr key={r.test_id}>
              <td className="py-1.5 text-muted tabular-nums">{i + 1}</td>
              <td className="truncate py-1.5 pr-3" title={r.title}>{r.title}</td>
              <td className="py-1.5 pr-3">
                <span className="flex gap-1">
                  <Button variant="ghost" className="px-1.5" aria-label={`Move ${r.title} up`} disabled={i === 0} onClick={() => setRows(moveRow(rows, i, -1))}><ArrowUp className="size-4" aria-hidden /></Button>
                  <Button variant="ghost" className="px-1.5" aria-label={`Move ${r.title} down`} disabled={i === rows.length - 1} onClick={() => setRows(moveRow(rows, i, 1))}><ArrowDown className="size-4" aria-hidden /></Button>
                </span>
              </td>
              <td className="py-1.5">
                {/* One earlier test to wait for; a test with several keeps them until changed here. */}
                <Select aria-label={`${r.title} runs after`} value={r.depends_on.length === 1 ? r.depends_on[0] : r.depends_on.length ? "many" : ""} disabled={i === 0}
                  onChange={(e) => setRows(setAfter(rows, i, e.target.value))} className="w-full">
                  <option value="">Nothing: ready to run</option>
                  {r.depends_on.length > 1 && <option value="many" disabled>{r.depends_on.length} earlier tests</option>}
                  {rows.slice(0, i).map((d, j) => <option key={d.test_id} value={d.test_id}>#{j + 1} {d.title}</option>)}
                </Select>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

export default function CampaignDetailPage() {
  const { id = "" } = useParams();
  const { role } = useSession();
  const loc = useLocation();
  const qc = useQueryClient();
  const untestable = ((loc.state as { untestable?: string[] } | null)?.untestable ?? []) as string[];
  const q = useQuery({ queryKey: campaignKeys.detail(id), queryFn: () => ok(api.GET("/api/v1/campaigns/{id}", { params: { path: { id } } })) });
  const actors = useActors();
  const move = useMutation({
    mutationFn: (status: Schemas["StatusInput"]["status"]) => ok(api.POST("/api/v1/campaigns/{id}/status", { params: { path: { id } }, body: { status } })),
    onSuccess: (c) => {
      qc.setQueryData(campaignKeys.detail(id), c);
      qc.invalidateQueries({ queryKey: ["campaigns", "list"] });
    },
  });
  const tests = useMemo(() => (q.data ? ordered(q.data.tests ?? []) : []), [q.data]);
  const [mode, setMode] = useState<"" | "edit" | "delete" | "order">("");
  if (q.isPending) return <Spinner />;
  if (q.isError) return <ErrorNote error={q.error} />;
  const c = q.data;
  const p = c.progress;
  const actor = actors.data?.find((a) => a.id === c.threat_actor_id);
  const lead = LEADS.includes(role);
  const moves = lead ? NEXT_STATUS[c.status] ?? [] : [];
  return (
    <div>
      <div className="mb-1 text-[12px] text-muted"><Link to="/campaigns" className="hover:text-fg">Campaigns</Link> / {c.name}</div>
      <PageHeader
        title={<span className="flex items-center gap-3">{c.name}<Badge tone={STATUS_TONE[c.status as keyof typeof STATUS_TONE] ?? "gray"}>{humanize(c.status)}</Badge></span>}
        subtitle={c.description}
        actions={
          <>
            {moves.map((m) => (
              <Button key={m.to} variant={m.to === "cancelled" ? "secondary" : "primary"} busy={move.isPending && move.variables === m.to} onClick={() => move.mutate(m.to)}>{m.label}</Button>
            ))}
            {lead && !mode && (
              <>
                <Button variant="ghost" onClick={() => setMode("edit")}><Pencil className="size-4" aria-hidden /> Edit</Button>
                {(c.status === "planned" || c.status === "active") && (c.tests ?? []).length > 1 && (
                  <Button variant="ghost" onClick={() => setMode("order")}><ListOrdered className="size-4" aria-hidden /> Order</Button>
                )}
                <Button variant="ghost" onClick={() => setMode("delete")}><Trash2 className="size-4" aria-hidden /> Delete</Button>
              </>
            )}
          </>
        }
      />
      <ErrorNote error={move.error} className="mb-4" />
      {lead && mode === "edit" && <EditCampaign c={c} onDone={() => setMode("")} />}
      {lead && mode === "delete" && <DeleteCampaign c={c} onCancel={() => setMode("")} />}
      {lead && mode === "order" && <OrderEditor c={c} onDone={() => setMode("")} />}
      <div className="mb-4 grid grid-cols-2 gap-3 lg:grid-cols-6">
        <Stat label="Progress" value={`${Math.round(p.percent ?? 0)}%`} hint={`${p.done} of ${p.total} validated`} />
        <Stat label="Ready to run" value={p.ready} hint="nothing to wait for" />
        <Stat label="Waiting" value={p.waiting} hint="on an earlier test" />
        <Stat label="In progress" value={p.in_progress} />
        <Stat label="Rejected" value={p.rejected} />
        <Stat label="Tests" value={p.total} />
      </div>
      {untestable.length > 0 && (
        <div className="mb-4 rounded-md border border-amber-500/30 bg-amber-500/8 px-3 py-2 text-[13px]">
          <b>{untestable.length} techniques</b> of the actor have no template on the chosen platforms and got no test:{" "}
          <span className="font-mono text-[12px]">{untestable.slice(0, 30).join(", ")}{untestable.length > 30 ? ", …" : ""}</span>
        </div>
      )}
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-4">
        <div className="min-w-0 xl:col-span-3">
          <Card title={`Tests in order (${tests.length})`}>
            {tests.length === 0 ? <Empty>This campaign has no tests.</Empty> : (
              <table className="-mt-2 w-full text-[13px]" aria-label="Campaign tests">
                <thead className="border-b border-line text-left text-[12px] text-muted">
                  <tr>
                    <th className="w-10 py-2 pr-2 font-medium">#</th>
                    <th className="py-2 pr-3 font-medium">Test</th>
                    <th className="py-2 pr-3 font-medium">Technique</th>
                    <th className="py-2 pr-3 font-medium">Platform</th>
                    <th className="py-2 pr-3 font-medium">Runs after</th>
                    <th className="py-2 text-right font-medium">State</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-line">
                  {tests.map((t) => (
                    <tr key={t.test_id}>
                      <td className="py-2 pr-2 text-muted tabular-nums">{t.position}</td>
                      <td className="max-w-96 py-2 pr-3"><Link to={`/tests/${t.test_id}`} className="line-clamp-1 hover:text-accent" title={t.title}>{t.title}</Link></td>
                      <td className="py-2 pr-3"><Link to={`/techniques/${t.technique_id}`} className="font-mono text-[12px] hover:text-accent">{t.technique_id}</Link></td>
                      <td className="py-2 pr-3 text-muted">{t.platform || "—"}</td>
                      <td className="py-2 pr-3 text-muted">
                        {t.after.length === 0 ? "—" : (
                          <span className="inline-flex items-center gap-1">
                            {t.blocked && <Lock className="size-3 text-amber-500" aria-label="waiting" />}
                            #{t.after.join(", #")}
                          </span>
                        )}
                      </td>
                      <td className="py-2 text-right"><Badge tone={stateTone(t.state ?? "")}>{stateLabel(t.state ?? "")}</Badge></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </div>
        <div className="min-w-0">
          <Card title="Details">
            <KV
              items={[
                ["Threat actor", actor ? <Link to={`/actors?actor=${actor.external_id || actor.id}`} className="text-accent hover:underline">{actor.name}</Link> : c.external_id || "—"],
                ["Source", humanize(c.source || "manual")],
                ["Recurrence", humanize(c.recurrence || "none")],
                ["Starts", c.start_date ? formatDate(c.start_date) : "—"],
                ["Ends", c.end_date ? formatDate(c.end_date) : "—"],
                ["Next run", c.next_run_at ? formatDate(c.next_run_at) : "—"],
                ["Created", formatDate(c.created_at)],
              ]}
            />
          </Card>
        </div>
      </div>
    </div>
  );
}
