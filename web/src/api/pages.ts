// Lists are paginated (at most 500 per page). Some views need every row (the matrix
// needs every technique), so this walks the pages.
export type Paged<T> = { items: T[]; total: number; limit: number; offset: number };

export async function allPages<T>(page: (offset: number, limit: number) => Promise<Paged<T>>, limit = 500): Promise<T[]> {
  const first = await page(0, limit);
  const items = [...first.items];
  const rest: Promise<Paged<T>>[] = [];
  for (let off = first.items.length; off < first.total; off += limit) rest.push(page(off, limit));
  for (const p of await Promise.all(rest)) items.push(...p.items);
  return items;
}
