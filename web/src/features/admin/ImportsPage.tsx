import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Play, RefreshCw } from "lucide-react";
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { formatDate, formatDuration, humanize, timeAgo } from "@/lib/format";
import { Badge, Button, Card, Empty, ErrorNote, Field, Input, Mono, PageHeader, Progress, Select, Spinner, type Tone } from "@/ui/primitives";
import { adminKeys } from "./queries";
import { countLabel, headline, runWarnings } from "./warnings";

type Run = Schemas["ImportRun2"];

const OUTCOME: Record<string, Tone> = { succeeded: "green", failed: "red", running: "blue", dry_run: "violet" };

// Shown per run: a folder of test data left out is one warning, but a broken rule set
// can give thousands; the page shows the first ones and says how many more there are.
const SHOWN_WARNINGS = 500;

function Warnings({ warnings }: { warnings: unknown }) {
  const list = runWarnings(warnings);
  if (list.length === 0) return null;
  return (
    <details className="mt-2 text-[12px]">
      <summary className="cursor-pointer text-amber-700 dark:text-amber-300">{countLabel(list)}</summary>
      <ul className="mt-1 max-h-64 space-y-1 overflow-y-auto font-mono text-[11px]">
        {list.slice(0, SHOWN_WARNINGS).map((w, i) => (
          <li key={i} className={w.severity === "info" ? "text-muted" : "text-fg"}>
            {headline(w)}
            {w.detail && <div className="whitespace-pre-wrap break-words pl-3 text-muted">{w.detail}</div>}
          </li>
        ))}
        {list.length > SHOWN_WARNINGS && (
          <li className="text-muted">… and {(list.length - SHOWN_WARNINGS).toLocaleString()} more (`aegis import` prints them all)</li>
        )}
      </ul>
    </details>
  );
}

/** LiveRun polls a running import every second until it finishes. */
function LiveRun({ id, onDone }: { id: string; onDone: () => void }) {
  const q = useQuery({
    queryKey: adminKeys.run(id),
    queryFn: () => ok(api.GET("/api/v1/imports/{id}", { params: { path: { id } } })),
    refetchInterval: (query) => (query.state.data && query.state.data.outcome !== "running" ? false : 1000),
  });
  const finished = q.data && q.data.outcome !== "running";
  useEffect(() => {
    if (finished) onDone();
  }, [finished, onDone]);
  if (q.isError) return <ErrorNote error={q.error} />;
  const r = q.data;
  if (!r) return <Spinner label="Starting the import" />;
  const p = r.progress;
  const fraction = p && p.total > 0 ? p.done / p.total : null;
  return (
    <div data-testid="live-run" className="rounded-md border border-line p-3">
      <div className="mb-2 flex items-center justify-between text-[13px]">
        <span><b>{r.plugin}</b> {r.outcome === "running" ? (p?.phase ? `· ${p.phase}` : "· running") : ""}</span>
        <Badge tone={OUTCOME[r.outcome] ?? "gray"}>{r.outcome}</Badge>
      </div>
      {r.outcome === "running" ? (
        <>
          <Progress value={fraction} label={`Import ${r.plugin}`} />
          <div className="mt-1.5 text-[12px] text-muted">
            {p ? `${p.records.toLocaleString()} records${p.total ? ` · ${p.done}/${p.total}` : ""}${p.warnings ? ` · ${p.warnings} warnings` : ""}${p.message ? ` · ${p.message}` : ""}` : "waiting for the plugin…"}
          </div>
        </>
      ) : (
        <RunSummary r={r} />
      )}
    </div>
  );
}

function RunSummary({ r }: { r: Run | Schemas["ImportRun"] }) {
  return (
    <div className="text-[12px]">
      <div className="flex flex-wrap gap-x-4 gap-y-1 text-muted">
        <span><b className="text-fg tabular-nums">{r.added.toLocaleString()}</b> added</span>
        <span><b className="text-fg tabular-nums">{r.updated.toLocaleString()}</b> updated</span>
        <span><b className="text-fg tabular-nums">{r.unchanged.toLocaleString()}</b> unchanged</span>
        <span><b className="text-fg tabular-nums">{r.deprecated.toLocaleString()}</b> deprecated</span>
        <span>{formatDuration(r.duration_ms)}</span>
      </div>
      {r.error && <ErrorNote error={new Error(r.error)} className="mt-2" />}
      <Warnings warnings={r.warnings} />
    </div>
  );
}

