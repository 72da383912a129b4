import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, humanize, stateLabel, timeAgo } from "./format";

describe("format", () => {
  it("sizes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(50 * 1024 * 1024)).toBe("50 MB");
  });
  it("durations", () => {
    expect(formatDuration(250)).toBe("250 ms");
    expect(formatDuration(1500)).toBe("1.5 s");
    expect(formatDuration(125000)).toBe("2 min 5 s");
  });
  it("relative times pick the largest unit", () => {
    const now = Date.parse("2026-01-10T00:00:00Z");
    expect(timeAgo("2026-01-09T23:59:50Z", now)).toBe("just now");
    expect(timeAgo("2026-01-09T21:00:00Z", now)).toBe("3 h ago");
    expect(timeAgo("2026-01-07T00:00:00Z", now)).toBe("3 d ago");
    expect(timeAgo(null, now)).toBe("never");
  });
  it("labels", () => {
    expect(stateLabel("blue_evaluating")).toBe("Blue evaluating");
    expect(humanize("hand_to_blue")).toBe("Hand to blue");
  });
});
