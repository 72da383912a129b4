package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
)

// CheckAssociations compares the template ↔ rule links the store derives when they are
// read with a full core.Associate over every active template and rule: each template's
// rules and each rule's templates (the same records with the same reasons, in the
// display order, page after page, with the right total; none for an inactive or
// deprecated one), the rule counts of the template choices and the total. It returns
// how many links there are.
func CheckAssociations(t testing.TB, s *store.Store) int {
	t.Helper()
	ctx := context.Background()
	var tplIDs, ruleIDs []string
	if err := s.DB().Select(&tplIDs, `SELECT id FROM test_templates ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Select(&ruleIDs, `SELECT id FROM detection_rules ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	var total int
	err := s.Read(ctx, func(ctx_ core.Tx) error {
		tx := ctx_.(*store.Tx)
		tpls, rules, err := tx.AssociationInputs(ctx)
		if err != nil {
			return err
		}
		want := core.Associate(tpls, rules)
		total = len(want)
		byTpl, byRule := map[string][]string{}, map[string][]string{}
		for _, l := range want {
			byTpl[l.TemplateID] = append(byTpl[l.TemplateID], l.RuleID+" | "+l.Reason)
			byRule[l.RuleID] = append(byRule[l.RuleID], l.TemplateID+" | "+l.Reason)
		}
		const limit = 500
		for _, id := range tplIDs {
			var got []string
			var prev *core.LinkedRule
			for offset := 0; ; offset += limit {
				page, n, err := tx.RulesForTemplate(ctx, id, core.Page{Limit: limit, Offset: offset})
				if err != nil {
					return err
				}
				if n != len(byTpl[id]) {
					return fmt.Errorf("template %s: total %d, Associate links %d rules", id, n, len(byTpl[id]))
				}
				for _, r := range page {
					if prev != nil && !ruleBefore(prev, r) {
						return fmt.Errorf("template %s: rule %q (%s) listed after %q (%s)", id, r.Title, r.Level, prev.Title, prev.Level)
					}
					prev = r
					got = append(got, r.ID+" | "+r.Reason)
				}
				if len(page) < limit {
					break
				}
			}
			if err := sameSet("template "+id+" rules", got, byTpl[id]); err != nil {
				return err
			}
		}
		for _, id := range ruleIDs {
			var got []string
			var prev *core.LinkedTemplate
			for offset := 0; ; offset += limit {
				page, n, err := tx.TemplatesForRule(ctx, id, core.Page{Limit: limit, Offset: offset})
				if err != nil {
					return err
				}
				if n != len(byRule[id]) {
					return fmt.Errorf("rule %s: total %d, Associate links %d templates", id, n, len(byRule[id]))
				}
				for _, tp := range page {
					if prev != nil && (prev.Name > tp.Name || prev.Name == tp.Name && prev.ID >= tp.ID) {
						return fmt.Errorf("rule %s: template %q listed after %q", id, tp.Name, prev.Name)
					}
					prev = tp
					got = append(got, tp.ID+" | "+tp.Reason)
				}
				if len(page) < limit {
					break
				}
			}
			if err := sameSet("rule "+id+" templates", got, byRule[id]); err != nil {
				return err
			}
		}
		counts, err := tx.RuleCounts(ctx, tplIDs)
		if err != nil {
			return err
		}
		for _, id := range tplIDs {
			if counts[id] != len(byTpl[id]) {
				return fmt.Errorf("template %s: rule count %d, Associate links %d rules", id, counts[id], len(byTpl[id]))
			}
		}
		n, err := tx.CountAssociations(ctx)
		if err != nil {
			return err
		}
		if n != total {
			return fmt.Errorf("CountAssociations %d, Associate %d", n, total)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

var levelRank = map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3}

func rank(level string) int {
	if r, ok := levelRank[level]; ok {
		return r
	}
	return 4
}

// ruleBefore says whether a comes strictly before b in the order of RulesForTemplate:
// the most severe first, then by title and id (byte order: SQLite's and the C
// collation's).
func ruleBefore(a, b *core.LinkedRule) bool {
	if rank(a.Level) != rank(b.Level) {
		return rank(a.Level) < rank(b.Level)
	}
	if a.Title != b.Title {
		return a.Title < b.Title
	}
	return a.ID < b.ID
}

func sameSet(what string, got, want []string) error {
	got, want = append([]string(nil), got...), append([]string(nil), want...)
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s: derived %d %v\nAssociate %d %v", what, len(got), got, len(want), want)
	}
	return nil
}
