package score

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
)

// input reads the input CSV row by row.
type input struct {
	cr     *csv.Reader
	cols   []column
	idCol  int // index of the id column, or -1
	rows   int // data rows read so far
	header int // number of header fields
}

// column is an input column: the feature it becomes.
type column struct {
	name    []byte
	numeric bool // a numeric feature of the primary model's signature
}

// newInput reads the header and checks it against sig, the signature of
// the model that what names in errors ("model customer-churn 1.0.0").
func newInput(r io.Reader, sig *registry.Signature, what, idColumn string) (*input, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a ragged row is that row's error, not the run's
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: it is empty; it needs a header row naming its columns, such as %s", ErrInput, exampleHeader(sig))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read its header row: %w", ErrInput, err)
	}
	// Spreadsheets often start a UTF-8 CSV with a byte order mark.
	header[0] = strings.TrimPrefix(header[0], "\ufeff")

	in := &input{cr: cr, cols: make([]column, len(header)), idCol: -1, header: len(header)}
	seen := make(map[string]int, len(header))
	for j, name := range header {
		if name == "" {
			return nil, fmt.Errorf("%w: header column %d has no name; name every column (the header row is the first line)", ErrInput, j+1)
		}
		if k, dup := seen[name]; dup {
			return nil, fmt.Errorf("%w: the header names column %q twice (columns %d and %d); rename or drop one", ErrInput, name, k+1, j+1)
		}
		seen[name] = j
		in.cols[j].name = []byte(name)
		if name == idColumn {
			in.idCol = j
		}
	}
	var missing []string
	features := 0
	for i := range sig.Features {
		f := &sig.Features[i]
		j, ok := seen[f.Name]
		switch {
		case ok:
			features++
			in.cols[j].numeric = f.Type == registry.Numeric
		case f.Required:
			missing = append(missing, strconv.Quote(f.Name))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: the header lacks %s, which %s requires; add the column (its features, in the model's order: %s)",
			ErrInput, strings.Join(missing, ", "), what, exampleHeader(sig))
	}
	if features == 0 {
		return nil, fmt.Errorf("%w: the header names none of the features of %s; its columns should include %s", ErrInput, what, exampleHeader(sig))
	}
	if idColumn != "" && in.idCol < 0 {
		return nil, fmt.Errorf("%w: the id column %q is not in the header; name one of its columns: %s", ErrInput, idColumn, strings.Join(header, ","))
	}
	return in, nil
}

// exampleHeader lists sig's features as a header row would.
func exampleHeader(sig *registry.Signature) string {
	names := make([]string, len(sig.Features))
	for i := range sig.Features {
		names[i] = sig.Features[i].Name
	}
	return strings.Join(names, ",")
}

// fill reads up to len(c.rows) rows into c. It returns io.EOF at the end of
// the input, and an error when the input cannot be read any further; a
// row that cannot be parsed is that row's error.
func (in *input) fill(c *chunk) error {
	c.n = 0
	for c.n < len(c.rows) {
		record, err := in.cr.Read()
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		r := &c.rows[c.n]
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			// The reader has skipped the line (or the lines of a broken
			// quoted field): the rows after it still score.
			in.rows++
			r.reset(in.rows)
			r.err = fmt.Sprintf("line %d: cannot parse the row: %v; quote fields that hold commas, quotes or line breaks", pe.Line, pe.Err)
		case err != nil:
			return fmt.Errorf("cannot read the input: %w", err)
		default:
			in.rows++
			r.reset(in.rows)
			in.parse(r, record)
		}
		c.n++
	}
	return nil
}

// parse turns record into r's request, or r's error.
func (in *input) parse(r *row, record []string) {
	if in.idCol >= 0 && in.idCol < len(record) {
		// The record's strings are not reused (only the slice is): keeping
		// one is safe.
		r.id = record[in.idCol]
	}
	if len(record) != in.header {
		line, _ := in.cr.FieldPos(0)
		r.err = fmt.Sprintf("line %d has %d fields but the header has %d; every row needs one field per column (quote fields that hold commas)", line, len(record), in.header)
		return
	}
	// The text cells are copied into r.buf, sized first so that appends
	// never move it: the features refer to it.
	size := 0
	for j, cell := range record {
		if !in.cols[j].numeric {
			size += len(cell)
		}
	}
	if cap(r.buf) < size {
		r.buf = make([]byte, 0, size)
	}
	req := router.AcquireRequest()
	for j, cell := range record {
		col := &in.cols[j]
		if !col.numeric {
			if cell == "" {
				continue // absent, as the trainer reads an empty cell
			}
			start := len(r.buf)
			r.buf = append(r.buf, cell...)
			req.Features.AddString(col.name, r.buf[start:len(r.buf):len(r.buf)])
			continue
		}
		s := strings.TrimSpace(cell)
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			router.ReleaseRequest(req)
			r.err = fmt.Sprintf("column %q: %q is not a number; leave the cell empty when the value is unknown", col.name, cell)
			return
		}
		req.Features.AddNumber(col.name, v)
	}
	r.req = req
}

// row is one input row on its way through the pipeline.
type row struct {
	num int    // 1-based number among the data rows
	id  string // the id column's cell
	// req is the row's request, nil once the row has failed to parse.
	req *router.Request
	// err is the output's error column: empty when the row scored.
	err string
	// buf holds the row's text cells, which req's features refer to.
	buf []byte
}

func (r *row) reset(num int) {
	r.release()
	r.num, r.id, r.err, r.buf = num, "", "", r.buf[:0]
}

func (r *row) release() {
	if r.req != nil {
		router.ReleaseRequest(r.req)
		r.req = nil
	}
}

// rowError is the error column's text for a row's request error.
func rowError(err error) string {
	var ie *router.InputError
	if errors.As(err, &ie) && ie.Missing {
		if name, ok := strings.CutPrefix(ie.Field, "features."); ok {
			return fmt.Sprintf("column %q is empty, and the model requires it", name)
		}
	}
	return err.Error()
}

// appendInt appends n in decimal.
func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

// appendProbability appends p as the gateway's /v1/predictions writes it:
// the shortest text that reads back as the same float32 (models compute in
// float32), so 0.25 is "0.25" and not "0.25000000372529".
func appendProbability(dst []byte, p float64) []byte {
	return strconv.AppendFloat(dst, p, 'f', -1, 32)
}
