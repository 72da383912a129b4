import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Hammer, Plus, Search } from "lucide-react";
import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { lookupKeys, useActors } from "@/api/lookups";
import { useSession } from "@/app/session";
import { formatDate, humanize, timeAgo } from "@/lib/format";
import { useDebounce } from "@/ui/hooks";
import { Badge, Button, Card, Empty, ErrorNote, Field, Input, PageHeader, Progress, Select, Spinner } from "@/ui/primitives";
import { CampaignFields, PlatformPicker } from "./CampaignFields";
import { campaignInput, emptyCampaign, STATUS_TONE, type CampaignForm } from "./model";

export const campaignKeys = {
  list: (f: object) => ["campaigns", "list", f] as const,
  detail: (id: string) => ["campaigns", "detail", id] as const,
};

const LEADS = ["admin", "red_lead", "blue_lead"];

type Builder = "" | "new" | "actor" | "profile";

/** useBuilt opens a built campaign and names the techniques that got no test. */
function useOpenBuilt() {
  const qc = useQueryClient();
  const nav = useNavigate();
  return (c: { id: string; untestable?: string[] | null }) => {
    qc.invalidateQueries({ queryKey: ["campaigns"] });
    qc.invalidateQueries({ queryKey: lookupKeys.campaigns });
    nav(`/campaigns/${c.id}`, { state: { untestable: c.untestable ?? [] } });
  };
}

function BuildFromActor({ onClose, initial }: { onClose: () => void; initial: string }) {
  const open = useOpenBuilt();
  const actors = useActors();
  const [actor, setActor] = useState(initial);
  const [name, setName] = useState("");
  const [platforms, setPlatforms] = useState<string[]>(["windows"]);
  const list = useMemo(() => [...(actors.data ?? [])].filter((a) => !a.deprecated && !a.revoked).sort((a, b) => a.name.localeCompare(b.name)), [actors.data]);
  const build = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/campaigns/from-actor/{id}", { params: { path: { id: actor } }, body: { name: name.trim() || undefined, platforms } as Schemas["BuildInput"] })),
    onSuccess: open,
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
              {list.map((a) => <option key={a.id} value={a.external_id || a.id}>{a.name}{a.external_id ? ` (${a.external_id})` : ""} · {a.technique_count} techniques</option>)}
            </Select>
          </Field>
          <Field label="Campaign name (optional)"><Input value={name} onChange={(e) => setName(e.target.value)} placeholder="Emulate <actor>" /></Field>
        </div>
        <PlatformPicker value={platforms} onChange={setPlatforms} />
        <div className="flex gap-2">
          <Button type="submit" variant="primary" busy={build.isPending} disabled={!actor || platforms.length === 0}><Hammer className="size-4" aria-hidden /> Build campaign</Button>
          <Button type="button" variant="ghost" onClick={onClose}>Close</Button>
        </div>
        <ErrorNote error={build.error} />
      </form>
    </Card>
  );
}

