import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Check, CornerUpLeft, Play, Send, ThumbsDown, ThumbsUp, Wrench } from "lucide-react";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, ok, type Role, type TestDetail } from "@/api/client";
import { useSession } from "@/app/session";
import { formatDate, roleLabel, stateLabel, timeAgo } from "@/lib/format";
import { Badge, Button, Card, cx, ErrorNote, Field, PageHeader, Select, Spinner, stateTone, Textarea } from "@/ui/primitives";
import { TechniqueRef } from "@/ui/TechniqueRef";
import { editable, getTest, testKeys } from "./queries";
import { BlueForm, PlanForm, RedForm } from "./TestForms";
import { DetectionsCard, EvidenceCard, HistoryCard, RemediationCard, RetestsCard, WorklogsCard } from "./TestRecords";

const FLOW = ["draft", "red_executing", "blue_evaluating", "in_review", "validated"];

function Stepper({ state }: { state: string }) {
  const at = state === "rejected" ? 3 : FLOW.indexOf(state);
  return (
    <ol aria-label="Lifecycle" className="mb-5 flex items-center gap-2 text-[12px]">
      {FLOW.map((s, i) => (
        <li key={s} className="flex flex-1 items-center gap-2">
          <span
            aria-current={i === at ? "step" : undefined}
            className={cx(
              "flex size-5 shrink-0 items-center justify-center rounded-full text-[11px] font-semibold",
              i < at ? "bg-accent text-accent-fg" : i === at ? (state === "rejected" ? "bg-violet-500 text-white" : "bg-accent text-accent-fg ring-4 ring-accent/20") : "bg-panel-2 text-muted",
            )}
          >
            {/* Validated is the end: its step is done, not a number still to reach. */}
            {i < at || (i === at && state === "validated") ? <Check className="size-3" aria-hidden /> : i + 1}
          </span>
          <span className={cx("whitespace-nowrap", i === at ? "font-medium text-fg" : "text-muted")}>
            {i === at && state === "rejected" ? "Rejected" : stateLabel(s)}
          </span>
          {i < FLOW.length - 1 && <span className={cx("h-px flex-1", i < at ? "bg-accent" : "bg-line")} />}
        </li>
      ))}
    </ol>
  );
}

const ACTIONS: Record<string, { label: string; path: string; icon: typeof Play }> = {
  start: { label: "Start execution", path: "start", icon: Play },
  hand_to_blue: { label: "Hand to blue", path: "hand-to-blue", icon: Send },
  submit: { label: "Submit for review", path: "submit", icon: Send },
  reopen: { label: "Reopen as draft", path: "reopen", icon: CornerUpLeft },
};

