import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ChevronDown, ChevronRight, X } from "lucide-react";
import { memo, useCallback, useMemo, useState, type KeyboardEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ProblemError } from "@/api/client";
import { useSession } from "@/app/session";
import { snapshotLabel, useActors, useCampaignList, useSnapshotList } from "@/api/lookups";
import { MATRIX_FILTERS, matrixFilters, matrixQuery } from "@/api/matrix";
import { formatScore } from "@/lib/format";
import { COVERAGE } from "@/ui/coverage";
import { Button, cx, Empty, ErrorNote, PageHeader, Select, Spinner } from "@/ui/primitives";
import { cellColour, columns as toColumns, PLATFORMS, retiredCount, retiredNote, SCORE_STEPS, scoreColour, type ColourBy, type MatrixTechnique } from "./model";
import { ReleasePicker } from "./ReleasePicker";


type CellProps = { technique: MatrixTechnique; subCount: number; expanded: boolean; sub?: boolean; by: ColourBy; onOpen: (ext: string) => void; onToggle: (id: string) => void };

/** HeatmapCell renders hundreds of times: memoised, with stable callbacks from the page. */
const HeatmapCell = memo(function HeatmapCell({ technique: t, subCount, expanded, sub, by, onOpen, onToggle }: CellProps) {
  const { color, tint } = cellColour(t, by);
  const label = by === "score" ? `score ${formatScore(t.score)}` : (COVERAGE[t.status]?.label ?? t.status);
  const retired = retiredNote(t);
  return (
    <div className="flex items-stretch" data-technique={t.external_id} data-retired={retired ? "" : undefined}>
      <button
        type="button"
        onClick={() => onOpen(t.external_id)}
        title={`${t.external_id} ${t.name}${retired ? ` (${retired})` : ""}: ${label} · ${t.counts.tests} tests · ${t.templates} templates`}
        className={cx("flex min-w-0 flex-1 items-center gap-1.5 rounded-sm border-l-[3px] bg-panel-2 px-1.5 py-1 text-left text-[11px] leading-tight hover:bg-accent/12", sub && "ml-2")}
        style={{ borderLeftColor: color, background: `color-mix(in srgb, ${color} ${tint}%, var(--panel-2))` }}
      >
        {retired ? (
          // Retired since the release shown: struck through, with what became of it on a line of its own.
          <span className="min-w-0 flex-1">
            <span className="line-clamp-2 break-words text-muted line-through decoration-1">{t.name}</span>
            <span className="block text-[9px] uppercase tracking-wide text-muted">{t.revoked ? `revoked${t.revoked_by ? ` → ${t.revoked_by}` : ""}` : "deprecated"}</span>
          </span>
        ) : (
          <span className="line-clamp-2 min-w-0 flex-1 break-words">{t.name}</span>
        )}
        {by === "score" && t.score != null && <span className="shrink-0 text-[10px] text-muted tabular-nums">{Math.round(t.score)}</span>}
      </button>
      {subCount > 0 && (
        <button
          type="button"
          aria-label={`${expanded ? "Hide" : "Show"} ${subCount} sub-techniques of ${t.external_id}`}
          aria-expanded={expanded}
          onClick={() => onToggle(t.id)}
          className="ml-px flex w-5 shrink-0 items-center justify-center rounded-sm bg-panel-2 text-[10px] text-muted hover:bg-accent/12 hover:text-fg"
        >
          {expanded ? <ChevronDown className="size-3" /> : <ChevronRight className="size-3" />}
        </button>
      )}
    </div>
  );
});

/**
 * onGridKey moves the focus between cells with the arrow keys: up and down within a
 * tactic's column, left and right to the nearest row of the next column; Home and End
 * to the column's ends. It reads the DOM, so the memoised cells need no focus state.
 */
function onGridKey(e: KeyboardEvent<HTMLElement>) {
  const moves: Record<string, [number, number]> = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0], Home: [0, -Infinity], End: [0, Infinity] };
  const move = moves[e.key];
  const here = (e.target as HTMLElement).closest<HTMLElement>("[data-technique]");
  if (!move || !here) return;
  const columns = [...e.currentTarget.querySelectorAll<HTMLElement>("[role=rowgroup]")];
  const cellsOf = (col: HTMLElement) => [...col.querySelectorAll<HTMLButtonElement>("[data-technique] > button:first-child")];
  const col = columns.findIndex((c) => c.contains(here));
  const row = cellsOf(columns[col]!).findIndex((b) => here.contains(b));
  const target = columns[col + move[0]];
  if (!target) return;
  const cells = cellsOf(target);
  const next = cells[Math.max(0, Math.min(cells.length - 1, row + move[1]))];
  if (!next) return;
  e.preventDefault();
  next.focus();
}

