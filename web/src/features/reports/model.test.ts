import { describe, expect, it } from "vitest";
import type { Schemas } from "@/api/client";
import { artifactURL, emptyScope, exporterLabel, exportersFrom, phaseFraction, scopeRequest, scopeTitle } from "./model";

const exporter = (plugin: string, type: string, record_kinds: string[] = [], media_types: string[] = [], description = "") =>
  ({ plugin, plugin_version: "1.0.0", type, record_kinds, media_types, description }) as Schemas["Exporter"];

describe("exportersFrom", () => {
  it("presents the server's exporters with the scopes their record kinds allow, shipped ones first", () => {
    const list = exportersFrom([
      exporter("report", "csv", ["technique_coverage"]),
      exporter("report", "html", ["technique_coverage"]),
      exporter("splunk", "splunk", ["detection_rule"], ["text/plain"], "SPL"),
      exporter("odd", "thing", ["something_else"]),
    ]);
    expect(list.map((e) => `${e.plugin}/${e.type}`)).toEqual(["report/html", "report/csv", "splunk/splunk"]);
    expect(list[2]!.scopes).toEqual(["rules"]);
    expect(list[2]!.format).toBe("Text");
    expect(list[0]!.scopes).not.toContain("rules");
  });
});

describe("scopeRequest", () => {
  it("builds each scope the API takes and names what is missing", () => {
    expect(scopeRequest(emptyScope)).toEqual({ scope: { kind: "organisation" } });
    expect(scopeRequest({ ...emptyScope, kind: "actor" }).missing).toBe("Pick a threat actor.");
    expect(scopeRequest({ ...emptyScope, kind: "actor", id: "G0016" })).toEqual({ scope: { kind: "actor", id: "G0016" } });
    expect(scopeRequest({ ...emptyScope, kind: "diff", base: "a", id: "a" }).missing).toMatch(/two different/);
    expect(scopeRequest({ ...emptyScope, kind: "diff", base: "a", id: "b" })).toEqual({ scope: { kind: "diff", base: "a", id: "b" } });
    expect(scopeRequest({ ...emptyScope, kind: "rules", search: " powershell ", level: "high" })).toEqual({
      scope: { kind: "rules", rules: { search: "powershell", level: "high" } },
    });
  });
});

describe("run display", () => {
  it("titles a scope from what the server resolved, else from its kind", () => {
    expect(scopeTitle({ kind: "actor", id: "G0016", title: "APT29 coverage" })).toBe("APT29 coverage");
    expect(scopeTitle({ kind: "diff", base: "s1", id: "s2" })).toBe("Change s1 → s2");
    expect(scopeTitle({ kind: "organisation" })).toBe("Whole organisation");
    expect(scopeTitle(null)).toBe("—");
  });
  it("names shipped exporters as the page offers them", () => {
    expect(exporterLabel("report", "csv")).toBe("Coverage table");
    expect(exporterLabel("splunk", "splunk")).toBe("splunk · splunk");
  });
  it("escapes artifact names and orders phases", () => {
    expect(artifactURL("r1", "a b.json")).toBe("/api/v1/exports/r1/artifact?name=a%20b.json");
    expect(phaseFraction({ phase: "resolving", records: 0, total: 0 })).toBe(0.25);
    expect(phaseFraction({ phase: "exporting", records: 50, total: 100 })).toBe(0.625);
    expect(phaseFraction(undefined)).toBeNull();
  });
});
