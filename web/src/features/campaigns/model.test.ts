import { expect, it } from "vitest";
import { NEXT_STATUS, ordered, type CampaignTest } from "./model";

const t = (id: string, position: number, state: string, depends_on: string[] = []): CampaignTest =>
  ({ test_id: id, position, state, depends_on, title: id, technique_id: "T1059", platform: "windows" }) as CampaignTest;

it("orders tests by position and blocks one whose dependency is not validated", () => {
  const list = ordered([t("c", 3, "draft", ["a", "b"]), t("a", 1, "validated"), t("b", 2, "red_executing", ["a"])]);
  expect(list.map((x) => x.test_id)).toEqual(["a", "b", "c"]);
  expect(list[1]!.after).toEqual([1]);
  expect(list[1]!.blocked).toBe(false);
  expect(list[2]!.after).toEqual([1, 2]);
  expect(list[2]!.blocked).toBe(true);
});

it("offers a planned campaign start or cancel, a completed one nothing", () => {
  expect(NEXT_STATUS.planned!.map((m) => m.to)).toEqual(["active", "cancelled"]);
  expect(NEXT_STATUS.completed).toEqual([]);
});
