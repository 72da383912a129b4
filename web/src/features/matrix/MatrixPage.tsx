import { useQuery } from "@tanstack/react-query";
import { ChevronDown, ChevronRight } from "lucide-react";
import { memo, useCallback, useMemo, useState } from "react";
import { useNavigate } from "react-router";
import { api, ok, withQuery, type Technique } from "@/api/client";
import { useTechniqueIndex } from "@/api/lookups";
import { COVERAGE, coverageOf } from "@/ui/coverage";
import { Button, ErrorNote, PageHeader, Select, Spinner } from "@/ui/primitives";
import { buildMatrix, platformsOf } from "./model";

export const matrixKeys = { tactics: ["matrix", "tactics"] as const };

type CellProps = { technique: Technique; subCount: number; expanded: boolean; sub?: boolean; onOpen: (ext: string) => void; onToggle: (id: string) => void };

/** HeatmapCell renders hundreds of times: memoised, with stable callbacks from the page. */
const HeatmapCell = memo(function HeatmapCell({ technique: t, subCount, expanded, sub, onOpen, onToggle }: CellProps) {
  const c = coverageOf(t.coverage_status);
  return (
    <div className="flex items-stretch" data-technique={t.external_id}>
      <button
        type="button"
        onClick={() => onOpen(t.external_id)}
        title={`${t.external_id} ${t.name}: ${c.label}`}
        className={`flex min-w-0 flex-1 items-center gap-1.5 rounded-sm border-l-[3px] bg-panel-2 px-1.5 py-1 text-left text-[11px] leading-tight hover:bg-accent/12 ${sub ? "ml-2" : ""}`}
        style={{ borderLeftColor: c.color, background: `color-mix(in srgb, ${c.color} ${t.coverage_status === "not_tested" ? 0 : 16}%, var(--panel-2))` }}
      >
        <span className="line-clamp-2 min-w-0 flex-1 break-words">{t.name}</span>
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

export default function MatrixPage() {
  const nav = useNavigate();
  const techniques = useTechniqueIndex();
  const tactics = useQuery({ queryKey: matrixKeys.tactics, queryFn: () => ok(api.GET("/api/v1/tactics", withQuery({ domain: "enterprise-attack", limit: 100 }))), staleTime: 5 * 60_000 });
  const [platform, setPlatform] = useState("");
  const [open, setOpen] = useState<Set<string>>(new Set());
  const onOpen = useCallback((ext: string) => nav(`/techniques/${ext}`), [nav]);
  const onToggle = useCallback((id: string) => setOpen((s) => {
    const n = new Set(s);
    if (n.has(id)) n.delete(id);
    else n.add(id);
    return n;
  }), []);
  const all = techniques.data?.all;
  const columns = useMemo(() => (all && tactics.data ? buildMatrix(tactics.data.items, all, platform) : []), [all, tactics.data, platform]);
  const platforms = useMemo(() => (all ? platformsOf(all) : []), [all]);
  const allOpen = columns.length > 0 && open.size > 0;

  if (techniques.isPending || tactics.isPending) return <Spinner label="Loading the matrix" />;
  const error = techniques.error ?? tactics.error;
  if (error) return <ErrorNote error={error} />;
  const count = columns.reduce((n, c) => n + c.techniques.length, 0);
  return (
    <div>
      <PageHeader
        title="ATT&CK Matrix"
        subtitle={`Enterprise · ${columns.length} tactics · ${count} technique placements · coloured by coverage status`}
        actions={
          <>
            <Select aria-label="Platform" className="w-40" value={platform} onChange={(e) => setPlatform(e.target.value)}>
              <option value="">Every platform</option>
              {platforms.map((p) => <option key={p} value={p}>{p}</option>)}
            </Select>
            <Button
              onClick={() => setOpen(allOpen ? new Set() : new Set(columns.flatMap((c) => c.techniques.filter((t) => t.subs.length).map((t) => t.technique.id))))}
            >
              {allOpen ? "Collapse all" : "Expand all"}
            </Button>
          </>
        }
      />
      <ul className="mb-3 flex flex-wrap gap-x-4 gap-y-1 text-[12px] text-muted" aria-label="Legend">
        {Object.entries(COVERAGE).map(([k, v]) => (
          <li key={k} className="flex items-center gap-1.5"><span className="size-2.5 rounded-sm" style={{ background: v.color }} />{v.label}</li>
        ))}
      </ul>
      <div className="overflow-x-auto rounded-lg border border-line bg-panel" role="grid" aria-label="ATT&CK Enterprise matrix" data-testid="matrix">
        <div className="grid gap-1 p-2" style={{ gridTemplateColumns: `repeat(${columns.length}, minmax(148px, 1fr))` }}>
          {columns.map((c) => (
            <div key={c.tactic.id} role="rowgroup" className="min-w-0">
              <div className="sticky top-0 mb-1 rounded-sm bg-panel-2 px-1.5 py-1.5" title={c.tactic.description}>
                <div className="truncate text-[12px] font-semibold">{c.tactic.name}</div>
                <div className="text-[10px] text-muted">{c.techniques.length} techniques</div>
              </div>
              <div className="space-y-px">
                {c.techniques.map(({ technique, subs }) => (
                  <div key={technique.id}>
                    <HeatmapCell technique={technique} subCount={subs.length} expanded={open.has(technique.id)} onOpen={onOpen} onToggle={onToggle} />
                    {open.has(technique.id) && subs.map((s) => (
                      <HeatmapCell key={s.id} technique={s} subCount={0} expanded={false} sub onOpen={onOpen} onToggle={onToggle} />
                    ))}
                  </div>
                ))}
              </div>
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
