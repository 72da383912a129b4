// The fields of a hand-made campaign and the platform choice of the builders, shared
// by the new, edit and build forms.
import { humanize } from "@/lib/format";
import { Field, Input, Select, Textarea } from "@/ui/primitives";
import { RECURRENCES, type CampaignForm } from "./model";

export const PLATFORMS = ["windows", "linux", "macos", "azure-ad", "office-365", "iaas", "containers"];

export function CampaignFields({ form, onChange }: { form: CampaignForm; onChange: (f: CampaignForm) => void }) {
  const set = (k: keyof CampaignForm) => (e: { target: { value: string } }) => onChange({ ...form, [k]: e.target.value });
  return (
    <div className="grid grid-cols-1 gap-3 md:grid-cols-4">
      <div className="md:col-span-2"><Field label="Name"><Input value={form.name} onChange={set("name")} required maxLength={200} /></Field></div>
      <Field label="Recurrence">
        <Select value={form.recurrence} onChange={set("recurrence")}>
          {RECURRENCES.map((r) => <option key={r} value={r}>{humanize(r)}</option>)}
        </Select>
      </Field>
      <div className="grid grid-cols-2 gap-3">
        <Field label="Starts"><Input type="date" value={form.start} onChange={set("start")} /></Field>
        <Field label="Ends"><Input type="date" value={form.end} onChange={set("end")} /></Field>
      </div>
      <div className="md:col-span-4"><Field label="Description"><Textarea value={form.description} onChange={set("description")} rows={2} /></Field></div>
    </div>
  );
}

export function PlatformPicker({ value, onChange }: { value: string[]; onChange: (v: string[]) => void }) {
  return (
    <fieldset>
      <legend className="mb-1 text-[12px] font-medium text-muted">Platforms</legend>
      <div className="flex flex-wrap gap-x-4 gap-y-1">
        {PLATFORMS.map((p) => (
          <label key={p} className="flex items-center gap-1.5 text-[13px]">
            <input type="checkbox" checked={value.includes(p)} onChange={(e) => onChange(e.target.checked ? [...value, p] : value.filter((x) => x !== p))} />
            {p}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
