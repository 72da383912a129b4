import { useQuery } from "@tanstack/react-query";
import { GitCompare, Hammer, Plus, Search, X } from "lucide-react";
import { useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { useActors } from "@/api/lookups";
import { useSession } from "@/app/session";
import { formatScore } from "@/lib/format";
import { COVERAGE, coverageOf } from "@/ui/coverage";
import { Badge, Button, Card, cx, Empty, ErrorNote, Input, PageHeader, Spinner, Stat } from "@/ui/primitives";
import { GROUPS, statusBar, tested, type GroupKey } from "./model";

export const actorKeys = {
  coverage: (id: string) => ["actors", "coverage", id] as const,
  next: (id: string) => ["actors", "next", id] as const,
  compare: (ids: string[]) => ["actors", "compare", ids] as const,
  detail: (id: string) => ["actors", "detail", id] as const,
};

const LEADS = ["admin", "red_lead", "blue_lead"];
const cleanText = (s: string) => s.replace(/\(Citation:[^)]*\)/g, "").replace(/\[([^\]]+)\]\([^)]+\)/g, "$1").replace(/\s+([.,])/g, "$1");

function StatusBar({ counts, total }: { counts: Record<string, number>; total: number }) {
  return (
    <>
      <div className="flex h-2.5 overflow-hidden rounded-full bg-panel-2" aria-hidden>
        {statusBar(counts, total).map((s) => <div key={s.status} style={{ width: `${s.pct}%`, background: coverageOf(s.status).color }} />)}
      </div>
      <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-[12px] text-muted">
        {Object.keys(COVERAGE).map((s) => (
          <li key={s} className="flex items-center gap-1.5">
            <span className="size-2 rounded-sm" style={{ background: coverageOf(s).color }} />
            {coverageOf(s).label} <b className="font-medium text-fg tabular-nums">{counts[s] ?? 0}</b>
          </li>
        ))}
      </ul>
    </>
  );
}

