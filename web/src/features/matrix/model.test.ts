import { describe, expect, it } from "vitest";
import type { Schemas } from "@/api/client";
import { cellColour, columns, retiredCount, retiredNote, scoreColour } from "./model";

const tech = (ext: string, name: string, extra: Partial<Schemas["MatrixTechnique"]> = {}) =>
  ({ id: ext, external_id: ext, name, status: "not_tested", score: null, templates: 0, counts: {}, ...extra }) as Schemas["MatrixTechnique"];
const tactic = (shortname: string, order: number, techniques: Schemas["MatrixTechnique"][]) =>
  ({ id: shortname, external_id: shortname, shortname, name: shortname, matrix_order: order, techniques, score: {} }) as unknown as Schemas["MatrixTactic"];

describe("columns", () => {
  it("orders tactics by matrix order, techniques by name, sub-techniques by id", () => {
    const m = columns({
      tactics: [
        tactic("execution", 4, [
          tech("T1203", "Exploitation for Client Execution"),
          tech("T1059", "Command and Scripting Interpreter", { subtechniques: [tech("T1059.003", "Windows Command Shell"), tech("T1059.001", "PowerShell")] }),
        ]),
        tactic("initial-access", 3, [tech("T1566", "Phishing")]),
      ],
    });
    expect(m.map((c) => c.tactic.shortname)).toEqual(["initial-access", "execution"]);
    expect(m[1]!.techniques.map((t) => t.technique.external_id)).toEqual(["T1059", "T1203"]);
    expect(m[1]!.techniques[0]!.subs.map((s) => s.external_id)).toEqual(["T1059.001", "T1059.003"]);
    expect(m[0]!.techniques[0]!.subs).toEqual([]);
  });
});

describe("colours", () => {
  it("runs scores from red to green and leaves unscored techniques grey", () => {
    expect(scoreColour(0)).toBe("hsl(0 72% 45%)");
    expect(scoreColour(100)).toBe("hsl(142 72% 45%)");
    expect(scoreColour(150)).toBe("hsl(142 72% 45%)");
    expect(scoreColour(null)).toBe("#64748b");
  });
  it("tints a cell by status or by score", () => {
    expect(cellColour({ status: "covered", score: 90 }, "status")).toEqual({ color: "#10b981", tint: 16 });
    expect(cellColour({ status: "not_tested", score: null }, "status").tint).toBe(0);
    expect(cellColour({ status: "covered", score: 50 }, "score")).toEqual({ color: "hsl(71 72% 45%)", tint: 22 });
  });
});

describe("retired techniques", () => {
  it("names what happened to a technique since the release shown", () => {
    expect(retiredNote(tech("T1059", "Command"))).toBe("");
    expect(retiredNote(tech("T1562", "Impair Defenses", { revoked: true, revoked_by: "T1685" }))).toBe("revoked since, replaced by T1685");
    expect(retiredNote(tech("T1086", "PowerShell", { revoked: true }))).toBe("revoked since");
    expect(retiredNote(tech("T1001", "Old", { deprecated: true }))).toBe("deprecated since");
  });
  it("counts each retired technique once, in whatever columns and under whatever parent", () => {
    const retired = tech("T1562", "Impair Defenses", { revoked: true, subtechniques: [tech("T1562.001", "Disable Tools", { revoked: true }), tech("T1562.002", "Logs")] });
    const cols = columns({ tactics: [tactic("defense-evasion", 1, [retired, tech("T1070", "Indicator Removal")]), tactic("impact", 2, [retired])] });
    expect(retiredCount(cols)).toBe(2);
    expect(retiredCount(columns({ tactics: [tactic("impact", 1, [tech("T1485", "Data Destruction")])] }))).toBe(0);
  });
});
