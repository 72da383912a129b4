import { expect, it } from "vitest";
import { CONTROL_STATUS, CONTROL_STATUS_ORDER, controlBar } from "./model";

it("draws a framework's controls by status in a fixed order, leaving out empty statuses", () => {
  const bar = controlBar({ covered: 0, not_mapped: 0, partial: 84, untested: 25 }, 109);
  expect(bar.map((s) => s.status)).toEqual(["partial", "untested"]);
  expect(bar[0]!.pct).toBeCloseTo(77.06, 1);
  expect(controlBar({ partial: 3 }, 0)).toEqual([]);
});

it("labels every status the server derives", () => {
  for (const s of CONTROL_STATUS_ORDER) expect(CONTROL_STATUS[s]!.label.length).toBeGreaterThan(3);
});
