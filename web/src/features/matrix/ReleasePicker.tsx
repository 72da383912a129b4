import { Select } from "@/ui/primitives";

type Props = {
  /** releases are every ATT&CK release an import recorded, oldest first (as the API lists them). */
  releases: string[];
  /** release is the one the matrix shows. */
  release: string;
  /** onChange gets the release picked, or "" for the newest (the default, kept out of the address). */
  onChange: (release: string) => void;
};

/**
 * ReleasePicker chooses the ATT&CK release whose matrix the page shows. With one
 * release there is nothing to choose, and it renders nothing.
 */
export function ReleasePicker({ releases, release, onChange }: Props) {
  if (releases.length < 2) return null;
  const newest = releases.at(-1);
  return (
    <Select aria-label="ATT&CK release" className="w-60" value={release || newest} onChange={(e) => onChange(e.target.value === newest ? "" : e.target.value)}>
      {[...releases].reverse().map((r) => <option key={r} value={r}>ATT&CK v{r}{r === newest ? " (newest)" : ""}</option>)}
    </Select>
  );
}
