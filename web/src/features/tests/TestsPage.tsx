import { useQuery } from "@tanstack/react-query";
import { ChevronLeft, ChevronRight, Plus } from "lucide-react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useSession } from "@/app/session";
import { stateLabel, STATES, timeAgo } from "@/lib/format";
import { useDebounce } from "@/ui/hooks";
import { TechniqueRef } from "@/ui/TechniqueRef";
import { Badge, Button, Empty, ErrorNote, Input, PageHeader, Select, Spinner, stateTone } from "@/ui/primitives";
import { listTests, PAGE, testKeys } from "./queries";

const CREATORS = ["red_tech", "red_lead", "blue_lead", "admin"];

export default function TestsPage() {
  const [params, setParams] = useSearchParams();
  const { role } = useSession();
  const nav = useNavigate();
  const state = params.get("state") ?? "";
  const assignee = params.get("assignee") ?? "";
  const techniqueInput = params.get("technique") ?? "";
  const technique = useDebounce(techniqueInput.trim().toUpperCase());
  const offset = Number(params.get("offset") ?? 0);
  const filters = { state, assignee, technique, offset };
  const q = useQuery({ queryKey: testKeys.list(filters), queryFn: () => listTests(filters), placeholderData: (p) => p });

  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== "offset") next.delete("offset");
    setParams(next, { replace: true });
  };

  return (
    <div>
      <PageHeader
        title="Tests"
        subtitle={q.data ? `${q.data.total.toLocaleString()} ${q.data.total === 1 ? "test" : "tests"}` : "Purple-team tests of ATT&CK techniques"}
        actions={CREATORS.includes(role) && (
          <Link to="/tests/new"><Button variant="primary"><Plus className="size-4" aria-hidden /> New test</Button></Link>
        )}
      />
      <div className="mb-3 flex flex-wrap items-end gap-2">
        <label className="w-44">
          <span className="sr-only">State</span>
          <Select aria-label="State" value={state} onChange={(e) => set("state", e.target.value)}>
            <option value="">Every state</option>
            {STATES.map((s) => <option key={s} value={s}>{stateLabel(s)}</option>)}
          </Select>
        </label>
        <label className="w-44">
          <span className="sr-only">Assignee</span>
          <Select aria-label="Assignee" value={assignee} onChange={(e) => set("assignee", e.target.value)}>
            <option value="">Anyone</option>
            <option value="me">Assigned to me</option>
          </Select>
        </label>
        <Input aria-label="Technique" placeholder="Technique, e.g. T1059" className="w-52" value={techniqueInput} onChange={(e) => set("technique", e.target.value)} />
      </div>
      <ErrorNote error={q.error} className="mb-3" />
      <div className="overflow-hidden rounded-lg border border-line bg-panel">
        <table className="w-full table-fixed text-[13px]">
          <thead className="border-b border-line bg-panel-2 text-left text-[12px] text-muted">
            <tr>
              <th className="px-4 py-2 font-medium">Title</th>
              <th className="w-28 px-2 py-2 font-medium">Technique</th>
              <th className="w-36 px-2 py-2 font-medium">State</th>
              <th className="w-28 px-2 py-2 font-medium">Platform</th>
              <th className="w-28 px-2 py-2 font-medium">Outcome</th>
              <th className="w-28 px-4 py-2 font-medium">Updated</th>
            </tr>
          </thead>
          <tbody>
            {q.data?.items.map((t) => (
              <tr key={t.id} tabIndex={0} onClick={() => nav(`/tests/${t.id}`)} onKeyDown={(e) => e.key === "Enter" && nav(`/tests/${t.id}`)} className="cursor-pointer border-b border-line/60 last:border-0 hover:bg-panel-2">
                <td className="truncate px-4 py-2.5">
                  <Link to={`/tests/${t.id}`} className="font-medium hover:text-accent" onClick={(e) => e.stopPropagation()}>{t.title}</Link>
                  {t.retest_of && <Badge tone="violet">retest</Badge>}
                </td>
                <td className="truncate px-2"><TechniqueRef id={t.technique_id} /></td>
                <td className="px-2"><Badge tone={stateTone(t.state)}>{stateLabel(t.state)}</Badge></td>
                <td className="truncate px-2 text-muted">{t.platform || "—"}</td>
                <td className="truncate px-2 text-muted">{t.attack_outcome || "—"}</td>
                <td className="px-4 text-muted">{timeAgo(t.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {q.isPending && <Spinner />}
        {q.data?.items.length === 0 && <Empty>{state || assignee || techniqueInput || offset ? "No test matches these filters." : "No tests yet. Start one from a technique, a template or New test, or build a campaign."}</Empty>}
      </div>
      {q.data && q.data.total > PAGE && (
        <div className="mt-3 flex items-center justify-end gap-2 text-[12px] text-muted">
          {offset + 1}–{Math.min(offset + PAGE, q.data.total)} of {q.data.total}
          <Button aria-label="Previous page" disabled={offset === 0} onClick={() => set("offset", String(Math.max(0, offset - PAGE)))}><ChevronLeft className="size-4" /></Button>
          <Button aria-label="Next page" disabled={offset + PAGE >= q.data.total} onClick={() => set("offset", String(offset + PAGE))}><ChevronRight className="size-4" /></Button>
        </div>
      )}
    </div>
  );
}
