import { useQuery } from "@tanstack/react-query";
import { ChevronDown, ChevronRight, Search } from "lucide-react";
import { Fragment, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { formatScore } from "@/lib/format";
import { coverageOf } from "@/ui/coverage";
import { useDebounce } from "@/ui/hooks";
import { Badge, Card, cx, Empty, ErrorNote, Input, PageHeader, Select, Spinner, Stat } from "@/ui/primitives";
import { CONTROL_STATUS, CONTROL_STATUS_ORDER, controlBar } from "./model";

export const complianceKeys = {
  frameworks: ["compliance", "frameworks"] as const,
  framework: (id: string) => ["compliance", "framework", id] as const,
  controls: (f: object) => ["compliance", "controls", f] as const,
};

function ControlBar({ counts, total, thin }: { counts: Record<string, number>; total: number; thin?: boolean }) {
  return (
    <div className={cx("flex overflow-hidden rounded-full bg-panel-2", thin ? "h-1.5" : "h-2.5")} aria-hidden>
      {controlBar(counts, total).map((s) => <div key={s.status} style={{ width: `${s.pct}%`, background: CONTROL_STATUS[s.status]!.color }} />)}
    </div>
  );
}

function Legend({ counts }: { counts: Record<string, number> }) {
  return (
    <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-[12px] text-muted">
      {CONTROL_STATUS_ORDER.map((s) => (
        <li key={s} className="flex items-center gap-1.5">
          <span className="size-2 rounded-sm" style={{ background: CONTROL_STATUS[s]!.color }} />
          {CONTROL_STATUS[s]!.label} <b className="font-medium text-fg tabular-nums">{counts[s] ?? 0}</b>
        </li>
      ))}
    </ul>
  );
}

function ControlRow({ c }: { c: Schemas["ControlCoverage"] }) {
  const [open, setOpen] = useState(false);
  const st = CONTROL_STATUS[c.status] ?? { label: c.status, tone: "gray" as const, color: "#64748b" };
  return (
    <Fragment>
      <tr className="cursor-pointer hover:bg-panel-2" onClick={() => setOpen(!open)}>
        <td className="py-2 pl-4">
          <button type="button" aria-expanded={open} aria-label={`${open ? "Hide" : "Show"} the techniques of ${c.external_id}`} className="text-muted" onClick={(e) => { e.stopPropagation(); setOpen(!open); }}>
            {open ? <ChevronDown className="size-4" /> : <ChevronRight className="size-4" />}
          </button>
        </td>
        <td className="py-2 pr-3 font-mono text-[12px] whitespace-nowrap">{c.external_id}</td>
        <td className="max-w-[28rem] py-2 pr-3"><span className="line-clamp-1" title={c.title}>{c.title}</span></td>
        <td className="py-2 pr-3 whitespace-nowrap text-muted">{c.family}</td>
        <td className="py-2 pr-3"><Badge tone={st.tone}>{st.label}</Badge></td>
        <td className="py-2 pr-3 text-right tabular-nums">{formatScore(c.score.score)}</td>
        <td className="py-2 pr-4 text-right tabular-nums">{c.techniques.length}</td>
        <td className="py-2 pr-4 text-right tabular-nums">{c.gaps.length > 0 ? <span className="text-amber-700 dark:text-amber-300">{c.gaps.length}</span> : <span className="text-muted">0</span>}</td>
      </tr>
      {open && (
        <tr className="bg-panel-2/50">
          <td />
          <td colSpan={7} className="py-2 pr-4">
            {c.techniques.length === 0 ? <span className="text-[12px] text-muted">Maps to no ATT&CK technique.</span> : (
              <ul className="grid grid-cols-1 gap-x-6 gap-y-1 lg:grid-cols-2">
                {c.techniques.map((t) => {
                  const cov = coverageOf(t.status);
                  const gap = c.gaps.some((g) => g.technique_id === t.technique_id);
                  return (
                    <li key={t.technique_id} className="flex items-center gap-2 text-[12px]">
                      <span className="size-2 shrink-0 rounded-sm" style={{ background: cov.color }} title={cov.label} />
                      <Link to={`/techniques/${t.technique_id}`} className="min-w-0 truncate hover:text-accent"><span className="font-mono text-muted">{t.technique_id}</span> {t.name}</Link>
                      <span className="ml-auto shrink-0 text-muted">{t.mapping_type.replaceAll("_", " ")}</span>
                      {gap && <Badge tone="amber">gap</Badge>}
                    </li>
                  );
                })}
              </ul>
            )}
          </td>
        </tr>
      )}
    </Fragment>
  );
}

function Framework({ id }: { id: string }) {
  const [params, setParams] = useSearchParams();
  const family = params.get("family") ?? "";
  const status = params.get("status") ?? "";
  const [search, setSearch] = useState("");
  const q = useDebounce(search);
  const fw = useQuery({ queryKey: complianceKeys.framework(id), queryFn: () => ok(api.GET("/api/v1/compliance/frameworks/{id}", { params: { path: { id } } })) });
  const controls = useQuery({
    queryKey: complianceKeys.controls({ id, family, q, status }),
    // The server rates the controls and filters by status, so the count and the page agree.
    queryFn: () => ok(api.GET("/api/v1/compliance/controls", withQuery({ framework: id, family, search: q, status, limit: 500 }))),
  });
  const set = (k: string, v: string) => setParams((p) => {
    const n = new URLSearchParams(p);
    if (v) n.set(k, v);
    else n.delete(k);
    return n;
  });
  if (fw.isPending) return <Spinner />;
  if (fw.isError) return <ErrorNote error={fw.error} />;
  const f = fw.data;
  const rows = controls.data?.items ?? [];
  const gaps = (f.control_statuses.partial ?? 0) + (f.control_statuses.untested ?? 0);
  return (
    <div className="space-y-4">
      <div className="grid grid-cols-2 gap-3 lg:grid-cols-4">
        <Stat label="Controls" value={f.controls} hint={`${f.mapped_controls} mapped to ATT&CK`} />
        <Stat label="Coverage score" value={formatScore(f.score.score)} hint={f.score.scored ? `over ${f.score.scored} scored technique${f.score.scored === 1 ? "" : "s"}` : "nothing tested yet"} />
        <Stat label="Covered controls" value={f.control_statuses.covered ?? 0} hint="every mapped technique covered" />
        <Stat label="Controls with gaps" value={gaps} hint="partial or untested" tone={gaps ? "text-amber-600 dark:text-amber-400" : undefined} />
      </div>
      <Card title={`${f.name} · control status`}>
        <ControlBar counts={f.control_statuses} total={f.controls} />
        <Legend counts={f.control_statuses} />
      </Card>
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-[20rem_minmax(0,1fr)]">
        <Card title="Families">
          <ul className="-mx-4 -my-4 divide-y divide-line" aria-label="Control families">
            <li>
              <button type="button" onClick={() => set("family", "")} className={cx("w-full px-4 py-2 text-left text-[13px] hover:bg-panel-2", !family && "bg-accent/10 font-medium")}>Every family</button>
            </li>
            {(f.families ?? []).map((fa) => (
              <li key={fa.family}>
                <button type="button" onClick={() => set("family", fa.family)} aria-current={family === fa.family ? "true" : undefined}
                  className={cx("w-full px-4 py-2 text-left text-[13px] hover:bg-panel-2", family === fa.family && "bg-accent/10 font-medium")}>
                  <div className="flex items-center gap-2">
                    <span className="min-w-0 flex-1 truncate">{fa.family}</span>
                    <span className="text-[12px] text-muted tabular-nums">{fa.controls}</span>
                  </div>
                  <div className="mt-1"><ControlBar counts={fa.control_statuses} total={fa.controls} thin /></div>
                </button>
              </li>
            ))}
          </ul>
        </Card>
        <div className="min-w-0">
          <div className="mb-3 flex flex-wrap items-center gap-2">
            <div className="relative w-72">
              <Search className="pointer-events-none absolute top-2 left-2.5 size-4 text-muted" aria-hidden />
              <Input aria-label="Search controls" className="w-72 pl-8" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Control id or title" />
            </div>
            <Select aria-label="Control status" className="w-44" value={status} onChange={(e) => set("status", e.target.value)}>
              <option value="">Every status</option>
              {CONTROL_STATUS_ORDER.map((s) => <option key={s} value={s}>{CONTROL_STATUS[s]!.label}</option>)}
            </Select>
            <span className="ml-auto text-[12px] text-muted">{controls.data ? (controls.data.total > rows.length ? `first ${rows.length} of ${controls.data.total} controls` : `${controls.data.total} controls`) : ""}</span>
          </div>
          <div className="overflow-x-auto rounded-lg border border-line bg-panel">
            {controls.isPending ? <Spinner /> : controls.isError ? <div className="p-4"><ErrorNote error={controls.error} /></div> : rows.length === 0 ? <Empty>No control matches these filters.</Empty> : (
              <table className="w-full text-[13px]" aria-label="Controls">
                <thead className="border-b border-line text-left text-[12px] text-muted">
                  <tr>
                    <th className="w-8 py-2 pl-4" />
                    <th className="py-2 pr-3 font-medium">Control</th>
                    <th className="py-2 pr-3 font-medium">Title</th>
                    <th className="py-2 pr-3 font-medium">Family</th>
                    <th className="py-2 pr-3 font-medium">Status</th>
                    <th className="py-2 pr-3 text-right font-medium">Score</th>
                    <th className="py-2 pr-4 text-right font-medium">Techniques</th>
                    <th className="py-2 pr-4 text-right font-medium">Gaps</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-line">{rows.map((c) => <ControlRow key={c.id} c={c} />)}</tbody>
              </table>
            )}
          </div>
        </div>
      </div>
    </div>
  );
}

export default function CompliancePage() {
  const [params, setParams] = useSearchParams();
  const list = useQuery({ queryKey: complianceKeys.frameworks, queryFn: () => ok(api.GET("/api/v1/compliance/frameworks")) });
  if (list.isPending) return <Spinner label="Loading frameworks" />;
  if (list.isError) return <ErrorNote error={list.error} />;
  const frameworks = list.data;
  const id = params.get("framework") ?? frameworks[0]?.id ?? "";
  return (
    <div>
      <PageHeader
        title="Compliance"
        subtitle="Controls of each framework mapped to ATT&CK techniques, and the techniques that leave a control uncovered."
        actions={frameworks.length > 1 && (
          <Select aria-label="Framework" className="w-72" value={id} onChange={(e) => setParams({ framework: e.target.value })}>
            {frameworks.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
          </Select>
        )}
      />
      {frameworks.length === 0 ? (
        <Card><Empty>No compliance framework yet. An admin imports NIST SP 800-53 with the nist plugin under System → Plugins & imports.</Empty></Card>
      ) : <Framework key={id} id={id} />}
    </div>
  );
}
