package store_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// heldTemplate and heldRule are the upserts the held-write tests run.
func heldTemplate(ext, name string, techniques ...string) *core.TestTemplate {
	return &core.TestTemplate{Source: "held", ExternalID: ext, Name: name, TechniqueIDs: techniques}
}

func heldRule(ext, title string, techniques ...string) *core.DetectionRule {
	return &core.DetectionRule{Source: "held", ExternalID: ext, Title: title, TechniqueIDs: techniques}
}

// readHeld reads a template and a rule back by id: name/title and sorted techniques.
func readHeld(t *testing.T, tx core.Tx, templateID, ruleID string) (string, []string, string, []string) {
	t.Helper()
	te, err := tx.TestTemplateByID(ctx, templateID)
	if err != nil {
		t.Fatalf("template %s: %v", templateID, err)
	}
	r, err := tx.DetectionRuleByID(ctx, ruleID)
	if err != nil {
		t.Fatalf("rule %s: %v", ruleID, err)
	}
	slices.Sort(te.TechniqueIDs)
	slices.Sort(r.TechniqueIDs)
	return te.Name, te.TechniqueIDs, r.Title, r.TechniqueIDs
}

// A transaction that holds its writes (the importer's) stores exactly what one that
// writes at once does: the ids upserts return, updates of existing rows, technique
// links replaced, a second upsert of one row in the same transaction, and reads in the
// transaction see every held write.
func TestHeldWritesStoreWhatImmediateWritesDo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a, r1 := heldTemplate("A", "a", "T1059"), heldRule("R1", "r1", "T1059")
		mustUpdate(t, s, func(tx core.Tx) error {
			if err := tx.UpsertTestTemplate(ctx, a); err != nil {
				return err
			}
			return tx.UpsertDetectionRule(ctx, r1)
		})
		var a2, b, b2 *core.TestTemplate
		var rr1, rr2 *core.DetectionRule
		mustUpdate(t, s, func(tx core.Tx) error {
			tx.(*store.Tx).HoldWrites()
			a2, b = heldTemplate("A", "a2", "T1059.001", "T1003"), heldTemplate("B", "b", "T1059")
			b2 = heldTemplate("B", "b2", "T1003", "T1003")
			rr1, rr2 = heldRule("R1", "r1b", "T1003"), heldRule("R2", "r2", "T1059", "T1059.001")
			// A technique no release brought: a placeholder, its parent first.
			for _, te := range []*core.TestTemplate{a2, b, b2, heldTemplate("D", "d", "T1234.005", "T1059")} {
				if err := tx.UpsertTestTemplate(ctx, te); err != nil {
					return err
				}
			}
			for _, r := range []*core.DetectionRule{rr1, rr2} {
				if err := tx.UpsertDetectionRule(ctx, r); err != nil {
					return err
				}
			}
			// Read in the transaction: the held rows are written first.
			name, techs, title, rtechs := readHeld(t, tx, a2.ID, rr1.ID)
			if name != "a2" || !reflect.DeepEqual(techs, []string{"T1003", "T1059.001"}) || title != "r1b" ||
				!reflect.DeepEqual(rtechs, []string{"T1003"}) {
				t.Errorf("read in the transaction: %s %v %s %v", name, techs, title, rtechs)
			}
			return nil
		})
		if a2.ID != a.ID || rr1.ID != r1.ID {
			t.Fatalf("an update of an existing row returned a new id: template %s→%s, rule %s→%s", a.ID, a2.ID, r1.ID, rr1.ID)
		}
		if b2.ID != b.ID || b.ID == a.ID || rr2.ID == r1.ID {
			t.Fatalf("ids: b %s, b again %s, a %s, r2 %s", b.ID, b2.ID, a.ID, rr2.ID)
		}
		s.View(ctx, func(tx core.Tx) error {
			name, techs, title, rtechs := readHeld(t, tx, b.ID, rr2.ID)
			if name != "b2" || !reflect.DeepEqual(techs, []string{"T1003"}) || title != "r2" ||
				!reflect.DeepEqual(rtechs, []string{"T1059", "T1059.001"}) {
				t.Errorf("after the commit: %s %v %s %v", name, techs, title, rtechs)
			}
			sub, err := tx.TechniqueByExternalID(ctx, "T1234.005")
			if err != nil {
				t.Fatal(err)
			}
			parent, err := tx.TechniqueByExternalID(ctx, "T1234")
			if err != nil || sub.Known || sub.ParentID == nil || *sub.ParentID != parent.ID {
				t.Errorf("placeholders: %+v %+v %v", sub, parent, err)
			}
			list, total, err := tx.ListTestTemplates(ctx, core.TemplateFilter{Source: "held", TechniqueID: "T1234.005"})
			if err != nil || total != 1 || len(list) != 1 || list[0].ExternalID != "D" {
				t.Errorf("templates of the placeholder: %d %v", total, err)
			}
			list, total, err = tx.ListTestTemplates(ctx, core.TemplateFilter{Source: "held"})
			if err != nil || total != 3 || len(list) != 3 {
				t.Errorf("templates of the source: %d %v", total, err)
			}
			return nil
		})

		if s.Dialect() != store.Postgres {
			return
		}
		// A row another transaction adds after the held transaction read the source's
		// ids: the flush sees the upsert return another id, and the transaction runs
		// again on fresh data instead of linking to a row that does not exist.
		attempts := 0
		var c *core.TestTemplate
		mustUpdate(t, s, func(tx core.Tx) error {
			attempts++
			tx.(*store.Tx).HoldWrites()
			if err := tx.UpsertTestTemplate(ctx, heldTemplate("A", "a3", "T1059")); err != nil {
				return err
			}
			if attempts == 1 {
				mustUpdate(t, s, func(tx core.Tx) error { return tx.UpsertTestTemplate(ctx, heldTemplate("C", "c", "T1059")) })
			}
			c = heldTemplate("C", "c2", "T1003")
			return tx.UpsertTestTemplate(ctx, c)
		})
		if attempts != 2 {
			t.Errorf("the held transaction ran %d time(s), want 2", attempts)
		}

		// A placeholder parent another transaction inserted meanwhile: the held
		// sub-technique pointed at the id this transaction chose for it and failed the
		// flush on techniques_parent_id_fkey (CI); now the transaction runs again and
		// links to the other one's parent.
		attempts = 0
		var e *core.TestTemplate
		mustUpdate(t, s, func(tx core.Tx) error {
			attempts++
			tx.(*store.Tx).HoldWrites()
			e = heldTemplate("E", "e", "T1777.003")
			if err := tx.UpsertTestTemplate(ctx, e); err != nil {
				return err
			}
			if attempts == 1 {
				mustUpdate(t, s, func(tx core.Tx) error { return tx.UpsertTestTemplate(ctx, heldTemplate("F", "f", "T1777")) })
			}
			return nil
		})
		if attempts != 2 {
			t.Errorf("the held transaction with a placeholder parent ran %d time(s), want 2", attempts)
		}
		s.View(ctx, func(tx core.Tx) error {
			sub, err := tx.TechniqueByExternalID(ctx, "T1777.003")
			if err != nil {
				t.Fatalf("placeholder sub-technique: %v", err)
			}
			parent, err := tx.TechniqueByExternalID(ctx, "T1777")
			if err != nil || sub.ParentID == nil || *sub.ParentID != parent.ID {
				t.Errorf("T1777.003's parent is %v, want T1777 (%v, %v)", sub.ParentID, parent, err)
			}
			return nil
		})
		s.View(ctx, func(tx core.Tx) error {
			name, techs, _, _ := readHeld(t, tx, c.ID, rr2.ID)
			if name != "c2" || !reflect.DeepEqual(techs, []string{"T1003"}) {
				t.Errorf("after the retry: %s %v", name, techs)
			}
			return nil
		})
	})
}
