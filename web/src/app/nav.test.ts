import { describe, expect, it } from "vitest";
import { navFor } from "./nav";

// The seed design's role table, transcribed independently of nav.ts.
const TABLE: Record<string, string[]> = {
  admin: ["Dashboard", "Executive Dashboard", "ATT&CK Matrix", "Tests", "Campaigns", "Threat Actors", "Compliance", "Comparison", "Reports", "System"],
  red_lead: ["Dashboard", "Executive Dashboard", "ATT&CK Matrix", "Tests", "Campaigns", "Threat Actors", "Compliance", "Comparison", "Reports"],
  blue_lead: ["Dashboard", "Executive Dashboard", "ATT&CK Matrix", "Tests", "Campaigns", "Threat Actors", "Compliance", "Comparison", "Reports"],
  red_tech: ["Dashboard", "ATT&CK Matrix", "Tests", "Campaigns", "Threat Actors", "Compliance", "Reports"],
  blue_tech: ["Dashboard", "ATT&CK Matrix", "Tests", "Campaigns", "Threat Actors", "Compliance", "Reports"],
  viewer: ["Dashboard", "ATT&CK Matrix", "Tests", "Campaigns", "Threat Actors", "Compliance", "Reports"],
};

describe("navigation by role", () => {
  for (const [role, sections] of Object.entries(TABLE)) {
    it(role, () => {
      expect(navFor(role as never).map((s) => s.label)).toEqual(sections);
    });
  }
});

describe("the System section", () => {
  it("holds every admin page the issue lists, each with its route", async () => {
    const system = navFor("admin").find((s) => s.id === "system");
    expect(system?.items?.map((i) => i.label)).toEqual(["Users", "Plugins & imports", "ATT&CK review queue", "Audit log", "Scoring weights", "Jobs"]);
    const { readFileSync } = await import("node:fs");
    const app = readFileSync("src/app/App.tsx", "utf8");
    for (const item of system?.items ?? []) expect(app).toContain(`path="${item.to}"`);
  });
});
