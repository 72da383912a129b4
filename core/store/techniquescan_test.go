package store_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// TestTechniqueScanMatchesReflection: the technique list reads by hand what sqlx's
// reflection reads from the same rows (every column set, revoked and lean lists too),
// on both databases.
func TestTechniqueScanMatchesReflection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		exec, _ := seedTechniques(t, s)
		mod := time.Date(2025, 4, 5, 6, 7, 8, 912345000, time.UTC)
		full := &core.Technique{ExternalID: "T1003", STIXID: "attack-pattern--1", Name: "OS Credential \"Dumping\"",
			Description: "dump <credentials>\nline two ü", IsSubtechnique: false, Platforms: core.Strings{"Windows", "Linux", "macOS"},
			Domains: core.Strings{"enterprise-attack"}, DataSources: core.Strings{"Process: Process Access", `Odd "quoted"`},
			Detection: "watch lsass", URL: "https://attack.mitre.org/techniques/T1003", ObjectVersion: "2.1", ModifiedAt: &mod,
			Known: true, Deprecated: true, LastSeenRelease: "18.1", Source: "attack", SourceRef: "ref", ContentHash: "abc"}
		gone := &core.Technique{ExternalID: "T1004", Name: "Revoked one", Revoked: true, RevokedBy: "T1003", Source: "attack",
			ParentID: &exec.ID, IsSubtechnique: true}
		mustUpdate(t, s, func(tx core.Tx) error {
			if err := tx.UpsertTechnique(ctx, full); err != nil {
				return err
			}
			return tx.UpsertTechnique(ctx, gone)
		})
		var cols []string
		ty := reflect.TypeOf(core.Technique{})
		for i := 0; i < ty.NumField(); i++ {
			if c := ty.Field(i).Tag.Get("db"); c != "-" {
				cols = append(cols, c)
			}
		}
		for _, f := range []core.TechniqueFilter{{}, {IncludeRevoked: true}, {Lean: true, IncludeRevoked: true}} {
			var want []*core.Technique
			sel := strings.Join(cols, ", ")
			if f.Lean {
				sel = strings.NewReplacer("description,", "'' AS description,", "detection,", "'' AS detection,").Replace(sel)
			}
			q := `SELECT ` + sel + ` FROM techniques`
			if !f.IncludeRevoked {
				q += ` WHERE revoked = ` + map[string]string{store.SQLite: "0", store.Postgres: "false"}[s.Dialect()]
			}
			if err := s.DB().Select(&want, q+` ORDER BY external_id`); err != nil {
				t.Fatal(err)
			}
			var got []*core.Technique
			if err := s.View(ctx, func(tx core.Tx) (err error) {
				got, _, err = tx.ListTechniques(ctx, f)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if n := map[bool]int{false: 3, true: 4}[f.IncludeRevoked]; len(want) != n || len(got) != n {
				t.Fatalf("%+v: sqlx read %d techniques, the list %d; want %d", f, len(want), len(got), n)
			}
			for i := range want {
				want[i].Tactics = got[i].Tactics // filled by the list only
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("%+v: the list read\n%+v\nsqlx read\n%+v", f, *got[i], *want[i])
				}
			}
		}
	})
}
