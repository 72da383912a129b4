import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowRight, Camera } from "lucide-react";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { lookupKeys, snapshotLabel, useSnapshotList } from "@/api/lookups";
import { useSession } from "@/app/session";
import { formatScore, formatSigned, humanize } from "@/lib/format";
import { coverageOf } from "@/ui/coverage";
import { Badge, Button, Card, cx, Empty, ErrorNote, Field, PageHeader, Select, Spinner, Stat } from "@/ui/primitives";
import { defaultPair, SECTIONS, type SectionKey } from "./model";

export const snapshotKeys = { compare: (from: string, to: string) => ["snapshots", "compare", from, to] as const };

const LEADS = ["admin", "red_lead", "blue_lead"];
const label = (s: Schemas["Snapshot"]) => snapshotLabel(s);

function Status({ status, score }: { status: string; score?: number | null }) {
  const c = coverageOf(status);
  return <span className="inline-flex items-center gap-1.5"><Badge tone={c.tone}>{c.label}</Badge><span className="text-[12px] text-muted tabular-nums">{formatScore(score)}</span></span>;
}

function Changes({ cmp }: { cmp: Schemas["SnapshotComparison"] }) {
  const [tab, setTab] = useState<SectionKey>(cmp.regressed?.length ? "regressed" : "improved");
  const rows = (cmp[tab] ?? []) as Schemas["TechniqueChange"][];
  return (
    <Card
      title="Techniques that changed"
      actions={
        <div role="tablist" className="flex gap-1">
          {SECTIONS.map((s) => (
            <button key={s.key} role="tab" aria-selected={tab === s.key} onClick={() => setTab(s.key)}
              className={cx("rounded px-2 py-1 text-[12px]", tab === s.key ? "bg-panel-2 font-medium text-fg" : "text-muted hover:text-fg")}>
              {s.label} <span className="tabular-nums">{(cmp[s.key] ?? []).length}</span>
            </button>
          ))}
        </div>
      }
    >
      {rows.length === 0 ? <Empty>{SECTIONS.find((s) => s.key === tab)!.empty}</Empty> : (
        <table className="w-full text-[13px]" aria-label={`${humanize(tab)} techniques`}>
          <thead className="border-b border-line text-left text-[12px] text-muted">
            <tr>
              <th className="py-2 pr-3 font-medium">Technique</th>
              <th className="py-2 pr-3 font-medium">Before</th>
              <th className="w-6" />
              <th className="py-2 pr-3 font-medium">After</th>
              <th className="py-2 text-right font-medium">Tests changed</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-line">
            {rows.map((t) => (
              <tr key={t.technique_id}>
                <td className="max-w-96 py-2 pr-3"><Link to={`/techniques/${t.technique_id}`} className="line-clamp-1 hover:text-accent"><span className="font-mono text-[12px] text-muted">{t.technique_id}</span> {t.name}</Link></td>
                <td className="py-2 pr-3">{t.before_status ? <Status status={t.before_status} score={t.before_score} /> : <span className="text-muted">—</span>}</td>
                <td className="text-muted"><ArrowRight className="size-3.5" aria-hidden /></td>
                <td className="py-2 pr-3">{t.after_status ? <Status status={t.after_status} score={t.after_score} /> : <span className="text-muted">—</span>}</td>
                <td className="py-2 text-right tabular-nums">{t.tests?.length ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function Comparison({ from, to }: { from: string; to: string }) {
  const q = useQuery({ queryKey: snapshotKeys.compare(from, to), queryFn: () => ok(api.GET("/api/v1/snapshots/compare", withQuery({ from, to }))) });
  if (q.isPending) return <Spinner label="Comparing" />;
  if (q.isError) return <ErrorNote error={q.error} />;
  const c = q.data;
  const changed = (c.improved?.length ?? 0) + (c.regressed?.length ?? 0);
  return (
    <div className="space-y-4">
      {!c.same_formula && <ErrorNote error={new Error("The two snapshots were scored with different formula versions: score changes mix real change with the new weights.")} />}
      <div className="grid grid-cols-2 gap-3 lg:grid-cols-5">
        <Stat label="Organisation score" value={formatScore(c.to?.org_score, 1)} hint={`was ${formatScore(c.from?.org_score, 1)}`} />
        <Stat label="Score change" value={formatSigned(c.score_change)} tone={(c.score_change ?? 0) > 0 ? "text-emerald-600 dark:text-emerald-400" : (c.score_change ?? 0) < 0 ? "text-red-600 dark:text-red-400" : undefined} />
        <Stat label="Improved" value={c.improved?.length ?? 0} hint="techniques" tone={c.improved?.length ? "text-emerald-600 dark:text-emerald-400" : undefined} />
        <Stat label="Regressed" value={c.regressed?.length ?? 0} hint="techniques" tone={c.regressed?.length ? "text-red-600 dark:text-red-400" : undefined} />
        <Stat label="Unchanged" value={c.unchanged} hint={`${changed} changed, ${c.new?.length ?? 0} new, ${c.removed?.length ?? 0} removed`} />
      </div>
      <Changes cmp={c} />
      <Card title={`Tests that changed (${c.tests_changed?.length ?? 0})`}>
        {!c.tests_changed?.length ? <Empty>No test changed state or outcome between these snapshots.</Empty> : (
          <ul className="-my-2 max-h-96 divide-y divide-line overflow-y-auto">
            {c.tests_changed.map((t) => (
              <li key={t.test_id} className="flex items-center gap-2 py-2 text-[13px]">
                <Link to={`/tests/${t.test_id}`} className="min-w-0 truncate hover:text-accent">{t.title}</Link>
                <Link to={`/techniques/${t.technique_id}`} className="font-mono text-[12px] text-muted hover:text-accent">{t.technique_id}</Link>
                <span className="ml-auto shrink-0 text-[12px] text-muted">
                  {t.before_state ? humanize(t.before_state) : "new"} → {t.after_state ? humanize(t.after_state) : "gone"}
                  {t.after_outcome && t.after_outcome !== t.before_outcome ? ` · outcome ${humanize(t.after_outcome)}` : ""}
                </span>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}

export default function ComparisonPage() {
  const { role } = useSession();
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const snaps = useSnapshotList();
  const take = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/snapshots", { body: { name: "" } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: lookupKeys.snapshots }),
  });
  const list = snaps.data?.items ?? [];
  const pair = defaultPair(list);
  const from = params.get("from") ?? pair.from;
  const to = params.get("to") ?? pair.to;
  const set = (k: "from" | "to", v: string) => setParams((p) => {
    const n = new URLSearchParams(p);
    n.set(k, v);
    if (!n.get(k === "from" ? "to" : "from")) n.set(k === "from" ? "to" : "from", k === "from" ? to : from);
    return n;
  });
  return (
    <div>
      <PageHeader
        title="Snapshot comparison"
        subtitle="What changed in coverage between two snapshots: techniques improved and regressed, and the tests behind them."
        actions={LEADS.includes(role) && <Button busy={take.isPending} onClick={() => take.mutate()}><Camera className="size-4" aria-hidden /> Take a snapshot now</Button>}
      />
      <ErrorNote error={take.error} className="mb-4" />
      {snaps.isPending ? <Spinner /> : snaps.isError ? <ErrorNote error={snaps.error} /> : list.length < 2 ? (
        <Card>
          <Empty>
            {list.length === 0 ? "No snapshot yet." : "Only one snapshot so far."} Comparing needs two: the scheduler takes one every week, and a lead may take one now.
          </Empty>
        </Card>
      ) : (
        <>
          <div className="mb-4 flex flex-wrap items-end gap-3">
            <div className="w-96"><Field label="Earlier snapshot"><Select value={from} onChange={(e) => set("from", e.target.value)}>{list.map((s) => <option key={s.id} value={s.id}>{label(s)}</option>)}</Select></Field></div>
            <ArrowRight className="mb-2 size-4 text-muted" aria-hidden />
            <div className="w-96"><Field label="Later snapshot"><Select value={to} onChange={(e) => set("to", e.target.value)}>{list.map((s) => <option key={s.id} value={s.id}>{label(s)}</option>)}</Select></Field></div>
          </div>
          {from === to ? <Card><Empty>Pick two different snapshots.</Empty></Card> : <Comparison from={from} to={to} />}
        </>
      )}
    </div>
  );
}
