import { expect, it } from "vitest";
import { defaultPair, SECTIONS } from "./model";

it("compares the newest snapshot with the one before it, whatever order the list came in", () => {
  const list = [
    { id: "a", taken_at: "2026-11-01T00:00:00Z" },
    { id: "c", taken_at: "2026-11-15T00:00:00Z" },
    { id: "b", taken_at: "2026-11-08T00:00:00Z" },
  ];
  expect(defaultPair(list)).toEqual({ from: "b", to: "c" });
  expect(defaultPair(list.slice(0, 1))).toEqual({ from: "", to: "a" });
});

it("shows regressions first", () => {
  expect(SECTIONS[0]!.key).toBe("regressed");
});
