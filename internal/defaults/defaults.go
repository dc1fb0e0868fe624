// Package defaults applies documented default values to configuration
// fields. Every package's Config.ApplyDefaults is a list of Set calls, one
// per field, so a field's default is one line beside its neighbours'.
package defaults

// Set sets *field to def when it holds its zero value. A field whose zero
// value is meaningful (0s delay, say) has that zero as its default, or is a
// pointer.
func Set[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}
