import { expect, it } from "vitest";
import { campaignForm, campaignInput, NEXT_STATUS, ordered, type CampaignTest } from "./model";

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
