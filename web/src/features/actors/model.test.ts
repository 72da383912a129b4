import { expect, it } from "vitest";
import { statusBar, tested } from "./model";

it("splits an actor's techniques into coverage bar segments that sum to 100%", () => {
  const bar = statusBar({ covered: 10, partial: 0, not_covered: 5, in_progress: 5, not_tested: 80 }, 100);
  expect(bar.map((s) => s.status)).toEqual(["covered", "not_covered", "in_progress", "not_tested"]);
  expect(bar.reduce((n, s) => n + s.pct, 0)).toBeCloseTo(100);
  expect(statusBar({}, 0)).toEqual([]);
});

it("counts every technique with a test as tested", () => {
  expect(tested({ not_tested: 107 }, 249)).toBe(57);
  expect(tested({ not_tested: 5 }, 0)).toBe(0);
});
