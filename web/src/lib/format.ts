// Formatting shared by every page: dates, durations, sizes, role and state labels.

export function formatDate(iso?: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function timeAgo(iso?: string | null, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 45) return "just now";
  const units: [number, string][] = [[60, "min"], [3600, "h"], [86400, "d"], [2592000, "mo"], [31536000, "y"]];
  let label = `${Math.round(s / 60)} min`;
  for (let i = units.length - 1; i >= 0; i--) {
    const [size, name] = units[i]!;
    if (s >= size) {
      label = `${Math.floor(s / size)} ${name}`;
      break;
    }
  }
  return `${label} ago`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

const ROLE_LABELS: Record<string, string> = {
  admin: "Admin",
  red_lead: "Red lead",
  red_tech: "Red technician",
  blue_lead: "Blue lead",
  blue_tech: "Blue technician",
  viewer: "Viewer",
};
export const roleLabel = (r: string) => ROLE_LABELS[r] ?? r;

export const STATES = ["draft", "red_executing", "blue_evaluating", "in_review", "validated", "rejected"] as const;
const STATE_LABELS: Record<string, string> = {
  draft: "Draft",
  red_executing: "Red executing",
  blue_evaluating: "Blue evaluating",
  in_review: "In review",
  validated: "Validated",
  rejected: "Rejected",
};
export const stateLabel = (s: string) => STATE_LABELS[s] ?? s;

/** humanize turns snake_case identifiers into words. */
export const humanize = (s: string) => (s ? s.charAt(0).toUpperCase() + s.slice(1).replaceAll("_", " ") : "");

/** formatScore shows a 0–100 coverage score; the API answers null for nothing scored yet. */
export function formatScore(n: number | null | undefined, digits = 0): string {
  if (n == null || Number.isNaN(n)) return "—";
  return n.toFixed(digits);
}

/** formatSigned shows a change with its sign (+3.5, −2.0, 0). */
export function formatSigned(n: number | null | undefined, digits = 1): string {
  if (n == null || Number.isNaN(n)) return "—";
  if (n === 0) return (0).toFixed(digits);
  return `${n > 0 ? "+" : "−"}${Math.abs(n).toFixed(digits)}`;
}
