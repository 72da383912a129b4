import { useEffect, useState } from "react";

/** useDebounce returns value once it has stopped changing for delay ms (search boxes). */
export function useDebounce<T>(value: T, delay = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), delay);
    return () => clearTimeout(t);
  }, [value, delay]);
  return v;
}
