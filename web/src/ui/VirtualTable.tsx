// A virtualised table for long lists (templates, detection rules, audit log): only the
// visible rows are in the DOM, and reaching the end asks for the next page.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, type KeyboardEvent, type ReactNode } from "react";
import { cx } from "./primitives";

export type Column<T> = {
  key: string;
  header: ReactNode;
  width: string; // a CSS grid track, e.g. "120px" or "minmax(0,1fr)"
  cell: (row: T) => ReactNode;
};

export function VirtualTable<T>({
  rows,
  columns,
  rowKey,
  onRowClick,
  onEndReached,
  height = 560,
  rowHeight = 40,
  label,
  selected,
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  onRowClick?: (row: T) => void;
  onEndReached?: () => void;
  height?: number | string;
  rowHeight?: number;
  label: string;
  selected?: string | null;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({ count: rows.length, getScrollElement: () => parent.current, estimateSize: () => rowHeight, overscan: 12 });
  const items = v.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 20) onEndReached?.();
  }, [last, rows.length, onEndReached]);
  const grid = columns.map((c) => c.width).join(" ");

  const onKey = (e: KeyboardEvent<HTMLDivElement>, row: T) => {
    if ((e.key === "Enter" || e.key === " ") && onRowClick) {
      e.preventDefault();
      onRowClick(row);
    }
  };

  return (
    <div role="table" aria-label={label} aria-rowcount={rows.length} className="overflow-hidden rounded-lg border border-line bg-panel">
      <div role="row" className="grid border-b border-line bg-panel-2 px-3 text-[12px] font-medium text-muted" style={{ gridTemplateColumns: grid }}>
        {columns.map((c) => (
          <div role="columnheader" key={c.key} className="truncate px-2 py-2">
            {c.header}
          </div>
        ))}
      </div>
      <div ref={parent} className="overflow-auto" style={{ height }}>
        <div style={{ height: v.getTotalSize(), position: "relative" }}>
          {items.map((it) => {
            const row = rows[it.index]!;
            const key = rowKey(row);
            return (
              <div
                role="row"
                key={key}
                tabIndex={onRowClick ? 0 : undefined}
                onClick={onRowClick ? () => onRowClick(row) : undefined}
                onKeyDown={(e) => onKey(e, row)}
                aria-selected={selected === key || undefined}
                className={cx(
                  "absolute inset-x-0 grid items-center border-b border-line/60 px-3 text-[13px]",
                  onRowClick && "cursor-pointer hover:bg-panel-2",
                  selected === key && "bg-accent/10",
                )}
                style={{ gridTemplateColumns: grid, height: it.size, transform: `translateY(${it.start}px)` }}
              >
                {columns.map((c) => (
                  <div role="cell" key={c.key} className="min-w-0 truncate px-2">
                    {c.cell(row)}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
