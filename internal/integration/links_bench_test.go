package integration

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
)

// BenchmarkTemplateRuleLinks times the reads of the template ↔ rule links, which are
// derived when read (core.AssociationQueryRepo), after every first-party import on
// SQLite: the first page (50) of the rules of the template with the most links and of
// the templates of the rule with the most, a median template's and rule's, and the
// template choices of a campaign on the ten techniques with the most templates. Each
// figure is the median of 15 reads.
func BenchmarkTemplateRuleLinks(b *testing.B) {
	sources := benchSources(b)
	e := newEnvFor(b, store.SQLite, sources)
	for _, s := range sources {
		e.Import(b, s.name, s.dir(b))
	}
	ctx := context.Background()
	var nTpls, nRules int
	var links []core.AssocLink
	if err := e.Store.Read(ctx, func(tx core.Tx) error {
		ts, rs, err := tx.(*store.Tx).AssociationInputs(ctx)
		nTpls, nRules, links = len(ts), len(rs), core.Associate(ts, rs)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	perTpl, perRule := map[string]int{}, map[string]int{}
	for _, l := range links {
		perTpl[l.TemplateID]++
		perRule[l.RuleID]++
	}
	// byLinks orders ids by their link count; [0] has the most.
	byLinks := func(n map[string]int) []string {
		var ids []string
		for id := range n {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return n[ids[i]] > n[ids[j]] || n[ids[i]] == n[ids[j]] && ids[i] < ids[j] })
		return ids
	}
	tplIDs, ruleIDs := byLinks(perTpl), byLinks(perRule)
	time15 := func(name string, fn func(tx core.Tx) error) {
		var ds []float64
		for range 15 {
			start := time.Now()
			if err := e.Store.Read(ctx, fn); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, float64(time.Since(start).Microseconds())/1000)
		}
		b.Logf("%s: %.1f ms", name, median(ds))
	}
	for _, c := range []struct {
		what string
		id   string
	}{{"most", tplIDs[0]}, {"median", tplIDs[len(tplIDs)/2]}} {
		time15("rules of the template with the "+c.what+" links ("+strconv.Itoa(perTpl[c.id])+")", func(tx core.Tx) error {
			_, _, err := tx.RulesForTemplate(ctx, c.id, core.Page{})
			return err
		})
	}
	for _, c := range []struct {
		what string
		id   string
	}{{"most", ruleIDs[0]}, {"median", ruleIDs[len(ruleIDs)/2]}} {
		time15("templates of the rule with the "+c.what+" links ("+strconv.Itoa(perRule[c.id])+")", func(tx core.Tx) error {
			_, _, err := tx.TemplatesForRule(ctx, c.id, core.Page{})
			return err
		})
	}
	var techs []string
	if err := e.Store.DB().Select(&techs, `SELECT te.external_id FROM test_template_techniques l JOIN techniques te ON te.id = l.technique_id
		GROUP BY te.external_id ORDER BY COUNT(*) DESC, te.external_id LIMIT 10`); err != nil {
		b.Fatal(err)
	}
	time15("template choices of the ten techniques with the most templates", func(tx core.Tx) error {
		_, err := tx.TemplateChoices(ctx, core.TemplateQuery{Techniques: techs})
		return err
	})
	b.Logf("%d templates, %d rules with techniques, %d links", nTpls, nRules, len(links))
}
