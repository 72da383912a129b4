package main

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"

	"github.com/aegis-sec/aegis/sdk"
)

// maxSummaryRunes keeps summaries to an abstract: some feeds put the whole
// article in the description.
const maxSummaryRunes = 2000

var (
	// techniqueRe also takes the slash form of ATT&CK URLs
	// (attack.mitre.org/techniques/T1059/001).
	techniqueRe = regexp.MustCompile(`\bT(\d{4})(?:[./](\d{3}))?\b`)
	// tagRe is the Sigma tag spelling, "attack.t1059.001".
	tagRe   = regexp.MustCompile(`(?i)\battack\.t(\d{4})(?:\.(\d{3}))?\b`)
	groupRe = regexp.MustCompile(`\bG\d{4}\b`)
)

// attackIDs returns the sorted, distinct technique and group ids in the texts.
func attackIDs(texts ...string) (techniques, groups []string) {
	seenT, seenG := map[string]bool{}, map[string]bool{}
	for _, s := range texts {
		for _, re := range []*regexp.Regexp{techniqueRe, tagRe} {
			for _, m := range re.FindAllStringSubmatch(s, -1) {
				id := "T" + m[1]
				if m[2] != "" {
					id += "." + m[2]
				}
				seenT[id] = true
			}
		}
		for _, g := range groupRe.FindAllString(s, -1) {
			seenG[g] = true
		}
	}
	return sortedKeys(seenT), sortedKeys(seenG)
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// inlineTags do not separate words: "<a>spear</a>phishing" is one word.
var inlineTags = map[string]bool{"a": true, "abbr": true, "b": true, "code": true, "em": true, "i": true, "mark": true,
	"q": true, "s": true, "small": true, "span": true, "strong": true, "sub": true, "sup": true, "u": true}

// htmlText turns an HTML fragment into one line of text, and returns the
// link targets beside it: an article often names a technique only by linking
// to its attack.mitre.org page.
func htmlText(fragment string) (text string, hrefs []string) {
	z := html.NewTokenizer(strings.NewReader(fragment))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.Join(strings.Fields(b.String()), " "), hrefs
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			n := string(name)
			if n == "script" || n == "style" {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if string(k) == "href" {
					hrefs = append(hrefs, string(v))
				}
			}
			if !inlineTags[n] {
				b.WriteByte(' ')
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
}

func plainText(fragment string) string {
	text, _ := htmlText(fragment)
	return text
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// toItem maps a feed entry to a record; ok is false, with the reason, when
// the entry has nothing to identify it by.
func toItem(it *gofeed.Item, feed *gofeed.Feed, feedURL string) (rec *sdk.IntelItem, reason string) {
	id := strings.TrimSpace(it.GUID)
	link := strings.TrimSpace(it.Link)
	if link == "" {
		for _, l := range it.Links {
			if l = strings.TrimSpace(l); l != "" {
				link = l
				break
			}
		}
	}
	if id == "" {
		id = link
	}
	if id == "" {
		return nil, "skipped entry without guid or link"
	}
	descText, descLinks := htmlText(it.Description)
	contentText, contentLinks := htmlText(it.Content)
	summary := descText
	if summary == "" {
		summary = contentText
	}
	title := plainText(it.Title)
	if title == "" {
		// RSS 2.0 allows an item with a description only.
		title = truncate(summary, 120)
	}
	if title == "" {
		return nil, "skipped entry without title or description"
	}
	rec = &sdk.IntelItem{
		ExternalID: id,
		Title:      title,
		Link:       link,
		Summary:    truncate(summary, maxSummaryRunes),
		FeedURL:    feedURL,
		FeedTitle:  strings.TrimSpace(feed.Title),
	}
	switch {
	case it.PublishedParsed != nil:
		rec.Published = it.PublishedParsed.UTC()
	case it.UpdatedParsed != nil:
		rec.Published = it.UpdatedParsed.UTC()
	}
	seen := map[string]bool{}
	for _, a := range it.Authors {
		if a == nil {
			continue
		}
		if n := strings.TrimSpace(a.Name); n != "" && !seen[n] {
			seen[n] = true
			rec.Authors = append(rec.Authors, n)
		}
	}
	cats := map[string]bool{}
	for _, c := range it.Categories {
		if c = strings.TrimSpace(c); c != "" {
			cats[c] = true
		}
	}
	rec.Categories = sortedKeys(cats)
	texts := append([]string{title, descText, contentText}, descLinks...)
	texts = append(texts, contentLinks...)
	rec.TechniqueIDs, rec.GroupIDs = attackIDs(append(texts, it.Categories...)...)
	return rec, ""
}
