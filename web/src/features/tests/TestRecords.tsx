// What hangs off a test: detection results, evidence files, worklogs, remediation,
// retests and its audit history.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Download, FileCheck2, ShieldAlert, Upload } from "lucide-react";
import { useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, ok, upload, withQuery, type Schemas, type TestDetail } from "@/api/client";
import { useTechniqueIndex } from "@/api/lookups";
import { useSession } from "@/app/session";
import { formatBytes, formatDate, humanize, stateLabel, timeAgo } from "@/lib/format";
import { Badge, Button, Card, Empty, ErrorNote, Field, Input, Mono, Progress, Select, Spinner, stateTone, Textarea } from "@/ui/primitives";
import { testKeys } from "./queries";

const path = (id: string) => ({ params: { path: { id } } });

export function DetectionsCard({ test, editable }: { test: TestDetail; editable: boolean }) {
  const qc = useQueryClient();
  const idx = useTechniqueIndex();
  const attackId = idx.data?.byId.get(test.technique_id)?.external_id ?? "";
  const results = useQuery({ queryKey: testKeys.detections(test.id), queryFn: () => ok(api.GET("/api/v1/tests/{id}/detections", path(test.id))) });
  const rules = useQuery({
    queryKey: testKeys.rules(attackId),
    enabled: !!attackId,
    queryFn: () => ok(api.GET("/api/v1/detection-rules", withQuery({ technique: attackId, limit: 200 }))),
  });
  const [rule, setRule] = useState("");
  const [triggered, setTriggered] = useState("yes");
  const record = useMutation({
    mutationFn: () =>
      ok(api.PUT("/api/v1/tests/{id}/detections/{rule_id}", { params: { path: { id: test.id, rule_id: rule } }, body: { triggered: triggered === "yes", matched_events: 0, notes: "" } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: testKeys.detections(test.id) }),
  });
  const title = (id: string) => rules.data?.items.find((r) => r.id === id)?.title ?? id.slice(0, 8);
  return (
    <Card title="Detection results" actions={rules.data && <span className="text-[12px] text-muted">{rules.data.total} rules map to this technique</span>}>
      {results.isPending ? <Spinner /> : results.isError ? <ErrorNote error={results.error} /> : results.data.items.length === 0 ? (
        <Empty>No detection result recorded.</Empty>
      ) : (
        <ul className="-my-1 divide-y divide-line">
          {results.data.items.map((d) => (
            <li key={d.id} className="flex items-center justify-between gap-3 py-2 text-[13px]">
              <span className="min-w-0 truncate">{title(d.detection_rule_id)}</span>
              <span className="flex shrink-0 items-center gap-2">
                <Badge tone={d.triggered ? "green" : "red"}>{d.triggered ? "triggered" : "not triggered"}</Badge>
                <Badge>{d.method}</Badge>
                {d.matched_events > 0 && <span className="text-[12px] text-muted">{d.matched_events} events</span>}
              </span>
            </li>
          ))}
        </ul>
      )}
      {editable && (
        <form onSubmit={(e) => { e.preventDefault(); record.mutate(); }} className="mt-4 flex items-end gap-2 border-t border-line pt-4">
          <Field label="Detection rule">
            <Select value={rule} onChange={(e) => setRule(e.target.value)} required className="min-w-72">
              <option value="">Choose a rule…</option>
              {rules.data?.items.map((r) => <option key={r.id} value={r.id}>{r.title} ({r.source})</option>)}
            </Select>
          </Field>
          <Field label="Result">
            <Select value={triggered} onChange={(e) => setTriggered(e.target.value)} className="w-36">
              <option value="yes">Triggered</option>
              <option value="no">Not triggered</option>
            </Select>
          </Field>
          <Button type="submit" busy={record.isPending} disabled={!rule}>Record</Button>
          <ErrorNote error={record.error} />
        </form>
      )}
    </Card>
  );
}

function EvidenceRow({ ev, canDelete }: { ev: Schemas["Evidence"]; canDelete: boolean }) {
  const qc = useQueryClient();
  const verify = useMutation({ mutationFn: () => ok(api.POST("/api/v1/evidence/{id}/verify", path(ev.id))) });
  const del = useMutation({
    mutationFn: () => ok(api.DELETE("/api/v1/evidence/{id}", path(ev.id))),
    onSuccess: () => qc.invalidateQueries({ queryKey: testKeys.evidence(ev.test_id) }),
  });
  const v = verify.data;
  return (
    <li className="py-2.5">
      <div className="flex items-center gap-3 text-[13px]">
        <Badge tone={ev.team === "red" ? "red" : "blue"}>{ev.team}</Badge>
        <a href={`/api/v1/evidence/${ev.id}/content`} className="min-w-0 truncate font-medium hover:text-accent" download={ev.file_name}>
          {ev.file_name}
        </a>
        <span className="shrink-0 text-[12px] text-muted">{formatBytes(ev.size_bytes)} · {ev.content_type}</span>
        <span className="ml-auto flex shrink-0 items-center gap-1.5">
          {v ? (
            v.ok ? <Badge tone="green" title={`checked ${formatDate(v.checked_at)}`}><FileCheck2 className="size-3" /> intact</Badge>
              : <Badge tone="red" title={v.reason}><ShieldAlert className="size-3" /> {v.reason || "corrupted"}</Badge>
          ) : ev.verified_at ? (
            <Badge tone="green" title={`verified ${formatDate(ev.verified_at)}`}>verified {timeAgo(ev.verified_at)}</Badge>
          ) : null}
          <Button variant="ghost" onClick={() => verify.mutate()} busy={verify.isPending}>Verify</Button>
          <a href={`/api/v1/evidence/${ev.id}/content`} download={ev.file_name} aria-label={`Download ${ev.file_name}`} className="flex size-8 items-center justify-center rounded-md hover:bg-panel-2">
            <Download className="size-4" />
          </a>
          {canDelete && <Button variant="ghost" onClick={() => confirm(`Delete ${ev.file_name}?`) && del.mutate()} busy={del.isPending}>Delete</Button>}
        </span>
      </div>
      <div className="mt-1 flex gap-3 text-[11px] text-muted">
        <span>SHA-256 <Mono className="text-[11px]">{ev.sha256.slice(0, 16)}…</Mono></span>
        <span>uploaded {timeAgo(ev.uploaded_at)}</span>
        {ev.description && <span className="truncate">{ev.description}</span>}
      </div>
      <ErrorNote error={verify.error ?? del.error} className="mt-1" />
    </li>
  );
}

export function EvidenceCard({ test }: { test: TestDetail }) {
  const { role, user } = useSession();
  const qc = useQueryClient();
  const file = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [description, setDescription] = useState("");
  const [team, setTeam] = useState(role.startsWith("blue") ? "blue" : "red");
  const list = useQuery({
    queryKey: testKeys.evidence(test.id),
    enabled: role !== "viewer",
    queryFn: () => ok(api.GET("/api/v1/tests/{id}/evidence", path(test.id))),
  });
  const send = useMutation({
    mutationFn: async () => {
      const f = file.current?.files?.[0];
      if (!f) throw new Error("Choose a file first.");
      const form = new FormData();
      form.set("team", team);
      if (description) form.set("description", description);
      form.set("file", f);
      setProgress(0);
      return upload<Schemas["Evidence"]>(`/api/v1/tests/${test.id}/evidence`, form, setProgress);
    },
    onSettled: () => setProgress(null),
    onSuccess: () => {
      setDescription("");
      if (file.current) file.current.value = "";
      qc.invalidateQueries({ queryKey: testKeys.evidence(test.id) });
    },
  });
  if (role === "viewer") return null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send.mutate();
  };
  return (
    <Card title="Evidence" actions={list.data && <span className="text-[12px] text-muted">{list.data.total} files · SHA-256 checked on every download</span>}>
      {list.isPending ? <Spinner /> : list.isError ? <ErrorNote error={list.error} /> : list.data.items.length === 0 ? (
        <Empty>No evidence yet.</Empty>
      ) : (
        <ul className="-my-1 divide-y divide-line">
          {list.data.items.map((ev) => (
            <EvidenceRow key={ev.id} ev={ev} canDelete={role === "admin" || ev.uploaded_by === user.id || role.endsWith("_lead")} />
          ))}
        </ul>
      )}
      <form onSubmit={submit} className="mt-4 space-y-2 border-t border-line pt-4">
        <div className="flex flex-wrap items-end gap-2">
          <Field label="File"><input ref={file} type="file" name="file" aria-label="Evidence file" className="text-[13px] file:mr-2 file:rounded-md file:border file:border-line file:bg-panel-2 file:px-2 file:py-1 file:text-fg" /></Field>
          {(role === "admin" || role.endsWith("_lead")) && (
            <Field label="Team">
              <Select value={team} onChange={(e) => setTeam(e.target.value)} className="w-24"><option value="red">Red</option><option value="blue">Blue</option></Select>
            </Field>
          )}
          <div className="min-w-48 flex-1"><Field label="Description"><Input value={description} onChange={(e) => setDescription(e.target.value)} /></Field></div>
          <Button type="submit" busy={send.isPending}><Upload className="size-4" aria-hidden /> Upload</Button>
        </div>
        {progress != null && <Progress value={progress} label="Upload progress" />}
        <ErrorNote error={send.error} />
      </form>
    </Card>
  );
}

