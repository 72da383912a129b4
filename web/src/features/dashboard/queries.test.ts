import { describe, expect, it } from "vitest";
import type { Technique, Test } from "@/api/client";
import { coverageCounts, weeklyValidated } from "./queries";

describe("dashboard figures", () => {
  it("counts techniques per coverage status, every status present", () => {
    const ts = [{ coverage_status: "covered" }, { coverage_status: "covered" }, { coverage_status: "not_tested" }] as Technique[];
    expect(coverageCounts(ts)).toEqual({ covered: 2, partial: 0, not_covered: 0, in_progress: 0, not_tested: 1 });
  });
  it("buckets validations per week, ignoring older ones", () => {
    const now = new Date("2026-03-12T10:00:00Z"); // a Thursday; its week starts Monday 03-09
    const tests = [
      { validated_at: "2026-03-09T00:00:01Z" },
      { validated_at: "2026-03-11T00:00:00Z" },
      { validated_at: "2026-03-08T23:00:00Z" }, // previous week
      { validated_at: "2025-01-01T00:00:00Z" }, // too old
      { validated_at: null },
    ] as Test[];
    const out = weeklyValidated(tests, 4, now);
    expect(out.map((w) => w.week)).toEqual(["02-16", "02-23", "03-02", "03-09"]);
    expect(out.map((w) => w.validated)).toEqual([0, 0, 1, 2]);
  });
});
