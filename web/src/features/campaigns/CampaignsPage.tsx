import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Hammer, Search } from "lucide-react";
import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { lookupKeys, useActors } from "@/api/lookups";
import { useSession } from "@/app/session";
import { formatDate, humanize, timeAgo } from "@/lib/format";
import { useDebounce } from "@/ui/hooks";
import { Badge, Button, Card, Empty, ErrorNote, Field, Input, PageHeader, Progress, Select, Spinner } from "@/ui/primitives";
import { STATUS_TONE } from "./model";

export const campaignKeys = {
  list: (f: object) => ["campaigns", "list", f] as const,
  detail: (id: string) => ["campaigns", "detail", id] as const,
};

const LEADS = ["admin", "red_lead", "blue_lead"];
const PLATFORMS = ["windows", "linux", "macos", "azure-ad", "office-365", "iaas", "containers"];

function BuildFromActor({ onClose, initial }: { onClose: () => void; initial: string }) {
  const qc = useQueryClient();
  const nav = useNavigate();
  const actors = useActors();
  const [actor, setActor] = useState(initial);
  const [name, setName] = useState("");
  const [platforms, setPlatforms] = useState<string[]>(["windows"]);
  const list = useMemo(() => [...(actors.data ?? [])].filter((a) => !a.deprecated && !a.revoked).sort((a, b) => a.name.localeCompare(b.name)), [actors.data]);
  const build = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/campaigns/from-actor/{id}", { params: { path: { id: actor } }, body: { name: name.trim() || undefined, platforms } as Schemas["BuildInput"] })),
    onSuccess: (c) => {
      qc.invalidateQueries({ queryKey: ["campaigns"] });
      qc.invalidateQueries({ queryKey: lookupKeys.campaigns });
      nav(`/campaigns/${c.id}`, { state: { untestable: c.untestable ?? [] } });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    build.mutate();
  };
  return (
    <Card title="Build a campaign from a threat actor" className="mb-4">
      <form onSubmit={submit} className="space-y-3">
        <p className="text-[12px] text-muted">Every technique the actor uses becomes a draft test from the best template for each platform you pick; the campaign starts planned.</p>
        <div className="grid grid-cols-1 gap-3 md:grid-cols-2">
          <Field label="Threat actor">
            <Select value={actor} onChange={(e) => setActor(e.target.value)} required>
              <option value="">{actors.isPending ? "Loading…" : list.length ? "Pick a threat actor" : "No threat actors imported"}</option>
              {list.map((a) => <option key={a.id} value={a.external_id || a.id}>{a.name}{a.external_id ? ` (${a.external_id})` : ""} · {a.techniques.length} techniques</option>)}
            </Select>
          </Field>
          <Field label="Campaign name (optional)"><Input value={name} onChange={(e) => setName(e.target.value)} placeholder="Emulate <actor>" /></Field>
        </div>
        <fieldset>
          <legend className="mb-1 text-[12px] font-medium text-muted">Platforms</legend>
          <div className="flex flex-wrap gap-x-4 gap-y-1">
            {PLATFORMS.map((p) => (
              <label key={p} className="flex items-center gap-1.5 text-[13px]">
                <input type="checkbox" checked={platforms.includes(p)} onChange={(e) => setPlatforms((l) => (e.target.checked ? [...l, p] : l.filter((x) => x !== p)))} />
                {p}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="flex gap-2">
          <Button type="submit" variant="primary" busy={build.isPending} disabled={!actor || platforms.length === 0}><Hammer className="size-4" aria-hidden /> Build campaign</Button>
          <Button type="button" variant="ghost" onClick={onClose}>Close</Button>
        </div>
        <ErrorNote error={build.error} />
      </form>
    </Card>
  );
}

export default function CampaignsPage() {
  const { role } = useSession();
  const [status, setStatus] = useState("");
  const [search, setSearch] = useState("");
  const [params] = useSearchParams();
  const [building, setBuilding] = useState(!!params.get("build"));
  const q = useDebounce(search);
  const actors = useActors();
  const actorName = useMemo(() => new Map((actors.data ?? []).map((a) => [a.id, a.name])), [actors.data]);
  const list = useQuery({
    queryKey: campaignKeys.list({ status, q }),
    queryFn: () => ok(api.GET("/api/v1/campaigns", withQuery({ status, search: q, limit: 200 }))),
  });
  const canBuild = LEADS.includes(role);
  return (
    <div>
      <PageHeader
        title="Campaigns"
        subtitle="Ordered sets of tests against a threat actor or scenario, with their dependencies and progress."
        actions={canBuild && !building && <Button variant="primary" onClick={() => setBuilding(true)}><Hammer className="size-4" aria-hidden /> Build from a threat actor</Button>}
      />
      {building && canBuild && <BuildFromActor initial={params.get("build") ?? ""} onClose={() => setBuilding(false)} />}
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <div className="relative w-72">
          <Search className="pointer-events-none absolute top-2 left-2.5 size-4 text-muted" aria-hidden />
          <Input aria-label="Search campaigns" className="w-72 pl-8" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Search campaigns" />
        </div>
        <Select aria-label="Status" className="w-40" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">Every status</option>
          {Object.keys(STATUS_TONE).map((s) => <option key={s} value={s}>{humanize(s)}</option>)}
        </Select>
      </div>
      <div className="overflow-hidden rounded-lg border border-line bg-panel">
        {list.isPending ? <Spinner /> : list.isError ? <div className="p-4"><ErrorNote error={list.error} /></div> : list.data.items.length === 0 ? (
          <Empty>
            {status || q ? "No campaign matches these filters." : canBuild ? "No campaigns yet. Build one from a threat actor to plan its techniques as tests." : "No campaigns yet. A lead plans them."}
          </Empty>
        ) : (
          <table className="w-full text-[13px]" aria-label="Campaigns">
            <thead className="border-b border-line text-left text-[12px] text-muted">
              <tr>
                <th className="px-4 py-2 font-medium">Campaign</th>
                <th className="px-3 py-2 font-medium">Threat actor</th>
                <th className="px-3 py-2 font-medium">Status</th>
                <th className="w-64 px-3 py-2 font-medium">Progress</th>
                <th className="px-3 py-2 font-medium">Recurrence</th>
                <th className="px-4 py-2 text-right font-medium">Created</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-line">
              {list.data.items.map((c) => (
                <tr key={c.id} className="hover:bg-panel-2">
                  <td className="max-w-96 px-4 py-2.5">
                    <Link to={`/campaigns/${c.id}`} className="font-medium hover:text-accent">{c.name}</Link>
                    {c.description && <div className="truncate text-[12px] text-muted" title={c.description}>{c.description}</div>}
                  </td>
                  <td className="px-3 py-2.5">{c.threat_actor_id ? actorName.get(c.threat_actor_id) ?? c.external_id ?? "—" : <span className="text-muted">—</span>}</td>
                  <td className="px-3 py-2.5"><Badge tone={STATUS_TONE[c.status as keyof typeof STATUS_TONE] ?? "gray"}>{humanize(c.status)}</Badge></td>
                  <td className="px-3 py-2.5">
                    <div className="flex items-center gap-2">
                      <Progress value={c.progress.total ? c.progress.done / c.progress.total : 0} label={`Progress of ${c.name}`} />
                      <span className="shrink-0 text-[12px] text-muted tabular-nums">{c.progress.done}/{c.progress.total}</span>
                    </div>
                  </td>
                  <td className="px-3 py-2.5 text-muted">{humanize(c.recurrence || "none")}</td>
                  <td className="px-4 py-2.5 text-right text-muted" title={formatDate(c.created_at)}>{timeAgo(c.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
