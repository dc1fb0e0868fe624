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

// Errors of alias moves and deletion.
var (
	// ErrGateRefused: the promotion gate found the candidate's held-out
	// metrics worse than those of the version the alias names, or could not
	// compare them. Promote with Override and a Reason to record an
	// exception.
	ErrGateRefused = errors.New("promotion gate refused")
	// ErrInUse: the version is named by an alias and cannot be deleted;
	// move or delete the alias first.
	ErrInUse = errors.New("in use by an alias")
	// ErrNoHistory: the alias log holds no earlier version to roll back to.
	ErrNoHistory = errors.New("no earlier version to roll back to")
)
