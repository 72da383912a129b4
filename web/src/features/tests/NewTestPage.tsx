import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { api, ok, withQuery } from "@/api/client";
import { useDebounce } from "@/ui/hooks";
import { Button, Card, ErrorNote, Field, Input, PageHeader, Select, Textarea } from "@/ui/primitives";

export default function NewTestPage() {
  const [params] = useSearchParams();
  const nav = useNavigate();
  const [f, setF] = useState({
    title: "",
    technique_id: params.get("technique") ?? "",
    template_id: params.get("template") ?? "",
    platform: "",
    procedure: "",
    command: "",
    description: "",
    target: "",
  });
  const technique = useDebounce(f.technique_id.trim().toUpperCase());
  const templates = useQuery({
    queryKey: ["tests", "new", "templates", technique],
    enabled: /^T\d{4}(\.\d{3})?$/.test(technique),
    queryFn: () => ok(api.GET("/api/v1/templates", withQuery({ technique, limit: 200, status: "active" }))),
  });
  const create = useMutation({
    mutationFn: () => {
      const body = { ...f, technique_id: f.technique_id.trim().toUpperCase() };
      return ok(api.POST("/api/v1/tests", { body: { ...body, template_id: body.template_id || undefined } }));
    },
    onSuccess: (t) => nav(`/tests/${t.id}`),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  return (
    <div className="max-w-3xl">
      <PageHeader title="New test" subtitle="A draft: the red team starts it when ready. A template fills what you leave empty." />
      <Card>
        <form onSubmit={submit} className="space-y-4">
          <div className="grid grid-cols-2 gap-3">
            <Field label="ATT&CK technique"><Input value={f.technique_id} onChange={set("technique_id")} placeholder="T1059.001" required /></Field>
            <Field label="Template (optional)">
              <Select value={f.template_id} onChange={set("template_id")} disabled={!templates.data}>
                <option value="">{templates.data ? `None (${templates.data.total} for ${technique})` : "Enter a technique first"}</option>
                {templates.data?.items.map((t) => <option key={t.id} value={t.id}>{t.name} · {t.source}</option>)}
              </Select>
            </Field>
          </div>
          <Field label="Title"><Input value={f.title} onChange={set("title")} placeholder="Left empty, the template's name" required={!f.template_id} /></Field>
          <div className="grid grid-cols-2 gap-3">
            <Field label="Platform"><Input value={f.platform} onChange={set("platform")} placeholder="windows" /></Field>
            <Field label="Target"><Input value={f.target} onChange={set("target")} placeholder="host or asset" /></Field>
          </div>
          <Field label="Procedure"><Textarea value={f.procedure} onChange={set("procedure")} rows={2} /></Field>
          <Field label="Command"><Textarea className="font-mono" value={f.command} onChange={set("command")} rows={3} /></Field>
          <Field label="Description"><Textarea value={f.description} onChange={set("description")} rows={2} /></Field>
          <ErrorNote error={create.error ?? templates.error} />
          <Button type="submit" variant="primary" busy={create.isPending}>Create draft</Button>
        </form>
      </Card>
    </div>
  );
}
