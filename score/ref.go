package score

import (
	"fmt"
	"strings"

	"github.com/infergate/infergate/registry"
)

// ParseModelRef splits a model reference as the score command takes it:
// NAME (the model's production alias), NAME@ALIAS, NAME@VERSION or
// NAME:VERSION, such as "customer-churn:1.0.0". ref is an alias or a
// version, as registry.Store.Resolve takes it. Errors are errors.Is
// registry.ErrInvalidName and say how to write the reference.
func ParseModelRef(s string) (model, ref string, err error) {
	const forms = `NAME, NAME@ALIAS or NAME:VERSION, such as "customer-churn", "customer-churn@staging" or "customer-churn:1.0.0"`
	if s == "" {
		return "", "", fmt.Errorf("empty model reference: %w: write %s", registry.ErrInvalidName, forms)
	}
	i := strings.IndexAny(s, "@:")
	if i < 0 {
		if err := registry.ValidateModelName(s); err != nil {
			return "", "", err
		}
		return s, registry.ProductionAlias, nil
	}
	model, sep, ref := s[:i], s[i], s[i+1:]
	if err := registry.ValidateModelName(model); err != nil {
		return "", "", fmt.Errorf("model reference %q: %w; write %s", s, err, forms)
	}
	if ref == "" {
		return "", "", fmt.Errorf("model reference %q: %w: nothing follows %q; write %s", s, registry.ErrInvalidName, sep, forms)
	}
	versionErr := registry.ValidateVersion(ref)
	switch {
	case versionErr == nil:
		return model, ref, nil
	case sep == ':' && registry.ValidateAliasName(ref) == nil:
		return "", "", fmt.Errorf("model reference %q: %w: %q is an alias, and \":\" takes a version; write %s@%s", s, registry.ErrInvalidName, ref, model, ref)
	case sep == ':':
		return "", "", fmt.Errorf("model reference %q: %w", s, versionErr)
	}
	if err := registry.ValidateAliasName(ref); err != nil {
		return "", "", fmt.Errorf("model reference %q: %w: %q after \"@\" is neither an alias ([a-z][a-z0-9_-]*, such as \"staging\") nor a version (MAJOR.MINOR.PATCH, such as \"1.0.0\")",
			s, registry.ErrInvalidName, ref)
	}
	return model, ref, nil
}