function StartImport({ plugins }: { plugins: Schemas["PluginStatus"][] }) {
  const qc = useQueryClient();
  const importers = plugins.filter((p) => p.enabled && p.kinds.includes("importer"));
  const [plugin, setPlugin] = useState("");
  const [source, setSource] = useState("");
  const [dryRun, setDryRun] = useState(false);
  const [live, setLive] = useState<string[]>([]);
  const onDone = useCallback(() => qc.invalidateQueries({ queryKey: adminKeys.runs }), [qc]);
  const start = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/imports", { body: { plugin: plugin || importers[0]?.name || "", source: source || undefined, dry_run: dryRun } })),
    onSuccess: (run) => setLive((l) => [run.id, ...l]),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    start.mutate();
  };
  return (
    <Card title="Run an import">
      <form onSubmit={submit} className="flex flex-wrap items-end gap-2">
        <Field label="Plugin">
          <Select name="plugin" value={plugin} onChange={(e) => setPlugin(e.target.value)} className="w-40">
            {importers.length === 0 && <option value="">No importer configured</option>}
            {importers.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </Select>
        </Field>
        <div className="min-w-72 flex-1">
          <Field label="Source (empty: the one in aegis.hcl)"><Input name="source" value={source} onChange={(e) => setSource(e.target.value)} placeholder="URL or server path" /></Field>
        </div>
        <label className="flex h-8 items-center gap-1.5 text-[13px]"><input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} /> Dry run</label>
        <Button type="submit" variant="primary" busy={start.isPending} disabled={importers.length === 0}><Play className="size-4" aria-hidden /> Start</Button>
      </form>
      <ErrorNote error={start.error} className="mt-3" />
      {live.length > 0 && (
        <div className="mt-4 space-y-2">
          {live.map((id) => <LiveRun key={id} id={id} onDone={onDone} />)}
        </div>
      )}
    </Card>
  );
}

export default function ImportsPage() {
  const qc = useQueryClient();
  const plugins = useQuery({ queryKey: adminKeys.plugins, queryFn: () => ok(api.GET("/api/v1/plugins")) });
  const runs = useQuery({ queryKey: adminKeys.runs, queryFn: () => ok(api.GET("/api/v1/imports", withQuery({ limit: 50 }))) });
  const refresh = useMutation({
    mutationFn: () => ok(api.GET("/api/v1/plugins", withQuery({ refresh: true }))),
    onSuccess: (d) => qc.setQueryData(adminKeys.plugins, d),
  });
  const list = (plugins.data ?? []) as Schemas["PluginStatus"][];
  return (
    <div>
      <PageHeader title="Plugins & imports" subtitle="Importer plugins named in aegis.hcl, and every import run." />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-5">
        <div className="min-w-0 space-y-4 xl:col-span-3">
          {plugins.data && <StartImport plugins={list} />}
          <Card title="Import runs">
            {runs.isPending ? <Spinner /> : runs.isError ? <ErrorNote error={runs.error} /> : runs.data.items.length === 0 ? <Empty>No import has run yet.</Empty> : (
              <ul className="-my-2 divide-y divide-line">
                {runs.data.items.map((r) => (
                  <li key={r.id} className="py-3">
                    <div className="mb-1 flex items-center gap-2 text-[13px]">
                      <b>{r.plugin}</b>
                      <Badge tone={OUTCOME[r.outcome] ?? "gray"}>{r.dry_run ? "dry run · " : ""}{r.outcome}</Badge>
                      <span className="min-w-0 truncate text-[12px] text-muted" title={r.source}>{r.source}</span>
                      <span className="ml-auto shrink-0 text-[12px] text-muted" title={formatDate(r.started_at)}>{timeAgo(r.started_at)} · {r.triggered_by}</span>
                    </div>
                    <RunSummary r={r} />
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
        <div className="min-w-0 xl:col-span-2">
          <Card title="Plugins" actions={<Button variant="ghost" busy={refresh.isPending} onClick={() => refresh.mutate()}><RefreshCw className="size-3.5" aria-hidden /> Ask again</Button>}>
            {plugins.isPending ? <Spinner /> : plugins.isError ? <ErrorNote error={plugins.error} /> : list.length === 0 ? (
              <Empty>No plugin is configured. Name each one in aegis.hcl (plugin "attack" {"{ … }"}) with its binary in plugin_dir, then restart.</Empty>
            ) : (
              <ul className="-my-2 divide-y divide-line">
                {list.map((p) => (
                  <li key={p.name} className="py-2.5 text-[13px]">
                    <div className="flex items-center gap-2">
                      <b>{p.name}</b>
                      {p.version && <Mono className="text-muted">v{p.version}</Mono>}
                      <span className="ml-auto flex gap-1">
                        {p.kinds.map((k) => <Badge key={k} tone="indigo">{k}</Badge>)}
                        <Badge tone={!p.enabled ? "gray" : p.status === "ok" || p.status === "ready" ? "green" : p.last_error ? "red" : "gray"}>{p.enabled ? humanize(p.status || "unknown") : "disabled"}</Badge>
                      </span>
                    </div>
                    {p.description && <div className="mt-0.5 text-[12px] text-muted">{p.description}</div>}
                    {p.last_error && <div className="mt-0.5 text-[12px] text-red-600 dark:text-red-400">{p.last_error}</div>}
                  </li>
                ))}
              </ul>
            )}
            <ErrorNote error={refresh.error} />
          </Card>
        </div>
      </div>
    </div>
  );
}
