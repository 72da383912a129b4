package pluginhost

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// nonPublic are the ranges a URL source started through the API may not reach unless
// import { allow_private_networks = true }: beyond what netip classifies (loopback,
// private, link-local, multicast, unspecified), shared address space, benchmarking,
// IETF protocol assignments, reserved, and NAT64 (which reaches IPv4 behind it).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// PublicAddress reports whether ip is an address on the public internet.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Resolver looks up a host's addresses (net.DefaultResolver; tests pass their own).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckSource refuses a source that an import started through the API may not read,
// before any plugin starts: local paths outside import.allowed_paths (after resolving
// symbolic links), URLs whose host resolves to a non-public address unless
// import.allow_private_networks, and URLs carrying credentials (those belong in the
// plugin block, from env(...), where they are never shown). Sources from aegis.hcl or
// the command line are the operator's own and are not checked.
func (h *Host) CheckSource(ctx context.Context, src string) error {
	src = strings.TrimSpace(src)
	lower := strings.ToLower(src)
	switch {
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		return h.checkURL(ctx, src)
	case strings.HasPrefix(lower, "file://"):
		return h.checkPath(strings.TrimPrefix(src[len("file://"):], "localhost"))
	case strings.Contains(src, "://"):
		return core.FieldError("source", "unsupported scheme in %q (want http, https, or a local path)", MaskSource(src))
	}
	return h.checkPath(src)
}

func (h *Host) checkURL(ctx context.Context, src string) error {
	u, err := url.Parse(src)
	if err != nil || u.Hostname() == "" {
		return core.FieldError("source", "%q is not a valid URL", MaskSource(src))
	}
	if u.User != nil {
		return core.FieldError("source", "a source URL may not carry credentials (user:password@); "+
			"put the source in the plugin's block of aegis.hcl instead, e.g. source = env(\"AEGIS_SOURCE_URL\"), where it is never shown")
	}
	if h.Import.AllowPrivateNetworks {
		return nil
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		r := h.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		if addrs, err = r.LookupNetIP(ctx, "ip", host); err != nil {
			return core.FieldError("source", "cannot resolve %s: %v", host, err)
		}
	}
	for _, ip := range addrs {
		if !PublicAddress(ip) {
			return core.FieldError("source", "%s is %s, not a public address; imports started through the API may reach only "+
				"public addresses unless aegis.hcl sets import { allow_private_networks = true }", host, ip)
		}
	}
	return nil
}

func (h *Host) checkPath(p string) error {
	if len(h.Import.AllowedPaths) == 0 {
		return core.FieldError("source", "local paths are not allowed for imports started through the API; "+
			"list the folders they may read in aegis.hcl: import { allowed_paths = [...] }")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return core.FieldError("source", "%q is not a valid path", p)
	}
	refuse := core.FieldError("source", "%s is not under a folder of import.allowed_paths in aegis.hcl", p)
	// Lexically first, so nothing outside the allowed folders is even looked at; then
	// with symbolic links resolved, so a link inside cannot point outside.
	if !under(abs, h.Import.AllowedPaths, false) {
		return refuse
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return core.FieldError("source", "%s: no such file or folder", p)
	}
	if !under(real, h.Import.AllowedPaths, true) {
		return refuse
	}
	return nil
}

// under reports whether p is one of dirs or inside one; with resolve, the dirs' own
// symbolic links are resolved first.
func under(p string, dirs []string, resolve bool) bool {
	for _, d := range dirs {
		if resolve {
			r, err := filepath.EvalSymlinks(d)
			if err != nil {
				continue
			}
			d = r
		}
		rel, err := filepath.Rel(filepath.Clean(d), p)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// MaskSource is a source as Aegis stores and shows it: a URL's user and password
// replaced by "xxxxx", so credentials never reach import runs, the audit log or logs.
func MaskSource(src string) string {
	u, err := url.Parse(strings.TrimSpace(src))
	if err != nil || u.User == nil {
		if i := strings.Index(src, "://"); i >= 0 {
			// Unparsable, but it may still hold user:password@ before the host.
			rest := src[i+3:]
			if at := strings.LastIndex(rest[:hostEnd(rest)], "@"); at >= 0 {
				return src[:i+3] + "xxxxx@" + rest[at+1:]
			}
		}
		return src
	}
	u.User = url.User("xxxxx")
	return u.String()
}

func hostEnd(s string) int {
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		return i
	}
	return len(s)
}

// MaskIn replaces every spelling of src's credentials in text (the raw URL, and the
// form net/url's Redacted shows, which keeps the user name) with the masked source.
func MaskIn(text, src string) string {
	masked := MaskSource(src)
	if masked == src {
		return text
	}
	text = strings.ReplaceAll(text, src, masked)
	if u, err := url.Parse(src); err == nil && u.User != nil {
		text = strings.ReplaceAll(text, u.Redacted(), masked)
		if pw, ok := u.User.Password(); ok && len(pw) >= 4 {
			text = strings.ReplaceAll(text, pw, "xxxxx")
		}
		if name := u.User.Username(); len(name) >= 8 {
			// A long user name is usually a token (https://TOKEN@host).
			text = strings.ReplaceAll(text, name, "xxxxx")
		}
	}
	return text
}
