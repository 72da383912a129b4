import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { formatDate, humanize } from "@/lib/format";
import { Badge, Button, Card, Empty, ErrorNote, Input, Mono, PageHeader, Select, Spinner } from "@/ui/primitives";
import { adminKeys } from "./queries";

function Review({ r }: { r: Schemas["TechniqueReview"] }) {
  const qc = useQueryClient();
  const [target, setTarget] = useState(r.candidates[0] ?? "");
  const [note, setNote] = useState("");
  const resolve = useMutation({
    mutationFn: (dismiss: boolean) =>
      ok(api.POST("/api/v1/attack/reviews/{id}/resolve", { params: { path: { id: r.id } }, body: dismiss ? { dismiss, note } : { target, note } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "reviews"] }),
  });
  const deps = r.dependents && typeof r.dependents === "object" ? Object.entries(r.dependents as Record<string, number>).filter(([, n]) => n) : [];
  return (
    <li className="py-3">
      <div className="flex items-center gap-2 text-[13px]">
        <Link to={`/techniques/${r.external_id}`} className="font-mono font-medium hover:text-accent">{r.external_id}</Link>
        <Badge tone="amber">{humanize(r.reason)}</Badge>
        <span className="text-[12px] text-muted">ATT&CK {r.release} · {formatDate(r.created_at)}</span>
        <Badge tone={r.status === "open" ? "blue" : "gray"}>{r.status}</Badge>
      </div>
      {deps.length > 0 && <div className="mt-1 text-[12px] text-muted">Waiting on it: {deps.map(([k, n]) => `${n} ${k}`).join(", ")}</div>}
      {r.note && <div className="mt-1 text-[12px]">{r.note}</div>}
      {r.status === "open" && (
        <div className="mt-2 flex flex-wrap items-center gap-2">
          {r.candidates.length > 0 ? (
            <Select aria-label="Target technique" value={target} onChange={(e) => setTarget(e.target.value)} className="w-44">
              {r.candidates.map((c) => <option key={c} value={c}>{c}</option>)}
            </Select>
          ) : (
            <Input aria-label="Target technique" placeholder="Target, e.g. T1562.001" value={target} onChange={(e) => setTarget(e.target.value)} className="w-44" />
          )}
          <Input aria-label="Note" placeholder="Note for the audit log" value={note} onChange={(e) => setNote(e.target.value)} className="w-64" />
          <Button variant="primary" disabled={!target} busy={resolve.isPending && resolve.variables === false} onClick={() => resolve.mutate(false)}>Move to target</Button>
          <Button busy={resolve.isPending && resolve.variables === true} onClick={() => resolve.mutate(true)}>Dismiss</Button>
        </div>
      )}
      <ErrorNote error={resolve.error} className="mt-2" />
      {resolve.data?.remap && <p className="mt-1 text-[12px] text-emerald-600 dark:text-emerald-400">Moved: {resolve.data.remap.moves.length} remaps.</p>}
    </li>
  );
}

export default function ReviewsPage() {
  const [status, setStatus] = useState("open");
  const q = useQuery({ queryKey: adminKeys.reviews(status), queryFn: () => ok(api.GET("/api/v1/attack/reviews", withQuery({ status, limit: 200 }))) });
  return (
    <div>
      <PageHeader
        title="ATT&CK review queue"
        subtitle="Revoked or deprecated techniques whose tests and links could not be moved automatically."
        actions={
          <Select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value)} className="w-36">
            <option value="open">Open</option><option value="resolved">Resolved</option><option value="dismissed">Dismissed</option>
          </Select>
        }
      />
      <Card>
        {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.items.length === 0 ? (
          <Empty>{status === "open" ? "Nothing waits for review: every ATT&CK change so far was followed automatically." : `No ${status} review.`}</Empty>
        ) : (
          <>
            <div className="mb-1 text-[12px] text-muted"><Mono>{q.data.total}</Mono> {status}</div>
            <ul className="-my-1 divide-y divide-line">{q.data.items.map((r) => <Review key={r.id} r={r} />)}</ul>
          </>
        )}
      </Card>
    </div>
  );
}
