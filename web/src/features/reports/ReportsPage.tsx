import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Download, FileJson, FileSpreadsheet, FileText, Play } from "lucide-react";
import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { snapshotLabel, useActors, useCampaignList, useSnapshotList, useTactics } from "@/api/lookups";
import { useSession } from "@/app/session";
import { formatBytes, formatDate, formatDuration, timeAgo } from "@/lib/format";
import { Badge, Button, Card, cx, Empty, ErrorNote, Field, Input, Mono, PageHeader, Progress, Select, Spinner, type Tone } from "@/ui/primitives";
import { artifactURL, emptyScope, exporterLabel, exportersFrom, phaseFraction, SCOPE_LABELS, scopeRequest, scopeTitle, type Exporter, type ScopeForm, type ScopeKind } from "./model";

export const reportKeys = {
  runs: ["reports", "runs"] as const,
  run: (id: string) => ["reports", "run", id] as const,
  exporters: ["reports", "exporters"] as const,
};

const OUTCOME: Record<string, Tone> = { succeeded: "green", failed: "red", running: "blue" };

const iconOf = (e: Exporter) => (e.format.startsWith("CSV") ? FileSpreadsheet : e.format.startsWith("JSON") ? FileJson : FileText);

function ArtifactLinks({ run }: { run: Schemas["ExportRunView"] }) {
  if (run.artifact_list.length === 0) return null;
  return (
    <ul className="mt-2 space-y-1.5">
      {run.artifact_list.map((a) => (
        <li key={a.name} className="flex flex-wrap items-center gap-x-3 gap-y-1 text-[12px]">
          <a
            href={artifactURL(run.id, a.name)}
            download={a.name}
            className="inline-flex h-7 items-center gap-1.5 rounded-md bg-accent px-2.5 font-medium text-accent-fg hover:opacity-90"
          >
            <Download className="size-3.5" aria-hidden /> Download {a.name}
          </a>
          <span className="text-muted">{formatBytes(a.size_bytes)}</span>
          <Mono className="truncate text-muted" >sha256 {a.sha256.slice(0, 16)}…</Mono>
        </li>
      ))}
    </ul>
  );
}

/** LiveExport polls a running export until it finishes, then offers its files. */
function LiveExport({ id, onDone }: { id: string; onDone: () => void }) {
  const q = useQuery({
    queryKey: reportKeys.run(id),
    queryFn: () => ok(api.GET("/api/v1/exports/{id}", { params: { path: { id } } })),
    refetchInterval: (query) => (query.state.data && query.state.data.outcome !== "running" ? false : 700),
  });
  const finished = q.data && q.data.outcome !== "running";
  useEffect(() => {
    if (finished) onDone();
  }, [finished, onDone]);
  if (q.isError) return <ErrorNote error={q.error} />;
  const r = q.data;
  if (!r) return <Spinner label="Starting the export" />;
  const p = r.progress;
  return (
    <div data-testid="live-export" className="rounded-md border border-line p-3">
      <div className="mb-2 flex items-center gap-2 text-[13px]">
        <b className="shrink-0">{exporterLabel(r.plugin, r.exporter_type)}</b>
        <span className="min-w-0 truncate text-muted">{scopeTitle(r.scope)}</span>
        <span className="ml-auto"><Badge tone={OUTCOME[r.outcome] ?? "gray"}>{r.outcome}</Badge></span>
      </div>
      {r.outcome === "running" ? (
        <>
          <Progress value={phaseFraction(p)} label={`Export ${r.plugin} ${r.exporter_type}`} />
          <div className="mt-1.5 text-[12px] text-muted">
            {p ? `${p.phase} · ${p.records.toLocaleString()}${p.total ? ` of ${p.total.toLocaleString()}` : ""} records sent${p.bytes ? ` · ${formatBytes(p.bytes)} received` : ""}${p.message ? ` · ${p.message}` : ""}` : "waiting for the plugin…"}
          </div>
        </>
      ) : (
        <div className="text-[12px]">
          <div className="flex flex-wrap gap-x-4 text-muted">
            <span><b className="text-fg tabular-nums">{r.records.toLocaleString()}</b> records</span>
            <span>{formatBytes(r.size_bytes)}</span>
            <span>{formatDuration(r.duration_ms)}</span>
            {r.warning_count > 0 && <span className="text-amber-700 dark:text-amber-300">{r.warning_count} warnings</span>}
          </div>
          {r.error && <ErrorNote error={new Error(r.error)} className="mt-2" />}
          <ArtifactLinks run={r} />
        </div>
      )}
    </div>
  );
}

