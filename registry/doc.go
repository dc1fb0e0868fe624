// Package registry is infergate's model store: model versions, their
// metadata (signature, metrics, lineage, tags), and aliases such as
// "production" and "staging" that the router resolves to versions, with a
// history of every alias move, gated promotion and rollback.
//
// # Layout
//
// A Store keeps everything under one root directory:
//
//	<root>/<model>/<version>/model.onnx     the ONNX file
//	<root>/<model>/<version>/metadata.json  Version: signature, metrics, lineage, tags, sha256
//	<root>/<model>/<version>/<file>         artifacts (the drift profile) and external data, each hashed
//	<root>/<model>/aliases.json             {"production": "1.0.0", "staging": "1.1.0"}
//	<root>/<model>/aliases.log              one AliasMove per line, oldest first
//
// Model names match [a-z0-9][a-z0-9._-]*, versions are MAJOR.MINOR.PATCH
// ("1.0.0", no leading zeros) and aliases match [a-z][a-z0-9_-]*; a
// malformed name fails with ErrInvalidName. Because versions start with a
// digit and aliases with a letter, Resolve tells them apart without a
// lookup: a ref is a version, an alias, or "" for "production". The alias
// "latest", unless set explicitly, names the highest version. Names that
// start with "." are temporary (".tmp-…") and never listed.
//
// Versions are immutable: registering an existing version fails with
// ErrExists, and NextVersion proposes the next free one. Only their Tags
// change afterwards (SetTags). A Signature (signature.go, tensors.go)
// travels with every version: the model's inputs and outputs (names,
// element types, shapes with -1 for dynamic dimensions), what each output
// means (probabilities with labels or thresholds, label, score, embedding,
// raw), whether requests batch, and, for a tabular model, how request
// features become its input tensor (Encoder, Row). The trainer writes it
// and the gateway applies it, so training and serving encode features with
// the same code.
//
// # Bringing a model
//
// Import (import.go) registers an ONNX file a user brings, or a folder
// holding it and the files its tensors keep their data in (external data,
// found by reading the model's protobuf). A CheckFunc, which the composition
// root builds over ONNX Runtime, loads it and runs it once at its declared
// shape (dynamic dimensions at 1, or as the signature file narrows them); a
// file that does not load or run is ErrInvalidModel, saying what failed. The
// user's SignatureFile (sigfile.go, YAML, strict) says what outputs mean and
// narrows shapes; every name it uses must be the model's. RegisterFiles
// copies the files as streams, hashing them on the way, so a model of any
// size registers in bounded memory, and Verify checks every file of a
// version against its hashes before the router serves it. A model's first
// version gets the production alias unless the request names another. Lineage records the training data (path and SHA-256), the held-out
// data the metrics were measured on, the parameters, the trainer and code
// versions and the parent version. Metadata written before a field existed
// still loads: new fields are optional.
//
// # Aliases, promotion and rollback
//
// Every alias change — SetAlias, DeleteAlias, Promote, Rollback — appends an
// AliasMove {time, alias, from, to, op, by, reason, gate} to aliases.log.
// Promote moves an alias (default production) to a version; with a gate it
// first requires the candidate's held-out "auc" and "log_loss" to be at
// least as good as those of the version the alias names, compared only when
// both versions name the same held-out data (Lineage.HeldOutID). When the
// gate refuses (ErrGateRefused, with the verdict), an override with a reason
// promotes anyway and the log records both. Rollback undoes the alias's
// latest move that no later rollback undid, so repeated rollbacks walk back
// through the history; ErrNoHistory when there is nothing to undo. Delete
// removes a version unless an alias names it (ErrInUse).
//
// # Atomicity and crashes
//
// Nothing half-written is ever visible, and a process killed at any point
// leaves a store that reads as consistent (TestCrashSafety kills writers at
// random points to check it):
//
//   - Register writes a version's model file and metadata into a temporary
//     directory under <root>/<model>/ (".tmp-<version>-…"), syncs them, and
//     renames the directory to <version>: a listed version always has both
//     files, and its model matches its checksum. Renaming a directory onto
//     an existing one fails, so among concurrent registrations of one
//     version — from goroutines or processes — exactly one wins and the
//     others get ErrExists.
//   - aliases.json and metadata.json (for tags) are replaced by writing a
//     temporary file, syncing it and renaming it over the old one: readers
//     see the old or the new file, never a mix.
//   - An alias update replaces aliases.json first and appends to the log
//     second. A crash between the two leaves a move the log lacks, never a
//     logged move that did not happen; History reports the missing move as
//     OpRecover and the next alias update writes it down.
//   - The log is appended one whole line per write and synced. A crash in
//     the middle of an append may leave a last line without its newline:
//     readers ignore bytes after the last newline, and the next append
//     truncates them first. A complete line that does not decode is an
//     error: the log was damaged or edited.
//   - Delete renames the version's directory to ".tmp-del-…" and then
//     removes it, so a version is listed whole or not at all.
//
// A crash leaves at worst temporary entries, which listings ignore; Delete
// removes the ".tmp-del-" ones it finds, and RemoveStale removes any once it
// is old enough not to belong to a write in progress.
//
// # Concurrency model
//
// A Store holds no cached state: every call reads the file system, so
// several processes (a trainer registering, a gateway resolving, the CLI
// promoting) may share one root. Updates that read before they write —
// alias moves with their log, tags, deletion (which checks the aliases) —
// are serialised within a Store by one mutex. Two processes updating the
// same model at the same moment are last-writer-wins on aliases.json and
// metadata.json; their log lines are each whole.
//
// # Errors
//
// ErrNotFound (unknown model, version or alias), ErrExists, ErrInvalidName,
// ErrChecksum, ErrGateRefused, ErrInUse and ErrNoHistory are returned
// wrapped with the names involved; test them with errors.Is.
// ErrMissingFeature comes from encoding a request.
//
// # What comes later
//
//   - Lineage queries: versions trained from the same data, a version's
//     parents.
//   - Watch: a notification when aliases or versions change, so the gateway
//     reloads routes without polling.
//   - A lock across processes, for several writers of one model.
//   - Remote back ends (object storage) behind the same methods.
package registry
