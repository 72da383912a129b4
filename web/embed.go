// Package web carries the built single-page app (web/dist) inside the binary.
package web

import (
	"embed"
	"io/fs"
)

// all: keeps the placeholder file, so the package builds before the SPA has been built.
//
//go:embed all:dist
var dist embed.FS

// Dist returns the built SPA. Built reports whether it holds an index.html.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// Built reports whether the SPA has been built into web/dist.
func Built() bool {
	_, err := fs.Stat(Dist(), "index.html")
	return err == nil
}
