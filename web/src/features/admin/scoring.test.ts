import { describe, expect, it } from "vitest";
import { changed, fromForm, groupSum, toForm, WEIGHT_GROUPS, type Weights } from "./scoring";

const defaults: Weights = { prevented: 50, alerted: 30, logged: 20, none: 0, outcome: 70, platform_breadth: 15, procedure_breadth: 15, half_life_days: 365, min_recency_percent: 25 };

describe("scoring weights form", () => {
  it("covers every weight the API has, once", () => {
    const keys = WEIGHT_GROUPS.flatMap((g) => g.keys.map((k) => k.key)).sort();
    expect(keys).toEqual(Object.keys(defaults).sort());
  });
  it("sums each group as edited", () => {
    const form = toForm(defaults);
    expect(WEIGHT_GROUPS.map((g) => groupSum(g, form))).toEqual([100, 100, 390]);
    expect(groupSum(WEIGHT_GROUPS[0]!, { ...form, prevented: "60" })).toBe(110);
    expect(groupSum(WEIGHT_GROUPS[0]!, { ...form, prevented: "" })).toBe(50);
  });
  it("round-trips numbers and names what changed", () => {
    expect(fromForm(toForm(defaults))).toEqual(defaults);
    expect(() => fromForm({ ...toForm(defaults), logged: " " })).toThrow("Outcome weights: Logged needs a number.");
    expect(() => fromForm({ ...toForm(defaults), half_life_days: "a" })).toThrow("Recency: Half-life needs a number.");
    expect(changed(defaults, { ...defaults, prevented: 60, none: 10 })).toEqual(["Prevented 50 → 60", "None of them 0 → 10"]);
    expect(changed(defaults, defaults)).toEqual([]);
  });
});
