package importer

import (
	"context"
	"fmt"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/pluginhost"
)

// renamedBlock refuses the first import under a plugin block when the same plugin (the
// same binary, or the same path) last ran under another block that aegis.hcl no longer
// names and that owns imported records. Records are identified by the block name
// (docs/PLUGINS.md §8), so such a run would add every record again beside the old ones,
// which would never be updated or deprecated again: a renamed block, not a new source.
func renamedBlock(ctx context.Context, st core.Store, h *pluginhost.Host, inst *pluginhost.Instance) error {
	configured := map[string]bool{}
	for _, e := range h.Entries() {
		if e.Configured {
			configured[e.Name] = true
		}
	}
	return st.View(ctx, func(tx core.Tx) error {
		mine, err := tx.ImportRecords(ctx, inst.Name)
		if err != nil || len(mine) > 0 {
			return err
		}
		plugins, err := tx.ListPlugins(ctx)
		if err != nil {
			return err
		}
		for _, p := range plugins {
			if p.Name == inst.Name || configured[p.Name] || (p.SHA256 != inst.Checksum && p.Path != inst.Config.Path) {
				continue
			}
			old, err := tx.ImportRecords(ctx, p.Name)
			if err != nil {
				return err
			}
			if len(old) == 0 {
				continue
			}
			return fmt.Errorf("plugin block %q (%s) runs the plugin that block %q ran (%s), and aegis.hcl no longer names %q: "+
				"its %d imported records are identified by the block name %q, so importing under %q would add them all again "+
				"beside the old ones, which would no longer be updated or deprecated; nothing was imported. Rename the block "+
				"back to %q, or, if %q is meant as a second source, keep a block %q in aegis.hcl (enabled = false will do)",
				inst.Name, inst.Config.Range, p.Name, p.Path, p.Name, len(old), p.Name, inst.Name, p.Name, inst.Name, p.Name)
		}
		return nil
	})
}
