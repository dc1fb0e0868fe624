// Package importrules holds no code: its test checks that the packages
// import one another only as DESIGN.md's table says (shared/DESIGN.md,
// "Packages (top level) and who may import whom"). A new arrow changes the
// page first, then the table in imports_test.go.
package importrules