/** ScopeFields asks for what the chosen scope needs: a tactic, an actor, snapshots… */
function ScopeFields({ form, set }: { form: ScopeForm; set: (f: Partial<ScopeForm>) => void }) {
  const tactics = useTactics();
  const actors = useActors();
  const campaigns = useCampaignList();
  const snapshots = useSnapshotList();
  const sortedActors = useMemo(() => [...(actors.data ?? [])].filter((a) => !a.deprecated && !a.revoked).sort((a, b) => a.name.localeCompare(b.name)), [actors.data]);
  const snaps = snapshots.data?.items ?? [];
  const snapLabel = (s: Schemas["Snapshot"]) => snapshotLabel(s);
  switch (form.kind) {
    case "organisation":
      return <p className="pb-2 text-[12px] text-muted">Every current Enterprise technique with its coverage.</p>;
    case "tactic":
      return (
        <Field label="Tactic">
          <Select value={form.id} onChange={(e) => set({ id: e.target.value })}>
            <option value="">{tactics.isPending ? "Loading…" : "Pick a tactic"}</option>
            {tactics.data?.map((t) => <option key={t.id} value={t.external_id}>{t.external_id} · {t.name}</option>)}
          </Select>
        </Field>
      );
    case "actor":
      return (
        <Field label="Threat actor">
          <Select value={form.id} onChange={(e) => set({ id: e.target.value })}>
            <option value="">{actors.isPending ? "Loading…" : sortedActors.length ? "Pick a threat actor" : "No threat actors imported"}</option>
            {sortedActors.map((a) => <option key={a.id} value={a.external_id || a.id}>{a.name}{a.external_id ? ` (${a.external_id})` : ""}</option>)}
          </Select>
        </Field>
      );
    case "campaign":
      return (
        <Field label="Campaign">
          <Select value={form.id} onChange={(e) => set({ id: e.target.value })}>
            <option value="">{campaigns.isPending ? "Loading…" : campaigns.data?.items.length ? "Pick a campaign" : "No campaigns yet"}</option>
            {campaigns.data?.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </Select>
        </Field>
      );
    case "snapshot":
      return (
        <Field label="Snapshot">
          <Select value={form.id} onChange={(e) => set({ id: e.target.value })}>
            <option value="">{snapshots.isPending ? "Loading…" : snaps.length ? "Pick a snapshot" : "No snapshots yet"}</option>
            {snaps.map((s) => <option key={s.id} value={s.id}>{snapLabel(s)}</option>)}
          </Select>
        </Field>
      );
    case "diff":
      return (
        <div className="grid grid-cols-2 gap-3">
          <Field label="Earlier snapshot">
            <Select value={form.base} onChange={(e) => set({ base: e.target.value })}>
              <option value="">{snaps.length < 2 ? "Needs two snapshots" : "Pick one"}</option>
              {snaps.map((s) => <option key={s.id} value={s.id}>{snapLabel(s)}</option>)}
            </Select>
          </Field>
          <Field label="Later snapshot">
            <Select value={form.id} onChange={(e) => set({ id: e.target.value })}>
              <option value="">{snaps.length < 2 ? "Needs two snapshots" : "Pick one"}</option>
              {snaps.map((s) => <option key={s.id} value={s.id}>{snapLabel(s)}</option>)}
            </Select>
          </Field>
        </div>
      );
    case "rules":
      return (
        <div className="grid grid-cols-3 gap-3">
          <Field label="Rules matching"><Input value={form.search} onChange={(e) => set({ search: e.target.value })} placeholder="every word, e.g. powershell" /></Field>
          <Field label="Level">
            <Select value={form.level} onChange={(e) => set({ level: e.target.value })}>
              <option value="">Any level</option>
              {["critical", "high", "medium", "low", "informational"].map((l) => <option key={l} value={l}>{l}</option>)}
            </Select>
          </Field>
          <Field label="Source"><Input value={form.source} onChange={(e) => set({ source: e.target.value })} placeholder="sigma, custom…" /></Field>
        </div>
      );
  }
}

function NewExport({ exporters }: { exporters: Exporter[] }) {
  const qc = useQueryClient();
  const [pick, setPick] = useState(0);
  const [form, setForm] = useState<ScopeForm>(emptyScope);
  const [live, setLive] = useState<string[]>([]);
  const [missing, setMissing] = useState("");
  const exporter = exporters[Math.min(pick, exporters.length - 1)];
  const set = useCallback((f: Partial<ScopeForm>) => setForm((old) => ({ ...old, ...f })), []);
  const onDone = useCallback(() => qc.invalidateQueries({ queryKey: reportKeys.runs }), [qc]);
  const start = useMutation({
    mutationFn: (body: Schemas["ExportRequest"]) => ok(api.POST("/api/v1/exports", { body })),
    onSuccess: (run) => {
      setLive((l) => [run.id, ...l].slice(0, 5));
      qc.invalidateQueries({ queryKey: reportKeys.runs });
    },
  });
  if (!exporter) return <Card title="New export"><Empty>No exporter plugin is enabled on this server.</Empty></Card>;
  const kinds = exporter.scopes;
  const kind: ScopeKind = kinds.includes(form.kind) ? form.kind : kinds[0]!;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { scope, missing } = scopeRequest({ ...form, kind });
    setMissing(missing ?? "");
    if (scope) start.mutate({ plugin: exporter.plugin, type: exporter.type, scope });
  };
  return (
    <Card title="New export">
      <form onSubmit={submit} className="space-y-4">
        <fieldset>
          <legend className="mb-1.5 text-[12px] font-medium text-muted">Exporter</legend>
          <div className="grid grid-cols-1 gap-2 lg:grid-cols-3" role="radiogroup" aria-label="Exporter">
            {exporters.map((x, i) => {
              const Icon = iconOf(x);
              const on = x === exporter;
              return (
                <label
                  key={`${x.plugin}/${x.type}`}
                  className={cx("flex cursor-pointer gap-2.5 rounded-md border p-3 text-[13px] transition-colors has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-ring", on ? "border-accent bg-accent/8" : "border-line hover:bg-panel-2")}
                >
                  <input type="radio" name="exporter" className="sr-only" checked={on} onChange={() => setPick(i)} aria-label={x.label} />
                  <Icon className={cx("mt-0.5 size-4 shrink-0", on ? "text-accent" : "text-muted")} aria-hidden />
                  <span className="min-w-0">
                    <span className="block font-medium">{x.label}</span>
                    <span className="block text-[11px] text-muted">{x.format}</span>
                    <span className="mt-1 block text-[12px] leading-snug text-muted">{x.description}</span>
                  </span>
                </label>
              );
            })}
          </div>
        </fieldset>
        <div className="grid grid-cols-1 gap-3 md:grid-cols-[16rem_1fr]">
          <Field label="Scope">
            <Select value={kind} onChange={(e) => set({ kind: e.target.value as ScopeKind, id: "", base: "" })}>
              {kinds.map((k) => <option key={k} value={k}>{SCOPE_LABELS[k]}</option>)}
            </Select>
          </Field>
          <div className="min-w-0 self-end"><ScopeFields form={{ ...form, kind }} set={set} /></div>
        </div>
        <div className="flex items-center gap-3">
          <Button type="submit" variant="primary" busy={start.isPending}><Play className="size-4" aria-hidden /> Run export</Button>
          {missing && <span role="alert" className="text-[13px] text-amber-700 dark:text-amber-300">{missing}</span>}
        </div>
      </form>
      <ErrorNote error={start.error} className="mt-3" />
      {live.length > 0 && <div className="mt-4 space-y-2">{live.map((id) => <LiveExport key={id} id={id} onDone={onDone} />)}</div>}
    </Card>
  );
}

