// What the reports page offers: the exporters, the scopes each takes, and the request
// a form turns into. Kept apart from the page so it is tested without a browser.
import type { Schemas } from "@/api/client";

export type ScopeKind = "organisation" | "tactic" | "actor" | "campaign" | "snapshot" | "diff" | "rules";

export const COVERAGE_SCOPES: ScopeKind[] = ["organisation", "tactic", "actor", "campaign", "snapshot", "diff"];

export const SCOPE_LABELS: Record<ScopeKind, string> = {
  organisation: "Whole organisation",
  tactic: "One tactic",
  actor: "One threat actor",
  campaign: "One campaign",
  snapshot: "A snapshot",
  diff: "Change between two snapshots",
  rules: "Detection rules",
};

export type Exporter = { plugin: string; type: string; label: string; format: string; description: string; scopes: ScopeKind[] };

/**
 * KNOWN are the exporters Aegis ships, as the page presents them (label, format, scopes);
 * which of them a server offers comes from GET /api/v1/exporters.
 */
export const KNOWN: Exporter[] = [
  {
    plugin: "navigator", type: "layer", label: "ATT&CK Navigator layer", format: "JSON",
    description: "A layer for the MITRE ATT&CK Navigator: scores and colours per technique; a diff writes before, after and change layers.",
    scopes: [...COVERAGE_SCOPES, "rules"],
  },
  {
    plugin: "report", type: "html", label: "Executive report", format: "HTML · prints to PDF",
    description: "Score, tactics, top gaps and charts in one self-contained page; the browser's Print saves it as PDF.",
    scopes: COVERAGE_SCOPES,
  },
  {
    plugin: "report", type: "csv", label: "Coverage table", format: "CSV",
    description: "One row per technique: status, score, tests, outcomes and last validation.",
    scopes: COVERAGE_SCOPES,
  },
];

const FORMAT_OF: Record<string, string> = { "application/json": "JSON", "text/csv": "CSV", "text/html": "HTML", "application/x-ndjson": "NDJSON", "text/plain": "Text" };

/** exportersFrom presents the server's exporters (GET /api/v1/exporters), shipped ones first. */
export function exportersFrom(list: Schemas["Exporter"][]): Exporter[] {
  const out: Exporter[] = [];
  for (const c of list) {
    const known = KNOWN.find((k) => k.plugin === c.plugin && k.type === c.type);
    if (known) {
      out.push(known);
      continue;
    }
    const kinds = c.record_kinds ?? [];
    const scopes: ScopeKind[] = [
      ...(kinds.includes("technique_coverage") ? COVERAGE_SCOPES : []),
      ...(kinds.includes("detection_rule") ? (["rules"] as ScopeKind[]) : []),
    ];
    if (scopes.length === 0) continue;
    out.push({
      plugin: c.plugin, type: c.type, label: `${c.plugin} · ${c.type}`,
      format: (c.media_types ?? []).map((m) => FORMAT_OF[m] ?? m).join(", ") || "file",
      description: c.description ?? "", scopes,
    });
  }
  const rank = (e: Exporter) => {
    const i = KNOWN.findIndex((k) => k.plugin === e.plugin && k.type === e.type);
    return i < 0 ? KNOWN.length : i;
  };
  return out.sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label));
}

export type ScopeForm = { kind: ScopeKind; id: string; base: string; search: string; level: string; source: string };

export const emptyScope: ScopeForm = { kind: "organisation", id: "", base: "", search: "", level: "", source: "" };

/** scopeRequest turns the form into the API's scope, or says what is missing. */
export function scopeRequest(f: ScopeForm): { scope?: Schemas["ExportScope"]; missing?: string } {
  switch (f.kind) {
    case "organisation":
      return { scope: { kind: "organisation" } };
    case "tactic":
    case "actor":
    case "campaign":
    case "snapshot":
      return f.id ? { scope: { kind: f.kind, id: f.id } } : { missing: `Pick ${f.kind === "actor" ? "a threat actor" : `a ${f.kind}`}.` };
    case "diff":
      if (!f.base || !f.id) return { missing: "Pick the earlier and the later snapshot." };
      if (f.base === f.id) return { missing: "Pick two different snapshots." };
      return { scope: { kind: "diff", base: f.base, id: f.id } };
    case "rules": {
      const rules: NonNullable<Schemas["ExportScope"]["rules"]> = {};
      if (f.search.trim()) rules.search = f.search.trim();
      if (f.level) rules.level = f.level;
      if (f.source.trim()) rules.source = f.source.trim();
      return { scope: { kind: "rules", rules } };
    }
  }
}

/** scopeTitle names a run's scope: the title the server resolved, else its kind and id. */
export function scopeTitle(scope: unknown): string {
  if (!scope || typeof scope !== "object") return "—";
  const s = scope as { kind?: string; id?: string; base?: string; title?: string; name?: string };
  if (s.title) return s.title;
  if (s.name) return s.name;
  if (s.kind === "diff") return `Change ${s.base ?? "?"} → ${s.id ?? "?"}`;
  return s.id ? `${s.kind} ${s.id}` : (SCOPE_LABELS[s.kind as ScopeKind] ?? s.kind ?? "—");
}

export const artifactURL = (runID: string, name: string) => `/api/v1/exports/${encodeURIComponent(runID)}/artifact?name=${encodeURIComponent(name)}`;

const PHASES = ["starting", "resolving", "exporting", "storing"];
/** phaseFraction estimates how far a running export is, for its progress bar. */
export function phaseFraction(p?: { phase: string; records: number; total: number }): number | null {
  if (!p) return null;
  const i = Math.max(0, PHASES.indexOf(p.phase));
  const within = p.phase === "exporting" && p.total > 0 ? Math.min(1, p.records / p.total) : 0;
  return (i + within) / PHASES.length;
}

/** exporterLabel names a run's exporter as the page offers it ("Coverage table"), else plugin · type. */
export function exporterLabel(plugin: string, type: string): string {
  return KNOWN.find((k) => k.plugin === plugin && k.type === type)?.label ?? `${plugin} · ${type}`;
}
