package registry

import "errors"

// Errors of the store. They are returned wrapped with the model, version or
// alias they concern; check them with errors.Is.
var (
	// ErrNotFound: the model, version or alias does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: the version is already registered. Versions are immutable;
	// register the model under a new version (NextVersion) instead.
	ErrExists = errors.New("already exists")
	// ErrInvalidName: a model, version or alias name is malformed.
	ErrInvalidName = errors.New("invalid name")
	// ErrChecksum: a model file does not match the SHA-256 its metadata
	// records; the store was modified outside the registry or is damaged.
	ErrChecksum = errors.New("checksum mismatch")
)
