import { expect, it } from "vitest";
import { clean } from "./TechniquePage";

it("drops ATT&CK's citation markers and <code> tags from a description", () => {
  expect(clean("Examples include the <code>Start-Process</code> cmdlet (Citation: Microsoft) .")).toBe("Examples include the Start-Process cmdlet.");
});
