package sdk

import "regexp"

const (
	// ProtocolVersion is the protocol major version: the go-plugin
	// VersionedPlugins key. Bumped only for a breaking protocol change, which
	// ships as a new proto file served beside the old one.
	ProtocolVersion = 1
	// ProtocolMinor counts additive changes to the frozen v1 proto. Reported
	// by Describe so the host can tell which optional fields a plugin knows.
	// Minor 1: records in batches (ImportRequest.max_batch, ImportEvent.records).
	// Minor 2: skipping unchanged files (ImportRequest.previous_files and
	// report_files, ImportEvent.files).
	ProtocolMinor = 2
	// SDKVersion is the version of this Go SDK, reported by Describe.
	SDKVersion = "1.3.0"
)

var (
	typeRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// semverRe is the official Semantic Versioning 2.0.0 expression.
	semverRe = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
)

// ValidComponentType reports whether typ is an acceptable component type name.
func ValidComponentType(typ string) bool { return typeRe.MatchString(typ) }

// ValidSemver reports whether v is a Semantic Versioning 2.0.0 version
// without a leading "v".
func ValidSemver(v string) bool { return semverRe.MatchString(v) }
