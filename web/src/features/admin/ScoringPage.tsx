import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { RotateCcw, Save } from "lucide-react";
import { useEffect, useState, type FormEvent } from "react";
import { api, ok, withQuery } from "@/api/client";
import { formatDate, timeAgo } from "@/lib/format";
import { Badge, Button, Card, Empty, ErrorNote, Field, Input, PageHeader, Spinner, cx } from "@/ui/primitives";
import { adminKeys } from "./queries";
import { changed, fromForm, groupSum, toForm, WEIGHT_GROUPS, type WeightKey, type Weights } from "./scoring";

/** The scoring weights in force, their editing (admins), and every saved set. */
export default function ScoringPage() {
  const qc = useQueryClient();
  const q = useQuery({ queryKey: adminKeys.weights, queryFn: () => ok(api.GET("/api/v1/scoring/weights")) });
  const history = useQuery({
    queryKey: adminKeys.weightsHistory,
    queryFn: () => ok(api.GET("/api/v1/scoring/weights/history", withQuery({ limit: 50 }))),
  });
  const [form, setForm] = useState<Record<WeightKey, string> | null>(null);
  const [formError, setFormError] = useState<Error | null>(null);
  useEffect(() => {
    if (q.data && form === null) setForm(toForm(q.data.weights));
  }, [q.data, form]);
  const save = useMutation({
    mutationFn: (w: Weights) => ok(api.PUT("/api/v1/scoring/weights", { body: w })),
    onSuccess: (v) => {
      setForm(toForm(v.weights));
      qc.setQueryData(adminKeys.weights, v);
      // Every score moves with the weights.
      void qc.invalidateQueries();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!form) return;
    setFormError(null);
    try {
      save.mutate(fromForm(form));
    } catch (err) {
      setFormError(err as Error);
    }
  };
  if (q.isPending) return <Spinner />;
  if (q.isError) return <ErrorNote error={q.error} />;
  const view = q.data;
  const edits = form ? changedSafe(view.weights, form) : [];
  return (
    <div className="max-w-5xl">
      <PageHeader
        title="Scoring weights"
        subtitle={`What a validated test is worth, by outcome, breadth and age (formula version ${view.formula_version}). Changing them rescores every technique and is audited.`}
      />
      <div className="grid grid-cols-[minmax(0,1fr)_340px] items-start gap-4">
        <Card
          title={<span className="flex items-center gap-2">Weights in force {view.default ? <Badge>defaults</Badge> : <Badge tone="blue">saved {timeAgo(view.config?.created_at)}</Badge>}</span>}
        >
          {form && (
            <form onSubmit={submit} className="space-y-5" aria-label="Scoring weights">
              {WEIGHT_GROUPS.map((g) => {
                const sum = groupSum(g, form);
                const off = g.sum !== undefined && sum !== g.sum;
                return (
                  <fieldset key={g.title}>
                    <legend className="flex w-full items-baseline justify-between gap-2 text-[13px] font-semibold">
                      {g.title}
                      {g.sum !== undefined && (
                        <span className={cx("text-[12px] font-normal tabular-nums", off ? "text-amber-700 dark:text-amber-400" : "text-muted")}>
                          sum {sum} of {g.sum}
                        </span>
                      )}
                    </legend>
                    <p className="mb-2 text-[12px] text-muted">{g.hint}</p>
                    <div className="grid grid-cols-4 gap-2">
                      {g.keys.map((k) => (
                        <Field key={k.key} label={k.unit ? `${k.label} (${k.unit})` : k.label}>
                          <Input
                            type="number"
                            inputMode="decimal"
                            step="any"
                            min={0}
                            required
                            name={k.key}
                            value={form[k.key]}
                            onChange={(e) => setForm({ ...form, [k.key]: e.target.value })}
                            className="w-full tabular-nums"
                          />
                        </Field>
                      ))}
                    </div>
                  </fieldset>
                );
              })}
              <ErrorNote error={formError ?? save.error} />
              {save.isSuccess && edits.length === 0 && <div role="status" className="text-[13px] text-emerald-700 dark:text-emerald-400">Saved; every score now uses these weights.</div>}
              <div className="flex items-center gap-2">
                <Button type="submit" variant="primary" busy={save.isPending} disabled={edits.length === 0}>
                  <Save className="size-4" aria-hidden /> Save weights
                </Button>
                <Button type="button" variant="ghost" disabled={edits.length === 0} onClick={() => { setForm(toForm(view.weights)); setFormError(null); save.reset(); }}>
                  <RotateCcw className="size-4" aria-hidden /> Undo changes
                </Button>
                <span className="truncate text-[12px] text-muted">{edits.length ? edits.join(", ") : "No change yet."}</span>
              </div>
            </form>
          )}
        </Card>
        <Card title={`Saved sets${history.data ? ` (${history.data.total})` : ""}`}>
          {history.isPending ? <Spinner /> : history.isError ? <ErrorNote error={history.error} /> : history.data.items.length === 0 ? (
            <Empty>Never changed: the defaults are in force.</Empty>
          ) : (
            <ol aria-label="Saved weight sets" className="-my-1 divide-y divide-line/60 text-[13px]">
              {history.data.items.map((c) => {
                const w = c.weights as Weights;
                return (
                  <li key={c.id} className="py-2">
                    <div className="flex items-center justify-between gap-2">
                      <span title={formatDate(c.created_at)}>{timeAgo(c.created_at)}</span>
                      {c.active ? <Badge tone="green">in force</Badge> : <Badge>earlier</Badge>}
                    </div>
                    <div className="mt-0.5 text-[12px] text-muted tabular-nums">
                      outcomes {w.prevented}/{w.alerted}/{w.logged}/{w.none} · composition {w.outcome}/{w.platform_breadth}/{w.procedure_breadth} · half-life {w.half_life_days} d, floor {w.min_recency_percent}%
                    </div>
                  </li>
                );
              })}
            </ol>
          )}
        </Card>
      </div>
    </div>
  );
}

/** changedSafe lists the edits of a form, or none while a field is not a number yet. */
function changedSafe(before: Weights, form: Record<WeightKey, string>): string[] {
  try {
    return changed(before, fromForm(form));
  } catch {
    return ["a field needs a number"];
  }
}