/** ActorFilter fetches the actor list (large) only once the user reaches for it. */
function ActorFilter({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [wanted, setWanted] = useState(!!value);
  const actors = useActors(wanted);
  const list = useMemo(() => [...(actors.data ?? [])].filter((a) => !a.deprecated && !a.revoked).sort((a, b) => a.name.localeCompare(b.name)), [actors.data]);
  return (
    <Select aria-label="Threat actor" className="w-44" value={value} onChange={(e) => onChange(e.target.value)} onFocus={() => setWanted(true)} onPointerDown={() => setWanted(true)}>
      <option value="">Every actor</option>
      {actors.isPending && wanted && <option disabled>Loading…</option>}
      {value && !list.length && <option value={value}>{value}</option>}
      {list.map((a) => <option key={a.id} value={a.external_id || a.id}>{a.name}{a.external_id ? ` (${a.external_id})` : ""}</option>)}
    </Select>
  );
}

export default function MatrixPage() {
  const nav = useNavigate();
  const { role } = useSession();
  const [params, setParams] = useSearchParams();
  const filters = matrixFilters(params);
  const by: ColourBy = params.get("colour") === "score" ? "score" : "status";
  const q = useQuery({ ...matrixQuery(filters), placeholderData: keepPreviousData });
  const campaigns = useCampaignList();
  const snapshots = useSnapshotList();
  const [open, setOpen] = useState<Set<string>>(new Set());
  const onOpen = useCallback((ext: string) => nav(`/techniques/${ext}`), [nav]);
  const onToggle = useCallback((id: string) => setOpen((s) => {
    const n = new Set(s);
    if (n.has(id)) n.delete(id);
    else n.add(id);
    return n;
  }), []);
  const set = (k: string, v: string) => setParams((p) => {
    const n = new URLSearchParams(p);
    if (v) n.set(k, v);
    else n.delete(k);
    return n;
  }, { replace: true });
  const cols = useMemo(() => (q.data ? toColumns(q.data) : []), [q.data]);
  const allOpen = cols.length > 0 && open.size > 0;
  const filtered = MATRIX_FILTERS.some((k) => filters[k]);

  if (q.isPending) return <Spinner label="Loading the matrix" />;
  if (q.isError) {
    // A fresh install has no ATT&CK yet: the server answers 404, which is a state to explain, not an error.
    if (q.error instanceof ProblemError && q.error.status === 404 && !filters.release) {
      return (
        <div>
          <PageHeader title="ATT&CK Matrix" subtitle="Tactics × techniques, coloured by your coverage." />
          <div className="rounded-lg border border-line bg-panel">
            <Empty>
              No ATT&CK techniques are imported yet.{" "}
              {role === "admin" ? <Link to="/system/imports" className="text-accent hover:underline">Import ATT&CK under Plugins &amp; imports</Link> : "An administrator imports them under System → Plugins & imports."}
            </Empty>
          </div>
        </div>
      );
    }
    return <ErrorNote error={q.error} />;
  }
  const m = q.data;
  const count = cols.reduce((n, c) => n + c.techniques.length, 0);
  const older = m.releases.length > 1 && m.release !== m.releases.at(-1);
  const retired = older ? retiredCount(cols) : 0;
  return (
    <div>
      <PageHeader
        title="ATT&CK Matrix"
        subtitle={`ATT&CK Enterprise${m.release ? ` v${m.release}` : ""}${older ? ` (an older release${retired ? `: ${retired} retired since, struck through` : ""})` : ""} · ${cols.length} tactics · ${count} technique placements · score ${formatScore(m.score.score)}${filtered ? " · filtered" : ""}`}
        actions={
          <>
            <div role="radiogroup" aria-label="Colour by" className="flex h-8 items-center rounded-md border border-line bg-panel p-0.5 text-[12px]">
              {(["status", "score"] as ColourBy[]).map((b) => (
                <button key={b} type="button" role="radio" aria-checked={by === b} onClick={() => set("colour", b === "status" ? "" : b)}
                  className={cx("h-full rounded px-2.5", by === b ? "bg-panel-2 font-medium text-fg" : "text-muted hover:text-fg")}>
                  {b === "status" ? "Status" : "Score"}
                </button>
              ))}
            </div>
            <Button onClick={() => setOpen(allOpen ? new Set() : new Set(cols.flatMap((c) => c.techniques.filter((t) => t.subs.length).map((t) => t.technique.id))))}>
              {allOpen ? "Collapse all" : "Expand all"}
            </Button>
          </>
        }
      />
      <div className="mb-3 flex flex-wrap items-center gap-2" aria-label="Filters" role="group">
        <Select aria-label="Platform" className="w-40" value={filters.platform} onChange={(e) => set("platform", e.target.value)}>
          <option value="">Every platform</option>
          {PLATFORMS.map((p) => <option key={p} value={p}>{p}</option>)}
        </Select>
        <ActorFilter value={filters.actor} onChange={(v) => set("actor", v)} />
        <Select aria-label="Campaign" className="w-44" value={filters.campaign} onChange={(e) => set("campaign", e.target.value)}>
          <option value="">Every campaign</option>
          {campaigns.data?.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </Select>
        <Select aria-label="Snapshot" className="w-52" value={filters.snapshot} onChange={(e) => set("snapshot", e.target.value)}>
          <option value="">Now (live coverage)</option>
          {snapshots.data?.items.map((s) => <option key={s.id} value={s.id}>{snapshotLabel(s)}</option>)}
        </Select>
        <ReleasePicker releases={m.releases} release={filters.release || m.release} onChange={(r) => set("release", r)} />
        {filtered && <Button variant="ghost" onClick={() => setParams({ ...(by === "score" ? { colour: "score" } : {}), ...(filters.release ? { release: filters.release } : {}) }, { replace: true })}><X className="size-3.5" aria-hidden /> Clear filters</Button>}
        {q.isFetching && <span role="status" className="text-[12px] text-muted">Updating…</span>}
        <ul className="ml-auto flex flex-wrap gap-x-4 gap-y-1 text-[12px] text-muted" aria-label="Legend">
          {by === "status"
            ? Object.entries(COVERAGE).map(([k, v]) => (
                <li key={k} className="flex items-center gap-1.5"><span className="size-2.5 rounded-sm" style={{ background: v.color }} />{v.label} <b className="font-medium text-fg tabular-nums">{m.status_counts[k] ?? 0}</b></li>
              ))
            : [
                <li key="none" className="flex items-center gap-1.5"><span className="size-2.5 rounded-sm" style={{ background: scoreColour(null) }} />No score</li>,
                ...SCORE_STEPS.map((s) => <li key={s} className="flex items-center gap-1.5"><span className="size-2.5 rounded-sm" style={{ background: scoreColour(s) }} />{s}</li>),
              ]}
        </ul>
      </div>
      <div className={cx("overflow-x-auto rounded-lg border border-line bg-panel transition-opacity", q.isPlaceholderData && "opacity-60")} role="grid" aria-label="ATT&CK Enterprise matrix" aria-describedby="matrix-keys" data-testid="matrix" onKeyDown={onGridKey}>
        <p id="matrix-keys" className="sr-only">Arrow keys move between techniques; Enter opens one.</p>
        {count === 0 ? (
          <div className="px-4 py-10 text-center text-[13px] text-muted">No technique matches these filters.</div>
        ) : (
          <div className="grid gap-1 p-2" style={{ gridTemplateColumns: `repeat(${cols.length}, minmax(148px, 1fr))` }}>
            {cols.map((c) => (
              <div key={c.tactic.id} role="rowgroup" className="min-w-0">
                <div className="sticky top-0 mb-1 rounded-sm bg-panel-2 px-1.5 py-1.5">
                  <div className="truncate text-[12px] font-semibold" title={c.tactic.name}>{c.tactic.name}</div>
                  <div className="text-[10px] text-muted">{c.techniques.length} techniques{c.tactic.score?.score != null ? ` · score ${formatScore(c.tactic.score.score)}` : ""}</div>
                </div>
                <div className="space-y-px">
                  {c.techniques.map(({ technique, subs }) => (
                    <div key={technique.id}>
                      <HeatmapCell technique={technique} subCount={subs.length} expanded={open.has(technique.id)} by={by} onOpen={onOpen} onToggle={onToggle} />
                      {open.has(technique.id) && subs.map((s) => (
                        <HeatmapCell key={s.id} technique={s} subCount={0} expanded={false} sub by={by} onOpen={onOpen} onToggle={onToggle} />
                      ))}
                    </div>
                  ))}
                </div>
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}
