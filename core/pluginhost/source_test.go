package pluginhost

import (
	"net/netip"
	"strings"
	"testing"
)

func TestMaskSource(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pa55@example.com/a.tar.gz": "https://xxxxx@example.com/a.tar.gz",
		"https://ghp_TOKEN123@example.com/x":     "https://xxxxx@example.com/x",
		"https://example.com/a.tar.gz":           "https://example.com/a.tar.gz",
		"/srv/feeds/a.zip":                       "/srv/feeds/a.zip",
		"http://u:p%zz@host/x":                   "http://xxxxx@host/x", // unparsable escape
	} {
		if got := MaskSource(in); got != want {
			t.Errorf("MaskSource(%q) = %q, want %q", in, got, want)
		}
	}
	src := "https://importbot:s3cretpw@example.com/a.csv"
	text := "download https://importbot:xxxxx@example.com/a.csv failed; retried " + src + " with s3cretpw"
	if got := MaskIn(text, src); strings.Contains(got, "s3cretpw") || strings.Contains(got, "importbot") {
		t.Errorf("MaskIn left a credential: %q", got)
	}
}

func TestPublicAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1::1": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "fd00::1": false, "fe80::1": false,
		"::ffff:127.0.0.1": false, "64:ff9b::a00:1": false, "198.18.0.1": false, "224.0.0.1": false,
	} {
		if got := PublicAddress(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PublicAddress(%s) = %v, want %v", addr, got, want)
		}
	}
}
