import { describe, expect, it } from "vitest";
import { allPages } from "./pages";

describe("allPages", () => {
  it("fetches every page and keeps the order", async () => {
    const data = Array.from({ length: 1234 }, (_, i) => i);
    const seen: number[] = [];
    const out = await allPages(async (offset, limit) => {
      seen.push(offset);
      return { items: data.slice(offset, offset + limit), total: data.length, limit, offset };
    });
    expect(out).toEqual(data);
    expect(seen).toEqual([0, 500, 1000]);
  });
  it("one call when everything fits", async () => {
    let calls = 0;
    const out = await allPages(async (offset, limit) => {
      calls++;
      return { items: [1, 2, 3], total: 3, limit, offset };
    });
    expect(out).toEqual([1, 2, 3]);
    expect(calls).toBe(1);
  });
});
