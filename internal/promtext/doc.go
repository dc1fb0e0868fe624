// Package promtext holds what every package exporting Prometheus metrics
// must agree on: label escaping and the latency bucket bounds, so that
// histograms from the gateway and the batcher can be compared and summed.
package promtext
