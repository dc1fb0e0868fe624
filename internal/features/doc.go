// Package features holds a request's raw feature values as the client sent
// them, before any model encodes them.
//
// The gateway parses a request's features once into a Set; the router then
// hands the same Set to every target that may serve the request: each model
// version encodes it with its own signature, rules read values by name, and a
// remote target writes them back out as JSON. A Set is pooled per request and
// refers to the request body's bytes; Clone makes an owned copy for work that
// outlives the request (shadow mirroring).
package features
