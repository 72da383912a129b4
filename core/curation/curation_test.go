package curation_test

import (
	"context"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/curation"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func ptr[T any](v T) *T { return &v }

// Custom templates and rules join the template ↔ rule links as imported ones do, and
// leave them when they are retired.
func TestCustomCatalogFollowsAssociations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		admin := &core.User{Username: "root", Role: core.RoleAdmin, PasswordHash: "h"}
		if err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateUser(ctx, admin) }); err != nil {
			t.Fatal(err)
		}
		svc := curation.New(st)
		tpl, err := svc.CreateTemplate(ctx, admin, curation.TemplateInput{Name: ptr("In-house PowerShell check"),
			Platforms: ptr([]string{"windows"}), TechniqueIDs: ptr([]string{"T1059.001"}), Command: ptr("powershell -enc ...")})
		if err != nil {
			t.Fatal(err)
		}
		rule, err := svc.CreateRule(ctx, admin, curation.RuleInput{Title: ptr("Encoded PowerShell"), Query: ptr("process.args:-enc"),
			LogSource: ptr(map[string]any{"product": "windows"}), TechniqueIDs: ptr([]string{"T1059.001"})})
		if err != nil {
			t.Fatal(err)
		}
		links := func() int {
			var n int
			err := st.Read(ctx, func(tx core.Tx) error {
				rules, _, err := tx.RulesForTemplate(ctx, tpl.ID, core.Page{})
				for _, r := range rules {
					if r.ID == rule.ID {
						n++
					}
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if links() != 1 {
			t.Fatal("a custom rule and template that share a technique are not linked")
		}
		if _, err := svc.RetireRule(ctx, admin, rule.ID); err != nil {
			t.Fatal(err)
		}
		if links() != 0 {
			t.Fatal("a retired rule is still expected to fire")
		}
	})
}
