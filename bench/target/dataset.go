package target

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Dataset reads the rows of a CSV or JSONL file (chosen by the extension:
// .csv, or .jsonl / .ndjson) and turns each into a POST /v1/predictions body
//
//	{"model_id": modelID, "features": {"tenure_months": 24, "contract": "month-to-month", ...}}
//
// Every body is rendered once, here; Body(seq) returns body seq modulo the
// row count, so the bodies cycle through the file in order.
//
// A CSV file has a header row naming the features. An empty cell is a
// missing feature and is left out of the body. A column whose non-empty
// cells all parse as finite numbers is sent as numbers (the rule the trainer
// uses to type the columns it learns from); any other column as strings.
//
// A JSONL file holds one JSON object of feature name to value per line; a
// value is a number, a string, or null for a missing feature (left out).
// Blank lines are skipped.
//
// Columns or keys named in drop (the label, e.g. "churned") are left out;
// names the file does not have are ignored. Errors name the file, the line
// and, where there is one, the column.
func Dataset(path, modelID string, drop []string) (BodySource, error) {
	if modelID == "" {
		return nil, fmt.Errorf("cannot read dataset %s: the model id is empty; name the route to call, e.g. \"customer-churn\"", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read dataset: %w", err)
	}
	var b bodies
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		b, err = csvBodies(path, data, modelID, drop)
	case ".jsonl", ".ndjson":
		b, err = jsonlBodies(path, data, modelID, drop)
	default:
		return nil, fmt.Errorf("cannot read dataset %s: unknown format %q; name the file .csv (header row) or .jsonl (one JSON object per line)", path, ext)
	}
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: no data rows: the file must hold at least one row to send", path)
	}
	return b, nil
}

func csvBodies(path string, data []byte, modelID string, drop []string) (bodies, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // spreadsheets' UTF-8 byte order mark
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // widths are checked below, with a clearer message
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file: a CSV dataset starts with a header row naming the features", path)
	}
	if err != nil {
		return nil, csvError(path, err)
	}
	seen := make(map[string]int, len(header))
	for j, name := range header {
		if name == "" {
			return nil, fmt.Errorf("%s:1:%d: column %d has an empty name", path, columnOf(cr, j), j+1)
		}
		if k, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s:1:%d: column %q appears twice (columns %d and %d)", path, columnOf(cr, j), name, k+1, j+1)
		}
		seen[name] = j
	}

	var rows [][]string
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(path, err)
		}
		if len(record) != len(header) {
			line, _ := cr.FieldPos(0)
			if len(record) > len(header) {
				_, col := cr.FieldPos(len(header))
				return nil, fmt.Errorf("%s:%d:%d: the row has %d fields but the header has %d: an extra field starts here",
					path, line, col, len(record), len(header))
			}
			return nil, fmt.Errorf("%s:%d: the row has %d fields but the header has %d: column %q (%d) is missing; leave a cell empty, not out, for a missing value",
				path, line, len(record), len(header), header[len(record)], len(record)+1)
		}
		rows = append(rows, record)
	}

	numeric := make([]bool, len(header))
	keep := make([]bool, len(header))
	for j, name := range header {
		keep[j] = !slices.Contains(drop, name)
		numeric[j] = numericColumn(rows, j)
	}
	out := make(bodies, len(rows))
	var p predictionBody
	for i, record := range rows {
		p.start(modelID)
		for j, cell := range record {
			if !keep[j] || cell == "" {
				continue
			}
			p.key(header[j])
			if numeric[j] {
				v, _ := strconv.ParseFloat(cell, 64) // checked by numericColumn
				p.buf = appendJSONNumber(p.buf, v)
			} else {
				p.buf = appendJSONString(p.buf, cell)
			}
		}
		out[i] = p.finish()
	}
	return out, nil
}

// numericColumn reports whether every non-empty cell of column j is a
// finite number. A column with no values at all is never sent, so its type
// does not matter.
func numericColumn(rows [][]string, j int) bool {
	for _, r := range rows {
		if r[j] == "" {
			continue
		}
		v, err := strconv.ParseFloat(r[j], 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return false
		}
	}
	return true
}

// columnOf is the 1-based column where field j of the last record read starts.
func columnOf(cr *csv.Reader, j int) int {
	_, col := cr.FieldPos(j)
	return col
}

// csvError formats encoding/csv's syntax errors as path:line:column.
func csvError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %w", path, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

func jsonlBodies(path string, data []byte, modelID string, drop []string) (bodies, error) {
	var out bodies
	var p predictionBody
	seen := make(map[string]bool)
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		clear(seen)
		if err := jsonlRow(&p, line, modelID, drop, seen); err != nil {
			return nil, fmt.Errorf("%s:%d:%w", path, n, err)
		}
		out = append(out, p.finish())
	}
	return out, nil
}

// jsonlRow renders one JSONL line into p. Its errors start with the column
// and a colon, for the caller to prefix with path:line:.
func jsonlRow(p *predictionBody, line []byte, modelID string, drop []string, seen map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	// at is the 1-based column of the next token: InputOffset is where the
	// last one ended, and separators (spaces, ':' and ',') come before it.
	at := func() int {
		off := int(dec.InputOffset())
		for off < len(line) && strings.IndexByte(" \t\r:,", line[off]) >= 0 {
			off++
		}
		return off + 1
	}
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%d: invalid JSON: %w", se.Offset+1, err) // Offset counts the bytes before the fault
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%d: invalid JSON: the object is not closed", len(line)+1)
		}
		return fmt.Errorf("%d: invalid JSON: %w", at(), err)
	}

	col := at()
	tok, err := dec.Token()
	if err != nil {
		return syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%d: a line must be one JSON object of feature name to value, e.g. {\"tenure_months\": 24}", col)
	}
	p.start(modelID)
	for dec.More() {
		col := at()
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return fmt.Errorf("%d: feature %q appears twice", col, name)
		}
		seen[name] = true
		col = at()
		tok, err = dec.Token()
		if err != nil {
			return syntax(err)
		}
		var value func([]byte) []byte
		switch v := tok.(type) {
		case nil:
			continue // missing
		case string:
			value = func(b []byte) []byte { return appendJSONString(b, v) }
		case json.Number:
			value = func(b []byte) []byte { return append(b, v...) }
		case bool:
			return fmt.Errorf("%d: feature %q is a boolean; a value must be a number, a string or null", col, name)
		default: // '{' or '['
			return fmt.Errorf("%d: feature %q is an %s; a value must be a number, a string or null (each line is one object of feature name to value, not a request body)",
				col, name, map[json.Delim]string{'{': "object", '[': "array"}[v.(json.Delim)])
		}
		if slices.Contains(drop, name) {
			continue
		}
		p.key(name)
		p.buf = value(p.buf)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return syntax(err)
	}
	rest := line[dec.InputOffset():]
	if trimmed := bytes.TrimLeft(rest, " \t\r"); len(trimmed) > 0 {
		return fmt.Errorf("%d: unexpected text after the object; each line holds one object", len(line)-len(trimmed)+1)
	}
	return nil
}
