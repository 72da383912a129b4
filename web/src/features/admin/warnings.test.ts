import { describe, expect, it } from "vitest";
import { countLabel, headline, runWarnings } from "./warnings";

describe("import run warnings", () => {
  it("shows the summary the API stores, with file, line and id", () => {
    expect(headline({ severity: "warning", summary: "file left out: not a .yml or .yaml file", file: "LICENSE" })).toBe(
      "LICENSE: file left out: not a .yml or .yaml file",
    );
    expect(headline({ summary: "unknown key \"extra\" ignored", file: "rules/a.toml", line: 36, external_id: "9a1b" })).toBe(
      "rules/a.toml:36: unknown key \"extra\" ignored (9a1b)",
    );
    expect(headline({ severity: "info", summary: "template ↔ detection rule links: 5 added, 0 removed" })).toBe(
      "template ↔ detection rule links: 5 added, 0 removed",
    );
  });
  it("counts warnings and notes apart", () => {
    const list = runWarnings([{ severity: "warning", summary: "a" }, { severity: "warning", summary: "b" }, { severity: "info", summary: "c" }, null, 3]);
    expect(list).toHaveLength(3);
    expect(countLabel(list)).toBe("2 warnings, 1 note");
    expect(countLabel([{ severity: "warning", summary: "a" }])).toBe("1 warning");
    expect(runWarnings("nope")).toEqual([]);
  });
});
