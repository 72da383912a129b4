import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ReleasePicker } from "./ReleasePicker";

describe("ReleasePicker", () => {
  it("renders nothing when one release is imported", () => {
    const { container } = render(<ReleasePicker releases={["18.1"]} release="18.1" onChange={() => {}} />);
    expect(container.innerHTML).toBe("");
    expect(screen.queryByLabelText("ATT&CK release")).toBeNull();
  });

  it("lists every release newest first and shows the one in view", () => {
    render(<ReleasePicker releases={["6.3", "17.1", "18.1"]} release="17.1" onChange={() => {}} />);
    const picker = screen.getByLabelText<HTMLSelectElement>("ATT&CK release");
    expect([...picker.options].map((o) => o.textContent)).toEqual(["ATT&CK v18.1 (newest)", "ATT&CK v17.1", "ATT&CK v6.3"]);
    expect(picker.value).toBe("17.1");
  });

  it("shows the newest when no release is asked for", () => {
    render(<ReleasePicker releases={["17.1", "18.1"]} release="" onChange={() => {}} />);
    expect(screen.getByLabelText<HTMLSelectElement>("ATT&CK release").value).toBe("18.1");
  });

  it("asks for an older release by name and for the newest by leaving it out", async () => {
    const onChange = vi.fn();
    const user = userEvent.setup();
    const { rerender } = render(<ReleasePicker releases={["17.1", "18.1"]} release="18.1" onChange={onChange} />);
    await user.selectOptions(screen.getByLabelText("ATT&CK release"), "17.1");
    expect(onChange).toHaveBeenLastCalledWith("17.1");
    rerender(<ReleasePicker releases={["17.1", "18.1"]} release="17.1" onChange={onChange} />);
    await user.selectOptions(screen.getByLabelText("ATT&CK release"), "18.1");
    expect(onChange).toHaveBeenLastCalledWith("");
  });
});