export function WorklogsCard({ test }: { test: TestDetail }) {
  const { role } = useSession();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: testKeys.worklogs(test.id), queryFn: () => ok(api.GET("/api/v1/tests/{id}/worklogs", path(test.id))) });
  const [minutes, setMinutes] = useState("30");
  const [activity, setActivity] = useState("");
  const add = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/tests/{id}/worklogs", { ...path(test.id), body: { minutes: Number(minutes), activity, note: "" } })),
    onSuccess: () => {
      setActivity("");
      qc.invalidateQueries({ queryKey: testKeys.worklogs(test.id) });
    },
  });
  const total = q.data?.items.reduce((s, w) => s + w.minutes, 0) ?? 0;
  return (
    <Card title="Worklog" actions={q.data && <span className="text-[12px] text-muted">{Math.floor(total / 60)} h {total % 60} min logged</span>}>
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.items.length === 0 ? <Empty>No time logged.</Empty> : (
        <ul className="-my-1 divide-y divide-line text-[13px]">
          {q.data.items.map((w) => (
            <li key={w.id} className="flex items-center gap-3 py-2">
              <span className="w-16 shrink-0 font-medium tabular-nums">{w.minutes} min</span>
              <span className="min-w-0 flex-1 truncate">{w.activity}</span>
              <span className="shrink-0 text-[12px] text-muted">{formatDate(w.performed_at)}</span>
            </li>
          ))}
        </ul>
      )}
      {role !== "viewer" && (
        <form onSubmit={(e) => { e.preventDefault(); add.mutate(); }} className="mt-4 flex items-end gap-2 border-t border-line pt-4">
          <Field label="Minutes"><Input type="number" min={1} max={1440} value={minutes} onChange={(e) => setMinutes(e.target.value)} className="w-24" /></Field>
          <div className="flex-1"><Field label="Activity"><Input value={activity} onChange={(e) => setActivity(e.target.value)} required placeholder="What you did" /></Field></div>
          <Button type="submit" busy={add.isPending}>Log time</Button>
          <ErrorNote error={add.error} />
        </form>
      )}
    </Card>
  );
}

