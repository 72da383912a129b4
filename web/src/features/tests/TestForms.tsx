// The editable parts of a test: plan, red execution, blue evaluation. Each shows a form
// only when the viewer's role may change it in the test's state; otherwise the values.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { api, ok, type Schemas, type TestDetail } from "@/api/client";
import { formatDate, humanize } from "@/lib/format";
import { Badge, Button, Card, ErrorNote, Field, Input, KV, Mono, Select, Textarea } from "@/ui/primitives";
import { testKeys } from "./queries";

type Patch = Omit<Schemas["TestPatchDoc"], "version">;

function usePatch(test: TestDetail) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (p: Patch) => ok(api.PATCH("/api/v1/tests/{id}", { params: { path: { id: test.id } }, body: { ...p, version: test.version } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: testKeys.all }),
  });
}

function SaveRow({ busy, error, saved }: { busy: boolean; error: unknown; saved: boolean }) {
  return (
    <div className="flex items-center gap-3">
      <Button type="submit" variant="primary" busy={busy}>Save</Button>
      {saved && !busy && !error && <span role="status" className="text-[12px] text-emerald-600 dark:text-emerald-400">Saved</span>}
      <ErrorNote error={error} />
    </div>
  );
}

const text = (v: string | undefined | null) => (v ? v : <span className="text-muted">—</span>);
const toLocal = (iso?: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16) : "");
const fromLocal = (v: string) => (v ? new Date(v + "Z").toISOString() : undefined);

export function PlanForm({ test, editablePlan }: { test: TestDetail; editablePlan: boolean; canAssign: boolean }) {
  const patch = usePatch(test);
  const [f, setF] = useState({ title: test.title, description: test.description, platform: test.platform, target: test.target });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    patch.mutate(f);
  };
  if (!editablePlan) {
    return (
      <Card title="Plan">
        <KV items={[["Description", text(test.description)], ["Platform", text(test.platform)], ["Target", text(test.target)]]} />
      </Card>
    );
  }
  return (
    <Card title="Plan">
      <form onSubmit={submit} className="space-y-3">
        <Field label="Title"><Input value={f.title} onChange={(e) => setF({ ...f, title: e.target.value })} required /></Field>
        <Field label="Description"><Textarea value={f.description} onChange={(e) => setF({ ...f, description: e.target.value })} rows={3} /></Field>
        <div className="grid grid-cols-2 gap-3">
          <Field label="Platform"><Input value={f.platform} onChange={(e) => setF({ ...f, platform: e.target.value })} placeholder="windows, linux, macos…" /></Field>
          <Field label="Target"><Input value={f.target} onChange={(e) => setF({ ...f, target: e.target.value })} placeholder="host or asset" /></Field>
        </div>
        <SaveRow busy={patch.isPending} error={patch.error} saved={patch.isSuccess} />
      </form>
    </Card>
  );
}

const OUTCOMES: NonNullable<Patch["attack_outcome"]>[] = ["succeeded", "failed", "partial", "blocked"];