/** BuildFromProfile plans an imported ATT&CK campaign or adversary profile as tests. */
function BuildFromProfile({ onClose }: { onClose: () => void }) {
  const open = useOpenBuilt();
  const [search, setSearch] = useState("");
  const q = useDebounce(search);
  const [profile, setProfile] = useState("");
  const [name, setName] = useState("");
  const [platforms, setPlatforms] = useState<string[]>(["windows"]);
  const profiles = useQuery({
    queryKey: ["campaigns", "profiles", q],
    queryFn: () => ok(api.GET("/api/v1/campaign-profiles", withQuery({ search: q, limit: 200 }))),
    staleTime: 60_000,
    // While a new search is on its way the list keeps the last answer: without it the
    // choice blanked to "Loading…" on every keystroke, the picked profile with it.
    placeholderData: (prev) => prev,
  });
  const items = useMemo(() => (profiles.data?.items ?? []).filter((p) => !p.deprecated).sort((a, b) => a.name.localeCompare(b.name)), [profiles.data]);
  const build = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/campaigns/from-profile/{id}", { params: { path: { id: profile } }, body: { name: name.trim() || undefined, platforms } as Schemas["BuildInput"] })),
    onSuccess: open,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    build.mutate();
  };
  return (
    <Card title="Build a campaign from a campaign profile" className="mb-4">
      <form onSubmit={submit} className="space-y-3">
        <p className="text-[12px] text-muted">An imported ATT&CK campaign (C-id) or adversary profile: its techniques, or the profile's own abilities, become draft tests in order; the campaign starts planned.</p>
        <div className="grid grid-cols-1 gap-3 md:grid-cols-3">
          <Field label="Find a profile"><Input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name, C-id or actor" /></Field>
          <Field label="Campaign profile">
            <Select value={profile} onChange={(e) => setProfile(e.target.value)} required>
              <option value="">{profiles.isPending ? "Loading…" : items.length ? `Pick one of ${profiles.data?.total ?? items.length}` : q ? "No profile matches" : "No campaign profiles imported"}</option>
              {items.map((p) => <option key={p.id} value={p.id}>{p.name}{p.external_id ? ` (${p.external_id})` : ""} · {p.technique_ids.length} techniques</option>)}
            </Select>
          </Field>
          <Field label="Campaign name (optional)"><Input value={name} onChange={(e) => setName(e.target.value)} placeholder="<profile> (<id>)" /></Field>
        </div>
        <PlatformPicker value={platforms} onChange={setPlatforms} />
        <div className="flex gap-2">
          <Button type="submit" variant="primary" busy={build.isPending} disabled={!profile || platforms.length === 0}><Hammer className="size-4" aria-hidden /> Build campaign</Button>
          <Button type="button" variant="ghost" onClick={onClose}>Close</Button>
        </div>
        <ErrorNote error={profiles.error ?? build.error} />
      </form>
    </Card>
  );
}

/** NewCampaign makes an empty hand-made campaign; tests join it from their own pages. */
function NewCampaign({ onClose }: { onClose: () => void }) {
  const open = useOpenBuilt();
  const [form, setForm] = useState<CampaignForm>(emptyCampaign);
  const { body, missing } = campaignInput(form);
  const create = useMutation({ mutationFn: () => ok(api.POST("/api/v1/campaigns", { body })), onSuccess: open });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!missing) create.mutate();
  };
  return (
    <Card title="New campaign" className="mb-4">
      <form onSubmit={submit} className="space-y-3">
        <CampaignFields form={form} onChange={setForm} />
        <div className="flex items-center gap-2">
          <Button type="submit" variant="primary" busy={create.isPending} disabled={!!missing}><Plus className="size-4" aria-hidden /> Create campaign</Button>
          <Button type="button" variant="ghost" onClick={onClose}>Close</Button>
          {missing && form.name && <span role="alert" className="text-[13px] text-amber-700 dark:text-amber-300">{missing}</span>}
        </div>
        <ErrorNote error={create.error} />
      </form>
    </Card>
  );
}

export default function CampaignsPage() {
  const { role } = useSession();
  const [status, setStatus] = useState("");
  const [search, setSearch] = useState("");
  const [params] = useSearchParams();
  const [building, setBuilding] = useState<Builder>(params.get("build") ? "actor" : "");
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
        actions={canBuild && !building && (
          <>
            <Button onClick={() => setBuilding("new")}><Plus className="size-4" aria-hidden /> New campaign</Button>
            <Button onClick={() => setBuilding("profile")}><Hammer className="size-4" aria-hidden /> Build from a campaign profile</Button>
            <Button variant="primary" onClick={() => setBuilding("actor")}><Hammer className="size-4" aria-hidden /> Build from a threat actor</Button>
          </>
        )}
      />
      {canBuild && building === "actor" && <BuildFromActor initial={params.get("build") ?? ""} onClose={() => setBuilding("")} />}
      {canBuild && building === "profile" && <BuildFromProfile onClose={() => setBuilding("")} />}
      {canBuild && building === "new" && <NewCampaign onClose={() => setBuilding("")} />}
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
