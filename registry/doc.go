// Package registry is infergate's model store: model versions, their
// metadata (signature, metrics, lineage), and aliases such as "production"
// and "staging" that the router resolves to versions.
//
// # Layout
//
// A Store keeps everything under one root directory:
//
//	<root>/<model>/<version>/model.onnx     the ONNX file
//	<root>/<model>/<version>/metadata.json  Version: signature, metrics, lineage, sha256
//	<root>/<model>/aliases.json             {"production": "1.0.0", "staging": "1.1.0"}
//
// Model names match [a-z0-9][a-z0-9._-]*, versions are MAJOR.MINOR.PATCH
// ("1.0.0", no leading zeros) and aliases match [a-z][a-z0-9_-]*; a
// malformed name fails with ErrInvalidName. Because versions start with a
// digit and aliases with a letter, Resolve tells them apart without a
// lookup: a ref is a version, an alias, or "" for "production". The alias
// "latest", unless set explicitly, names the highest version.
//
// Versions are immutable: registering an existing version fails with
// ErrExists, and NextVersion proposes the next free one. A Signature
// (signature.go) travels with every version and says how request features
// become the input tensor (Encoder, Row) and how the output becomes a
// response; the trainer writes it and the gateway applies it, so training
// and serving encode features with the same code.
//
// # Atomicity
//
// Nothing half-written is ever visible. Register writes a version's files
// into a temporary directory under <root>/<model>/ (named ".tmp-…"), syncs
// them, and renames the directory to <version>; a crash leaves at worst a
// temporary directory, which listings ignore. Renaming a directory onto an
// existing one fails, so among concurrent registrations of one version —
// from goroutines or processes — exactly one wins and the others get
// ErrExists. The alias file is replaced by writing a temporary file, syncing
// it and renaming it over aliases.json, so readers see the old or the new
// aliases, never a mix.
//
// # Concurrency model
//
// A Store holds no cached state: every call reads the file system, so
// several processes (a trainer registering, a gateway resolving) may share
// one root. Alias updates are read-modify-write of aliases.json, serialised
// within a Store by a mutex; two processes updating aliases of the same model
// at the same moment are last-writer-wins on the whole file.
//
// # Errors
//
// ErrNotFound (unknown model, version or alias), ErrExists, ErrInvalidName
// and ErrChecksum are returned wrapped with the names involved; test them
// with errors.Is. ErrMissingFeature comes from encoding a request.
//
// # What comes later
//
//   - Stages with a history (who promoted what, when) alongside aliases, and
//     rollback to the previous production version.
//   - Lineage queries: versions trained from the same data, a version's
//     parents.
//   - Watch: a notification when aliases or versions change, so the gateway
//     reloads routes without polling; and removal of stale temporary
//     directories left by crashes.
//   - Remote back ends (object storage) behind the same methods.
package registry
