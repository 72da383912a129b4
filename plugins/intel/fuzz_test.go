package main

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/aegis-sec/aegis/sdk/sdktest"
	"github.com/mmcdole/gofeed"
)

// FuzzFeed: whatever gofeed makes of the bytes, every item that becomes a
// record is a valid one.
func FuzzFeed(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/*/*")
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, it := range feed.Items {
			if it == nil {
				continue
			}
			rec, _ := toItem(it, feed, "https://feeds.example.test/x")
			if rec == nil {
				continue
			}
			if err := rec.Validate(); err != nil {
				t.Fatalf("invalid record %+v: %v", rec, err)
			}
		}
	})
}

var (
	groupIDRe     = regexp.MustCompile(`^G\d{4}$`)
	techniqueIDRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
)

func FuzzAttackIDs(f *testing.F) {
	for _, s := range []string{"T1059.001 G0016", "attack.t1003.001", "/techniques/T1566/001/", "AT1234 T12345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, gs := attackIDs(s)
		for _, id := range ts {
			if !techniqueIDRe.MatchString(id) {
				t.Fatalf("technique id %q from %q", id, s)
			}
		}
		for _, g := range gs {
			if !groupIDRe.MatchString(g) {
				t.Fatalf("group id %q from %q", g, s)
			}
		}
	})
}

func FuzzHTMLText(f *testing.F) {
	f.Add(`<p>a <a href="https://attack.mitre.org/techniques/T1566/001/">b</a></p><script>x</script>`)
	f.Add(`<style><p>`)
	f.Fuzz(func(t *testing.T, s string) {
		text, _ := htmlText(s)
		if text != "" && (text[0] == ' ' || text[len(text)-1] == ' ') {
			t.Fatalf("untrimmed text %q", text)
		}
	})
}