function Actions({ test }: { test: TestDetail }) {
  const qc = useQueryClient();
  const act = useMutation({
    mutationFn: (path: string) =>
      ok(api.POST(`/api/v1/tests/{id}/${path}` as "/api/v1/tests/{id}/start", { params: { path: { id: test.id } }, body: { version: test.version } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: testKeys.all }),
  });
  const moves = test.allowed_actions.filter((a) => ACTIONS[a]);
  return (
    <div className="flex flex-col items-end gap-2">
      <div className="flex gap-2">
        {moves.map((a) => {
          const A = ACTIONS[a]!;
          return (
            <Button key={a} variant="primary" busy={act.isPending && act.variables === A.path} onClick={() => act.mutate(A.path)}>
              <A.icon className="size-4" aria-hidden /> {A.label}
            </Button>
          );
        })}
      </div>
      <ErrorNote error={act.error} />
    </div>
  );
}

function ReviewCard({ test }: { test: TestDetail }) {
  const { role } = useSession();
  const qc = useQueryClient();
  const [reason, setReason] = useState("");
  const [as, setAs] = useState<string>(role === "admin" ? "red_lead" : role);
  const canApprove = test.allowed_actions.includes("approve");
  const canReject = test.allowed_actions.includes("reject");
  const vote = useMutation({
    mutationFn: (decision: "approve" | "reject") =>
      ok(api.POST("/api/v1/tests/{id}/vote", { params: { path: { id: test.id } }, body: { decision, reason, as: as as Role, round: test.review_round } })),
    onSuccess: () => {
      setReason("");
      qc.invalidateQueries({ queryKey: testKeys.all });
    },
  });
  const votes = test.votes ?? [];
  const leadVote = (lead: string) => votes.find((v) => v.lead_role === lead && v.review_round === test.review_round);
  if (test.state !== "in_review" && votes.length === 0 && !test.rejection_reason) return null;
  return (
    <Card title={`Review${test.review_round ? ` · round ${test.review_round}` : ""}`}>
      <ul className="space-y-2">
        {["red_lead", "blue_lead"].map((lead) => {
          const v = leadVote(lead);
          return (
            <li key={lead} className="flex items-center justify-between text-[13px]">
              <span>{roleLabel(lead)}</span>
              {v ? (
                <Badge tone={v.decision === "approve" ? "green" : "red"} title={v.reason}>
                  {v.decision === "approve" ? "approved" : "rejected"} · {timeAgo(v.created_at)}
                </Badge>
              ) : (
                <Badge>{test.state === "in_review" ? "pending" : "no vote"}</Badge>
              )}
            </li>
          );
        })}
      </ul>
      {test.rejection_reason && (
        <p className="mt-3 rounded-md bg-violet-500/10 px-3 py-2 text-[13px]">
          <span className="font-medium">Rejected:</span> {test.rejection_reason}
        </p>
      )}
      {(canApprove || canReject) && (
        <div className="mt-4 space-y-3 border-t border-line pt-4">
          {role === "admin" && (
            <Field label="Vote as">
              <Select value={as} onChange={(e) => setAs(e.target.value)}>
                <option value="red_lead">Red lead</option>
                <option value="blue_lead">Blue lead</option>
              </Select>
            </Field>
          )}
          <Field label="Reason" hint="Required to reject.">
            <Textarea aria-label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} rows={2} />
          </Field>
          <div className="flex gap-2">
            {canApprove && (
              <Button variant="primary" busy={vote.isPending && vote.variables === "approve"} onClick={() => vote.mutate("approve")}>
                <ThumbsUp className="size-4" aria-hidden /> Approve
              </Button>
            )}
            {canReject && (
              <Button variant="danger" disabled={!reason.trim()} busy={vote.isPending && vote.variables === "reject"} onClick={() => vote.mutate("reject")}>
                <ThumbsDown className="size-4" aria-hidden /> Reject
              </Button>
            )}
          </div>
          <ErrorNote error={vote.error} />
        </div>
      )}
    </Card>
  );
}

export default function TestDetailPage() {
  const { id = "" } = useParams();
  const { role } = useSession();
  const q = useQuery({ queryKey: testKeys.detail(id), queryFn: () => getTest(id) });
  if (q.isPending) return <Spinner />;
  if (q.isError) return <ErrorNote error={q.error} />;
  const t = q.data;
  const can = editable(role, t.state);
  return (
    <div>
      <div className="mb-1 text-[12px] text-muted">
        <Link to="/tests" className="hover:text-fg">Tests</Link> / <TechniqueRef id={t.technique_id} withName />
      </div>
      <PageHeader
        title={<span className="flex items-center gap-3">{t.title} <Badge tone={stateTone(t.state)}>{stateLabel(t.state)}</Badge>{t.retest_of && <Badge tone="violet">retest #{t.retest_depth}</Badge>}</span>}
        subtitle={`Created ${formatDate(t.created_at)} · updated ${timeAgo(t.updated_at)} · version ${t.version}`}
        actions={<Actions test={t} />}
      />
      <Stepper state={t.state} />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-3">
        <div className="min-w-0 space-y-4 xl:col-span-2">
          <PlanForm test={t} editablePlan={can.plan} canAssign={can.assign} />
          <RedForm test={t} editable={can.red} />
          <BlueForm test={t} editable={can.blue} />
          <DetectionsCard test={t} editable={can.detections} />
          <EvidenceCard test={t} />
          <WorklogsCard test={t} />
        </div>
        <div className="min-w-0 space-y-4">
          <ReviewCard test={t} />
          <RemediationCard test={t} editable={can.remediation} canComplete={t.allowed_actions.includes("complete_remediation")} />
          <RetestsCard test={t} />
          <HistoryCard test={t} />
          {role === "viewer" && (
            <p className="flex items-center gap-2 text-[12px] text-muted"><Wrench className="size-3.5" aria-hidden /> Viewers read tests; changes need a team role.</p>
          )}
        </div>
      </div>
    </div>
  );
}