export function RemediationCard({ test, editable, canComplete }: { test: TestDetail; editable: boolean; canComplete: boolean }) {
  const qc = useQueryClient();
  const [status, setStatus] = useState(test.remediation_status === "none" ? "open" : test.remediation_status);
  const [notes, setNotes] = useState(test.remediation_notes);
  const [due, setDue] = useState(test.remediation_due?.slice(0, 10) ?? "");
  const save = useMutation({
    // The remediation fields are optional-with-null on the server (Opt); plain values set them.
    mutationFn: () =>
      ok(api.PATCH("/api/v1/tests/{id}/remediation", {
        ...path(test.id),
        body: { version: test.version, status, notes, ...(due ? { due: new Date(due + "T00:00:00Z").toISOString() } : {}) } as never,
      })),
    onSuccess: () => qc.invalidateQueries({ queryKey: testKeys.all }),
  });
  const complete = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/tests/{id}/remediation/complete", { ...path(test.id), body: { version: test.version, notes } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: testKeys.all }),
  });
  if (test.state !== "validated") return null;
  return (
    <Card title="Remediation">
      <div className="mb-3 flex items-center gap-2 text-[13px]">
        Status <Badge tone={test.remediation_status === "completed" ? "green" : test.remediation_status === "none" ? "gray" : "amber"}>{humanize(test.remediation_status)}</Badge>
        {test.remediation_due && <span className="text-[12px] text-muted">due {formatDate(test.remediation_due)}</span>}
      </div>
      {/* The notes as text wherever the form is not shown (a completed remediation has none). */}
      {test.remediation_notes && (!editable || test.remediation_status === "completed") && <p className="text-[13px] whitespace-pre-wrap">{test.remediation_notes}</p>}
      {editable && test.remediation_status !== "completed" && (
        <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-3">
          <div className="grid grid-cols-2 gap-2">
            <Field label="Status">
              <Select value={status} onChange={(e) => setStatus(e.target.value)}>
                <option value="open">Open</option>
                <option value="in_progress">In progress</option>
                <option value="wont_fix">Won't fix</option>
              </Select>
            </Field>
            <Field label="Due"><Input type="date" value={due} onChange={(e) => setDue(e.target.value)} /></Field>
          </div>
          <Field label="Notes"><Textarea value={notes} onChange={(e) => setNotes(e.target.value)} rows={2} /></Field>
          <div className="flex gap-2">
            <Button type="submit" busy={save.isPending}>Save</Button>
            {/* Only a saved open or in-progress remediation can be completed (the server refuses "none"). */}
            {canComplete && (test.remediation_status === "open" || test.remediation_status === "in_progress") && (
              <Button variant="primary" type="button" busy={complete.isPending} onClick={() => complete.mutate()}>Complete and retest</Button>
            )}
          </div>
          <ErrorNote error={save.error ?? complete.error} />
          {complete.data?.retest_skipped && <p className="text-[12px] text-muted">{complete.data.retest_skipped}</p>}
        </form>
      )}
    </Card>
  );
}

