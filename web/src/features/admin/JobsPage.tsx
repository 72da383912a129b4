import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, ok, withQuery } from "@/api/client";
import { formatDate, formatDuration, timeAgo } from "@/lib/format";
import { Badge, Card, Empty, ErrorNote, Mono, PageHeader, Select, Spinner, type Tone } from "@/ui/primitives";
import { adminKeys } from "./queries";

const OUTCOME_TONES: Record<string, Tone> = { succeeded: "green", failed: "red", running: "blue" };

/** Runs of the scheduled jobs on every instance, newest first, refreshed while open. */
export default function JobsPage() {
  const [job, setJob] = useState("");
  const [outcome, setOutcome] = useState("");
  const q = useQuery({
    queryKey: adminKeys.jobs({ job, outcome }),
    queryFn: () => ok(api.GET("/api/v1/jobs/runs", withQuery({ job, outcome, limit: 200 }))),
    refetchInterval: 10_000,
  });
  // The job filter offers the jobs seen so far (the configuration decides which exist).
  const all = useQuery({ queryKey: adminKeys.jobs({}), queryFn: () => ok(api.GET("/api/v1/jobs/runs", withQuery({ limit: 200 }))) });
  const names = [...new Set((all.data?.items ?? []).map((r) => r.job))].sort();
  return (
    <div>
      <PageHeader
        title="Jobs"
        subtitle={q.data ? `${q.data.total.toLocaleString()} runs of the scheduled jobs (snapshots, recurring campaigns, scheduled imports, clean-up), on every instance` : "Runs of the scheduled jobs"}
      />
      <div className="mb-3 flex gap-2">
        <Select aria-label="Job" value={job} onChange={(e) => setJob(e.target.value)} className="w-56">
          <option value="">Every job</option>
          {names.map((n) => <option key={n} value={n}>{n}</option>)}
        </Select>
        <Select aria-label="Outcome" value={outcome} onChange={(e) => setOutcome(e.target.value)} className="w-40">
          <option value="">Every outcome</option>
          <option value="running">Running</option>
          <option value="succeeded">Succeeded</option>
          <option value="failed">Failed</option>
        </Select>
      </div>
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.items.length === 0 ? (
        <Card><Empty>{job || outcome ? "No run matches." : "No job has run yet (the scheduler may be off in aegis.hcl)."}</Empty></Card>
      ) : (
        <div className="overflow-hidden rounded-lg border border-line bg-panel">
          <table className="w-full table-fixed text-[13px]" aria-label="Job runs">
            <thead className="border-b border-line bg-panel-2 text-left text-[12px] text-muted">
              <tr>
                <th className="w-52 px-4 py-2 font-medium">Job</th>
                <th className="w-28 px-2 font-medium">Outcome</th>
                <th className="w-44 px-2 font-medium">Started</th>
                <th className="w-24 px-2 font-medium">Took</th>
                <th className="w-40 px-2 font-medium">Instance</th>
                <th className="px-2 font-medium">Summary</th>
              </tr>
            </thead>
            <tbody>
              {q.data.items.map((r) => (
                <tr key={r.id} className="border-b border-line/60 align-top">
                  <td className="truncate px-4 py-2"><Mono>{r.job}</Mono></td>
                  <td className="px-2 py-2"><Badge tone={OUTCOME_TONES[r.outcome] ?? "gray"}>{r.outcome}</Badge></td>
                  <td className="px-2 py-2" title={`tick ${formatDate(r.tick_at)}`}>{timeAgo(r.started_at)}</td>
                  <td className="px-2 py-2 tabular-nums text-muted">{r.finished_at ? formatDuration(Date.parse(r.finished_at) - Date.parse(r.started_at)) : "—"}</td>
                  <td className="truncate px-2 py-2 text-muted" title={r.instance}>{r.instance}</td>
                  <td className="px-2 py-2 break-words">
                    {r.error ? <span className="text-red-600 dark:text-red-400">{r.error}</span> : r.summary || <span className="text-muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
