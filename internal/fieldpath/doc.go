// Package fieldpath names the items of configuration lists in error paths
// (routes[churn].targets[backup].url), so that every package's Validate
// writes paths alike and each problem stays on one line: an item whose name
// could break the line or the brackets is named by its index instead.
package fieldpath