export function RetestsCard({ test }: { test: TestDetail }) {
  const q = useQuery({ queryKey: testKeys.retests(test.id), queryFn: () => ok(api.GET("/api/v1/tests/{id}/retests", path(test.id))) });
  if (!test.retest_of && !q.data?.items.length) return null;
  return (
    <Card title="Retests">
      {test.retest_of && <p className="mb-2 text-[13px]">Retest of <Link className="text-accent hover:underline" to={`/tests/${test.retest_of}`}>the original test</Link>.</p>}
      <ul className="space-y-1.5">
        {q.data?.items.map((r) => (
          <li key={r.id} className="flex items-center justify-between text-[13px]">
            <Link className="truncate hover:text-accent" to={`/tests/${r.id}`}>{r.title}</Link>
            <Badge tone={stateTone(r.state)}>{stateLabel(r.state)}</Badge>
          </li>
        ))}
      </ul>
    </Card>
  );
}

export function HistoryCard({ test }: { test: TestDetail }) {
  const { role } = useSession();
  const allowed = role === "admin" || role === "red_lead" || role === "blue_lead";
  const q = useQuery({
    queryKey: testKeys.history(test.id),
    enabled: allowed,
    queryFn: () => ok(api.GET("/api/v1/audit", withQuery({ entity_type: "test", entity_id: test.id, limit: 50 }))),
  });
  if (!allowed) return null;
  return (
    <Card title="History">
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : (
        <ol className="relative space-y-3 border-l border-line pl-4">
          {q.data.items.map((a) => (
            <li key={a.id} className="relative text-[13px]">
              <span className="absolute top-1 -left-[21px] size-2.5 rounded-full border-2 border-panel bg-accent" />
              <div className="font-medium">{humanize(a.action.replace(/^test\./, "").replaceAll(".", " "))}</div>
              <div className="text-[12px] text-muted">{a.actor_name || "system"} · {formatDate(a.at)}</div>
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}
