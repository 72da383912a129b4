import { expect, it } from "vitest";
import { matrixFilters, matrixQuery } from "./matrix";

it("reads the release from the address and keys the matrix query by it", () => {
  const f = matrixFilters(new URLSearchParams("release=17.1&platform=Linux"));
  expect(f.release).toBe("17.1");
  expect(matrixQuery(f).queryKey).toEqual(["matrix", { platform: "Linux", actor: "", campaign: "", snapshot: "", release: "17.1" }]);
  // The default (newest) release shares its cache entry with the dashboard's preload.
  expect(matrixQuery(matrixFilters(new URLSearchParams())).queryKey).toEqual(matrixQuery(matrixFilters(new URLSearchParams("colour=score"))).queryKey);
});
