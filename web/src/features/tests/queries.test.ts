import { describe, expect, it } from "vitest";
import { editable } from "./queries";

describe("editable", () => {
  it("red technicians edit red fields only while executing", () => {
    expect(editable("red_tech", "red_executing")).toMatchObject({ plan: true, red: true, blue: false, assign: false });
    expect(editable("red_tech", "blue_evaluating")).toMatchObject({ plan: false, red: false, blue: false });
  });
  it("blue technicians edit blue fields only while evaluating", () => {
    expect(editable("blue_tech", "blue_evaluating")).toMatchObject({ red: false, blue: true, detections: true });
    expect(editable("blue_tech", "in_review")).toMatchObject({ blue: false, detections: false });
  });
  it("viewers edit nothing", () => {
    expect(Object.values(editable("viewer", "red_executing")).some(Boolean)).toBe(false);
  });
  it("remediation belongs to leads on validated tests", () => {
    expect(editable("blue_lead", "validated").remediation).toBe(true);
    expect(editable("blue_tech", "validated").remediation).toBe(false);
    expect(editable("red_lead", "in_review").remediation).toBe(false);
  });
});