function NextUp({ id, canCreate }: { id: string; canCreate: boolean }) {
  const q = useQuery({ queryKey: actorKeys.next(id), queryFn: () => ok(api.GET("/api/v1/threat-actors/{id}/next", withQuery({ limit: 8 }, { id }) as { params: { path: { id: string } } })) });
  return (
    <Card title="What to test next">
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.length === 0 ? <Empty>Every technique of this actor is covered.</Empty> : (
        <ol className="-my-2 divide-y divide-line" aria-label="What to test next">
          {q.data.map((n, i) => (
            <li key={n.technique_id} className="py-2.5 text-[13px]">
              <div className="flex items-center gap-2">
                <span className="w-5 shrink-0 text-muted tabular-nums">{i + 1}.</span>
                <Link to={`/techniques/${n.technique_id}`} className="min-w-0 truncate hover:text-accent"><span className="font-mono text-[12px] text-muted">{n.technique_id}</span> {n.name}</Link>
                <Badge tone={coverageOf(n.status).tone}>{coverageOf(n.status).label}</Badge>
                <span className="ml-auto shrink-0 text-[12px] text-muted" title="gap × actors using it × templates available">used by {n.actors} actors · {n.templates} templates</span>
              </div>
              {n.suggested_templates && n.suggested_templates.length > 0 && (
                <ul className="mt-1 ml-7 flex flex-wrap gap-1.5">
                  {n.suggested_templates.slice(0, 3).map((t) => (
                    <li key={t.id}>
                      {canCreate ? (
                        <Link to={`/tests/new?technique=${n.technique_id}&template=${t.id}`} className="inline-flex max-w-80 items-center gap-1 rounded border border-line px-1.5 py-0.5 text-[12px] hover:bg-panel-2" title={`Create a test from "${t.name}"`}>
                          <Plus className="size-3 shrink-0" aria-hidden /><span className="truncate">{t.name}</span><span className="shrink-0 text-muted">· {t.platforms.join(", ")}</span>
                        </Link>
                      ) : (
                        <span className="inline-flex max-w-80 items-center gap-1 rounded border border-line px-1.5 py-0.5 text-[12px]"><span className="truncate">{t.name}</span></span>
                      )}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}

function Techniques({ cov }: { cov: Schemas["ActorCoverage"] }) {
  const [group, setGroup] = useState<GroupKey>("untested");
  const [all, setAll] = useState(false);
  const list = cov[group] ?? [];
  const shown = all ? list : list.slice(0, 25);
  return (
    <Card
      title="Techniques by coverage"
      actions={
        <div role="tablist" className="flex gap-1">
          {GROUPS.map((g) => (
            <button key={g.key} role="tab" aria-selected={group === g.key} onClick={() => { setGroup(g.key); setAll(false); }}
              className={cx("rounded px-2 py-1 text-[12px]", group === g.key ? "bg-panel-2 font-medium text-fg" : "text-muted hover:text-fg")}>
              {g.label} <span className="tabular-nums">{(cov[g.key] ?? []).length}</span>
            </button>
          ))}
        </div>
      }
    >
      {list.length === 0 ? <Empty>None.</Empty> : (
        <>
          <ul className="-my-2 divide-y divide-line">
            {shown.map((t) => (
              <li key={t.technique_id} className="py-2 text-[13px]">
                <div className="flex items-center gap-2">
                  <Link to={`/techniques/${t.technique_id}`} className="min-w-0 truncate hover:text-accent"><span className="font-mono text-[12px] text-muted">{t.technique_id}</span> {t.name}</Link>
                  {t.retired && <Badge tone="violet">retired</Badge>}
                  <span className="ml-auto shrink-0 text-[12px] text-muted tabular-nums" title="How heavily the actor relies on it">weight {t.weight} · score {formatScore(t.score)}</span>
                </div>
                {t.procedure && <p className="mt-0.5 line-clamp-2 text-[12px] text-muted">{cleanText(t.procedure)}</p>}
              </li>
            ))}
          </ul>
          {list.length > shown.length && <Button variant="ghost" className="mt-3" onClick={() => setAll(true)}>Show all {list.length}</Button>}
        </>
      )}
    </Card>
  );
}

function ActorView({ actor }: { actor: Schemas["ActorSummary"] }) {
  const { role } = useSession();
  const id = actor.external_id || actor.id;
  // The list is lean; the description comes with the one actor shown.
  const detail = useQuery({ queryKey: actorKeys.detail(id), queryFn: () => ok(api.GET("/api/v1/threat-actors/{id}", { params: { path: { id } } })), staleTime: 5 * 60_000 });
  const description = detail.data?.description;
  const q = useQuery({ queryKey: actorKeys.coverage(id), queryFn: () => ok(api.GET("/api/v1/threat-actors/{id}/coverage", { params: { path: { id } } })) });
  const canLead = LEADS.includes(role);
  return (
    <div className="space-y-4">
      <div className="rounded-lg border border-line bg-panel p-4">
        <div className="flex flex-wrap items-start gap-3">
          <div className="min-w-0 flex-1">
            <h2 className="text-lg font-semibold tracking-tight">{actor.name} <span className="font-mono text-[13px] font-normal text-muted">{actor.external_id}</span></h2>
            {actor.aliases.length > 0 && <p className="mt-0.5 line-clamp-1 text-[12px] text-muted" title={actor.aliases.join(", ")}>Also known as {actor.aliases.join(", ")}</p>}
          </div>
          {canLead && (
            <Link to={`/campaigns?build=${id}`} className="inline-flex h-8 items-center gap-1.5 rounded-md bg-accent px-3 text-[13px] font-medium whitespace-nowrap text-accent-fg hover:opacity-90"><Hammer className="size-4" aria-hidden /> Build a campaign</Link>
          )}
        </div>
        {description && <p className="mt-2 line-clamp-3 text-[13px] leading-relaxed text-muted">{cleanText(description)}</p>}
      </div>
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : (
        <>
          <div className="grid grid-cols-3 gap-3">
            <Stat label="Coverage score" value={formatScore(q.data.score.score)} hint={q.data.score.scored ? `weighted over ${q.data.score.scored} scored technique${q.data.score.scored === 1 ? "" : "s"}` : "nothing tested yet"} />
            <Stat label="Techniques used" value={q.data.techniques} hint="directly, through software and campaigns" />
            <Stat label="Tested" value={`${tested(q.data.status_counts, q.data.techniques)}%`} hint={`${q.data.techniques - (q.data.status_counts.not_tested ?? 0)} of ${q.data.techniques}`} />
          </div>
          <Card title="Coverage against this actor"><StatusBar counts={q.data.status_counts} total={q.data.techniques} /></Card>
          <div className="grid grid-cols-1 gap-4 2xl:grid-cols-2">
            <div className="min-w-0"><NextUp id={id} canCreate={role !== "viewer" && role !== "blue_tech"} /></div>
            <div className="min-w-0"><Techniques cov={q.data} /></div>
          </div>
        </>
      )}
    </div>
  );
}

function CompareView({ ids, names }: { ids: string[]; names: Map<string, string> }) {
  const q = useQuery({ queryKey: actorKeys.compare(ids), queryFn: () => ok(api.GET("/api/v1/threat-actors/compare", withQuery({ ids: ids.join(",") }))) });
  const [shared, setShared] = useState(false);
  if (q.isPending) return <Spinner label="Comparing" />;
  if (q.isError) return <ErrorNote error={q.error} />;
  const actors = q.data.actors;
  const rows = shared ? q.data.techniques.filter((t) => t.used_by.length === actors.length) : q.data.techniques;
  const common = q.data.techniques.filter((t) => t.used_by.length === actors.length).length;
  return (
    <div className="space-y-4">
      <div className="grid gap-3" style={{ gridTemplateColumns: `repeat(${actors.length}, minmax(0, 1fr))` }}>
        {actors.map((a) => (
          <div key={a.id} className="rounded-lg border border-line bg-panel p-4" data-testid="compared-actor">
            <div className="truncate text-[13px] font-semibold">{a.name} <span className="font-mono font-normal text-muted">{a.external_id}</span></div>
            <div className="mt-1 text-2xl font-semibold tabular-nums">{formatScore(a.score.score)}<span className="ml-1 text-[12px] font-normal text-muted">score</span></div>
            <div className="mb-2 text-[12px] text-muted">{a.techniques} techniques · {tested(a.status_counts, a.techniques)}% tested</div>
            <div className="flex h-2 overflow-hidden rounded-full bg-panel-2" aria-hidden>
              {statusBar(a.status_counts, a.techniques).map((s) => <div key={s.status} style={{ width: `${s.pct}%`, background: coverageOf(s.status).color }} />)}
            </div>
          </div>
        ))}
      </div>
      <Card
        title={`Techniques (${q.data.techniques.length}; ${common} used by all)`}
        actions={<label className="flex items-center gap-1.5 text-[12px]"><input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} /> Only shared</label>}
      >
        <div className="max-h-[60vh] overflow-auto">
          <table className="w-full text-[13px]" aria-label="Compared techniques">
            <thead className="sticky top-0 bg-panel text-left text-[12px] text-muted">
              <tr>
                <th className="py-1.5 pr-3 font-medium">Technique</th>
                <th className="py-1.5 pr-3 font-medium">Coverage</th>
                {actors.map((a) => <th key={a.id} className="w-24 px-2 py-1.5 text-center font-medium" title={a.name}><span className="block truncate">{a.name}</span></th>)}
              </tr>
            </thead>
            <tbody className="divide-y divide-line">
              {rows.map((t) => (
                <tr key={t.technique_id}>
                  <td className="max-w-96 py-1.5 pr-3"><Link to={`/techniques/${t.technique_id}`} className="line-clamp-1 hover:text-accent"><span className="font-mono text-[12px] text-muted">{t.technique_id}</span> {t.name}</Link></td>
                  <td className="py-1.5 pr-3"><Badge tone={coverageOf(t.status).tone}>{coverageOf(t.status).label}</Badge></td>
                  {actors.map((a) => (
                    <td key={a.id} className="px-2 py-1.5 text-center">
                      {t.used_by.includes(a.external_id) || t.used_by.includes(a.id) ? <span className="inline-block size-2.5 rounded-full bg-accent" aria-label={`used by ${a.name}`} /> : <span className="text-muted" aria-hidden>·</span>}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      <p className="text-[12px] text-muted">Comparing {ids.map((i) => names.get(i) ?? i).join(", ")}.</p>
    </div>
  );
}

export default function ActorsPage() {
  const actors = useActors();
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState("");
  const compare = params.get("compare")?.split(",").filter(Boolean) ?? null;
  const list = useMemo(() => [...(actors.data ?? [])].filter((a) => !a.deprecated && !a.revoked).sort((a, b) => b.technique_count - a.technique_count || a.name.localeCompare(b.name)), [actors.data]);
  const names = useMemo(() => new Map(list.map((a) => [a.external_id || a.id, a.name])), [list]);
  const shown = useMemo(() => {
    const words = search.toLowerCase().split(/\s+/).filter(Boolean);
    return words.length ? list.filter((a) => words.every((w) => `${a.name} ${a.external_id} ${a.aliases.join(" ")}`.toLowerCase().includes(w))) : list;
  }, [list, search]);
  const selectedId = params.get("actor") ?? list[0]?.external_id ?? list[0]?.id ?? "";
  const selected = list.find((a) => a.external_id === selectedId || a.id === selectedId);
  const set = (k: string, v: string | null) => setParams((p) => {
    const n = new URLSearchParams(p);
    if (v == null) n.delete(k);
    else n.set(k, v);
    return n;
  });
  const toggleCompare = (id: string) => {
    const cur = compare ?? [];
    const next = cur.includes(id) ? cur.filter((x) => x !== id) : [...cur, id].slice(0, 10);
    set("compare", next.join(","));
  };
  if (actors.isPending) return <Spinner label="Loading threat actors" />;
  if (actors.isError) return <ErrorNote error={actors.error} />;
  if (list.length === 0) {
    return (
      <div>
        <PageHeader title="Threat actors" />
        <Card><Empty>No threat actors yet. An admin imports them with the cti plugin (ATT&CK groups) under System → Plugins & imports.</Empty></Card>
      </div>
    );
  }
  return (
    <div>
      <PageHeader
        title="Threat actors"
        subtitle={`${list.length} groups from ATT&CK: how well you cover each one, its gaps, and what to test next.`}
        actions={compare ? (
          <Button onClick={() => set("compare", null)}><X className="size-4" aria-hidden /> Done comparing</Button>
        ) : (
          <Button onClick={() => set("compare", selected ? (selected.external_id || selected.id) : "")}><GitCompare className="size-4" aria-hidden /> Compare actors</Button>
        )}
      />
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-[18rem_minmax(0,1fr)]">
        <aside className="min-w-0" aria-label="Threat actor list">
          <div className="relative mb-2">
            <Search className="pointer-events-none absolute top-2 left-2.5 size-4 text-muted" aria-hidden />
            <Input aria-label="Search threat actors" className="pl-8" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name, alias or G-id" />
          </div>
          {compare && <p className="mb-2 text-[12px] text-muted">Tick 2 to 10 actors to compare ({compare.length} ticked).</p>}
          <ul className="max-h-[calc(100vh-13rem)] overflow-y-auto rounded-lg border border-line bg-panel">
            {shown.map((a) => {
              const id = a.external_id || a.id;
              const on = compare ? compare.includes(id) : id === selectedId;
              return (
                <li key={a.id} className="border-b border-line last:border-0">
                  {compare ? (
                    <label className={cx("flex cursor-pointer items-center gap-2 px-3 py-2 text-[13px] hover:bg-panel-2", on && "bg-accent/8")}>
                      <input type="checkbox" checked={on} onChange={() => toggleCompare(id)} />
                      <span className="min-w-0 flex-1 truncate">{a.name}</span>
                      <span className="text-[11px] text-muted tabular-nums">{a.technique_count}</span>
                    </label>
                  ) : (
                    <button type="button" onClick={() => set("actor", id)} aria-current={on ? "true" : undefined}
                      className={cx("flex w-full items-center gap-2 px-3 py-2 text-left text-[13px] hover:bg-panel-2", on && "bg-accent/10 font-medium")}>
                      <span className="min-w-0 flex-1 truncate">{a.name}</span>
                      <span className="font-mono text-[11px] text-muted">{a.external_id}</span>
                      <span className="w-8 text-right text-[11px] text-muted tabular-nums" title="techniques">{a.technique_count}</span>
                    </button>
                  )}
                </li>
              );
            })}
            {shown.length === 0 && <li><Empty>No actor matches.</Empty></li>}
          </ul>
        </aside>
        <div className="min-w-0">
          {compare ? (
            compare.length >= 2 ? <CompareView ids={compare} names={names} /> : <Card><Empty>Tick at least two actors in the list to compare them side by side.</Empty></Card>
          ) : selected ? <ActorView key={selected.id} actor={selected} /> : <Card><Empty>Pick an actor in the list.</Empty></Card>}
        </div>
      </div>
    </div>
  );
}
