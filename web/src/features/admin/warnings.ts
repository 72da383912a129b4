/** A warning (or note) of an import run, as the API stores it (core.ImportWarning). */
export type RunWarning = {
  severity?: string;
  summary?: string;
  detail?: string;
  file?: string;
  line?: number;
  external_id?: string;
};

/** runWarnings reads a run's warnings field, which the API types loosely. */
export function runWarnings(warnings: unknown): RunWarning[] {
  return Array.isArray(warnings) ? (warnings.filter((w) => w && typeof w === "object") as RunWarning[]) : [];
}

/** where says file:line, or the file alone. */
export function where(w: RunWarning): string {
  if (!w.file) return "";
  return w.line ? `${w.file}:${w.line}` : w.file;
}

/** headline is "file:line: summary (id)", leaving out what is empty. */
export function headline(w: RunWarning): string {
  const what = (w.summary ?? "") + (w.external_id ? ` (${w.external_id})` : "");
  return [where(w), what].filter(Boolean).join(": ");
}

/** countLabel counts warnings and notes (severity info) apart: "3 warnings, 1 note". */
export function countLabel(list: RunWarning[]): string {
  const notes = list.filter((w) => w.severity === "info").length;
  const warns = list.length - notes;
  const parts: string[] = [];
  if (warns > 0) parts.push(`${warns.toLocaleString()} ${warns === 1 ? "warning" : "warnings"}`);
  if (notes > 0) parts.push(`${notes.toLocaleString()} ${notes === 1 ? "note" : "notes"}`);
  return parts.join(", ");
}
