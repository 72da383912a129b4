// Package sdk is the public Aegis plugin SDK, protocol version 1.
//
// A plugin is a separate executable that serves one or more importers
// (external data in, as typed records) and exporters (records in, artifacts
// out) over hashicorp/go-plugin and gRPC. Plugin authors implement [Importer]
// or [Exporter] and call [Serve] from main; the Aegis core starts the binary
// and talks to it through package host, which authors never need. Package
// sdktest runs components in-process, or a built plugin binary, in tests.
//
// Neither side ever sees protobuf types: records are the Go structs in this
// package (see [Record]), user-level problems are [Diagnostic] values, and
// gRPC status codes only ever mean that the transport failed.
//
// See docs/PLUGINS.md in the Aegis repository for a walkthrough.
package sdk
