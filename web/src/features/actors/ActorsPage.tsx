import { NotOffered } from "@/ui/NotOffered";

export default function Page() {
  return <NotOffered title="Threat actors" what="threat actors and their coverage" routes={["GET /api/v1/threat-actors"]} />;
}
