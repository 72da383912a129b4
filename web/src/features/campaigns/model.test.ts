import { expect, it } from "vitest";
import { campaignForm, campaignInput, moveRow, NEXT_STATUS, ordered, planInput, planRows, setAfter, type CampaignTest } from "./model";

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

it("turns the campaign form into the API's body and names what is wrong", () => {
  const f = { name: " Q3 purple week ", description: "", recurrence: "monthly", start: "2026-07-01", end: "" };
  expect(campaignInput(f)).toEqual({ body: { name: "Q3 purple week", description: "", recurrence: "monthly", start_date: "2026-07-01T00:00:00Z" } });
  expect(campaignInput({ ...f, name: "  " }).missing).toMatch(/name/);
  expect(campaignInput({ ...f, end: "2026-06-30" }).missing).toMatch(/before the start/);
  expect(campaignForm({ name: "x", recurrence: "", start_date: "2026-07-01T00:00:00Z", end_date: null })).toEqual({ name: "x", description: "", recurrence: "none", start: "2026-07-01", end: "" });
});

it("clears an emptied date on edit and leaves it out of a new campaign", () => {
  const f = { name: "Q3", description: "", recurrence: "none", start: "2026-07-01", end: "" };
  expect(campaignInput(f).body).not.toHaveProperty("end_date");
  const edit = campaignInput(f, true).body;
  expect(edit.start_date).toBe("2026-07-01T00:00:00Z");
  expect(edit).toHaveProperty("end_date", null);
  // The JSON the PATCH sends: null, which the API reads as "clear", not as "left out".
  expect(JSON.parse(JSON.stringify(campaignInput({ ...f, start: "" }, true).body))).toMatchObject({ start_date: null, end_date: null });
});

it("edits the order and dependencies, never letting a test wait for a later one", () => {
  const rows = planRows([t("b", 2, "draft", ["a"]), t("a", 1, "draft"), t("c", 3, "draft", ["a", "b"])]);
  expect(rows.map((r) => r.test_id)).toEqual(["a", "b", "c"]);
  // c after b only.
  const one = setAfter(rows, 2, "b");
  expect(planInput(one)).toEqual([{ test_id: "a", depends_on: [] }, { test_id: "b", depends_on: ["a"] }, { test_id: "c", depends_on: ["b"] }]);
  // Moving b above a drops b's wait for a, which now comes after it.
  const moved = moveRow(one, 1, -1);
  expect(planInput(moved)).toEqual([{ test_id: "b", depends_on: [] }, { test_id: "a", depends_on: [] }, { test_id: "c", depends_on: ["b"] }]);
  // Moving past either end changes nothing; clearing a wait empties it.
  expect(moveRow(moved, 0, -1)).toBe(moved);
  expect(moveRow(moved, 2, 1)).toBe(moved);
  expect(setAfter(moved, 2, "")[2]!.depends_on).toEqual([]);
  // Waiting for a later test is refused by dropping it.
  expect(setAfter(rows, 0, "c")[0]!.depends_on).toEqual([]);
});