export function RedForm({ test, editable }: { test: TestDetail; editable: boolean }) {
  const patch = usePatch(test);
  const [f, setF] = useState({
    procedure: test.procedure,
    command: test.command,
    executed_at: toLocal(test.executed_at),
    attack_outcome: test.attack_outcome,
    red_notes: test.red_notes,
  });
  if (!editable) {
    return (
      <Card title="Red team execution">
        <KV
          items={[
            ["Procedure", text(test.procedure)],
            ["Command", test.command ? <pre className="overflow-x-auto rounded bg-panel-2 p-2 font-mono text-[12px] whitespace-pre-wrap">{test.command}</pre> : text("")],
            ["Executed", formatDate(test.executed_at)],
            ["Outcome", test.attack_outcome ? <Badge tone={test.attack_outcome === "blocked" ? "green" : "red"}>{test.attack_outcome}</Badge> : text("")],
            ["Notes", text(test.red_notes)],
          ]}
        />
      </Card>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    // "" clears the outcome; the API takes null for that and one of its values otherwise.
    const attack_outcome = (f.attack_outcome || null) as Patch["attack_outcome"];
    patch.mutate({ ...f, attack_outcome, executed_at: fromLocal(f.executed_at) });
  };
  return (
    <Card title="Red team execution">
      <form onSubmit={submit} className="space-y-3">
        <Field label="Procedure"><Textarea value={f.procedure} onChange={(e) => setF({ ...f, procedure: e.target.value })} rows={2} /></Field>
        <Field label="Command"><Textarea className="font-mono" value={f.command} onChange={(e) => setF({ ...f, command: e.target.value })} rows={3} /></Field>
        <div className="grid grid-cols-2 gap-3">
          <Field label="Executed at (UTC)">
            <div className="flex gap-2">
              <Input type="datetime-local" value={f.executed_at} onChange={(e) => setF({ ...f, executed_at: e.target.value })} />
              <Button type="button" onClick={() => setF({ ...f, executed_at: new Date().toISOString().slice(0, 16) })}>Now</Button>
            </div>
          </Field>
          <Field label="Attack outcome">
            <Select value={f.attack_outcome} onChange={(e) => setF({ ...f, attack_outcome: e.target.value })}>
              <option value="">Not recorded</option>
              {OUTCOMES.map((o) => <option key={o} value={o}>{humanize(o)}</option>)}
            </Select>
          </Field>
        </div>
        <Field label="Red notes"><Textarea value={f.red_notes} onChange={(e) => setF({ ...f, red_notes: e.target.value })} rows={2} /></Field>
        <SaveRow busy={patch.isPending} error={patch.error} saved={patch.isSuccess} />
      </form>
    </Card>
  );
}

type Tri = "" | "yes" | "no";
const toTri = (v?: boolean | null): Tri => (v == null ? "" : v ? "yes" : "no");
const fromTri = (v: Tri) => (v === "" ? undefined : v === "yes");

function Fact({ label, value, at }: { label: string; value?: boolean | null; at?: string | null }): ReactNode {
  return (
    <div className="rounded-md border border-line px-3 py-2">
      <div className="text-[12px] text-muted">{label}</div>
      <div className="mt-0.5 text-[13px] font-medium">
        {value == null ? <span className="text-muted">undecided</span> : value ? <Badge tone="green">yes</Badge> : <Badge tone="red">no</Badge>}
      </div>
      {at && <div className="mt-0.5 text-[11px] text-muted">{formatDate(at)}</div>}
    </div>
  );
}

export function BlueForm({ test, editable }: { test: TestDetail; editable: boolean }) {
  const patch = usePatch(test);
  const [f, setF] = useState({
    prevented: toTri(test.prevented),
    alerted: toTri(test.alerted),
    logged: toTri(test.logged),
    not_applicable: test.not_applicable,
    blue_notes: test.blue_notes,
  });
  if (!editable) {
    return (
      <Card title="Blue team evaluation">
        {test.not_applicable ? (
          <p className="text-[13px]"><Badge>not applicable</Badge></p>
        ) : (
          <div className="grid grid-cols-3 gap-3">
            <Fact label="Prevented" value={test.prevented} at={test.prevented_at} />
            <Fact label="Alerted" value={test.alerted} at={test.alerted_at} />
            <Fact label="Logged" value={test.logged} at={test.logged_at} />
          </div>
        )}
        {test.blue_notes && <p className="mt-3 text-[13px] whitespace-pre-wrap">{test.blue_notes}</p>}
      </Card>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const now = new Date().toISOString();
    const p: Patch = { not_applicable: f.not_applicable, blue_notes: f.blue_notes };
    for (const k of ["prevented", "alerted", "logged"] as const) {
      const v = fromTri(f[k]);
      if (v !== undefined) {
        p[k] = v;
        if (v && !test[`${k}_at`]) p[`${k}_at`] = now;
      }
    }
    patch.mutate(p);
  };
  const tri = (k: "prevented" | "alerted" | "logged", label: string) => (
    <Field label={label}>
      <Select value={f[k]} onChange={(e) => setF({ ...f, [k]: e.target.value as Tri })} disabled={f.not_applicable}>
        <option value="">Undecided</option>
        <option value="yes">Yes</option>
        <option value="no">No</option>
      </Select>
    </Field>
  );
  return (
    <Card title="Blue team evaluation">
      <form onSubmit={submit} className="space-y-3">
        <div className="grid grid-cols-3 gap-3">
          {tri("prevented", "Prevented")}
          {tri("alerted", "Alerted")}
          {tri("logged", "Logged")}
        </div>
        <label className="flex items-center gap-2 text-[13px]">
          <input type="checkbox" checked={f.not_applicable} onChange={(e) => setF({ ...f, not_applicable: e.target.checked })} />
          Not applicable to this environment
        </label>
        <Field label="Blue notes"><Textarea value={f.blue_notes} onChange={(e) => setF({ ...f, blue_notes: e.target.value })} rows={2} /></Field>
        <SaveRow busy={patch.isPending} error={patch.error} saved={patch.isSuccess} />
        <p className="text-[11px] text-muted">Submitting for review needs prevented, alerted and logged decided (or not applicable). <Mono>version {test.version}</Mono></p>
      </form>
    </Card>
  );
}
