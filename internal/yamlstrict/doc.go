// Package yamlstrict decodes YAML the way every infergate file is read: one
// document, unknown keys refused, and each error naming its line and field
// path (routes[customer-churn].batching.max_batch_size) rather than a Go
// type. It also guards yaml.v3's known panics (a merge key beside a
// mapping key, go-yaml/yaml#895) and turns any other into an error, so a
// hostile file can never take a process down.
package yamlstrict