function RecentExports() {
  const q = useQuery({ queryKey: reportKeys.runs, queryFn: () => ok(api.GET("/api/v1/exports", withQuery({ limit: 25 }))) });
  return (
    <Card title="Recent exports">
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.items.length === 0 ? (
        <Empty>No export has run yet. Pick an exporter and a scope, then Run export.</Empty>
      ) : (
        <ul className="-my-2 divide-y divide-line" aria-label="Recent exports">
          {q.data.items.map((r) => (
            <li key={r.id} className="py-2.5 text-[13px]">
              <div className="flex items-center gap-2">
                <b className="shrink-0">{exporterLabel(r.plugin, r.exporter_type)}</b>
                <Badge tone={OUTCOME[r.outcome] ?? "gray"}>{r.outcome}</Badge>
                <span className="ml-auto shrink-0 text-[12px] text-muted" title={formatDate(r.started_at)}>{timeAgo(r.started_at)}</span>
              </div>
              <div className="mt-0.5 flex items-center gap-2 text-[12px] text-muted">
                <span className="min-w-0 truncate">{scopeTitle(r.scope)} · {r.triggered_by.replace(/^api:/, "")}</span>
                {r.outcome === "succeeded" && r.artifacts === 1 && (
                  <a href={artifactURL(r.id, "")} download className="ml-auto inline-flex shrink-0 items-center gap-1 text-accent hover:underline">
                    <Download className="size-3.5" aria-hidden /> {formatBytes(r.size_bytes)}
                  </a>
                )}
              </div>
              {r.error && <div className="mt-0.5 truncate text-[12px] text-red-600 dark:text-red-400" title={r.error}>{r.error}</div>}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

export default function ReportsPage() {
  const { role } = useSession();
  // Every role may list the exporters (not the plugins, which are an administrator's).
  const list = useQuery({ queryKey: reportKeys.exporters, queryFn: () => ok(api.GET("/api/v1/exporters")), staleTime: 60_000 });
  const exporters = useMemo(() => exportersFrom(list.data ?? []), [list.data]);
  return (
    <div>
      <PageHeader title="Reports & exports" subtitle="Coverage as Navigator layers, CSV tables and executive reports, for the whole organisation or one tactic, actor, campaign or snapshot." />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-5">
        <div className="min-w-0 xl:col-span-3">
          {list.isPending ? <Card title="New export"><Spinner /></Card>
            : list.isError ? <Card title="New export"><ErrorNote error={list.error} /></Card>
            : exporters.length === 0 ? (
              <Card title="New export">
                <Empty>{role === "admin" ? "No exporter plugin is enabled. Name one (navigator, report) in aegis.hcl and restart." : "No exporter plugin is enabled yet; an administrator turns them on."}</Empty>
              </Card>
            ) : <NewExport exporters={exporters} />}
        </div>
        <div className="min-w-0 xl:col-span-2"><RecentExports /></div>
      </div>
    </div>
  );
}
