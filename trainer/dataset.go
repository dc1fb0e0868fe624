package trainer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Kind is the kind of a dataset column.
type Kind int

// Column kinds.
const (
	// Numeric columns hold float64 values; NaN marks a missing cell.
	Numeric Kind = iota
	// Categorical columns hold strings; "" marks a missing cell.
	Categorical
)

func (k Kind) String() string {
	if k == Categorical {
		return "categorical"
	}
	return "numeric"
}

// Column is one column of a Dataset. Exactly one of Numbers and Strings is
// used, as Kind says.
type Column struct {
	Name    string
	Kind    Kind
	Numbers []float64 // Numeric: NaN = missing
	Strings []string  // Categorical: "" = missing
}

// Missing reports whether the cell in row i is missing.
func (c *Column) Missing(i int) bool {
	if c.Kind == Categorical {
		return c.Strings[i] == ""
	}
	return math.IsNaN(c.Numbers[i])
}

// Len is the number of rows of the column.
func (c *Column) Len() int {
	if c.Kind == Categorical {
		return len(c.Strings)
	}
	return len(c.Numbers)
}

// Dataset is a table of named columns of equal length.
type Dataset struct {
	Columns []*Column
	// Source names where the data came from (a file path), for lineage.
	Source string
	// SHA256 is the hex SHA-256 of the bytes the data was read from, when it
	// was read from bytes (ReadCSV, ReadParquet and the Load functions);
	// empty otherwise.
	SHA256 string
}

// Rows is the number of rows.
func (d *Dataset) Rows() int {
	if len(d.Columns) == 0 {
		return 0
	}
	return d.Columns[0].Len()
}

// Column returns the named column, or nil.
func (d *Dataset) Column(name string) *Column {
	for _, c := range d.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Validate reports columns of unequal length, duplicate or empty names.
func (d *Dataset) Validate() error {
	seen := make(map[string]bool, len(d.Columns))
	for i, c := range d.Columns {
		switch {
		case c.Name == "":
			return fmt.Errorf("dataset column %d: empty name", i+1)
		case seen[c.Name]:
			return fmt.Errorf("dataset column %d: duplicate column %q", i+1, c.Name)
		case c.Len() != d.Rows():
			return fmt.Errorf("dataset column %q: %d rows, want %d like column %q", c.Name, c.Len(), d.Rows(), d.Columns[0].Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// WriteCSV writes d as CSV with a header row. Missing cells are empty;
// numbers are written in the shortest form that reads back exactly.
func WriteCSV(w io.Writer, d *Dataset) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("cannot write CSV: %w", err)
	}
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	record := make([]string, len(d.Columns))
	for j, c := range d.Columns {
		record[j] = c.Name
	}
	if err := cw.Write(record); err != nil {
		return fmt.Errorf("cannot write CSV header: %w", err)
	}
	for i := range d.Rows() {
		for j, c := range d.Columns {
			switch {
			case c.Missing(i):
				record[j] = ""
			case c.Kind == Categorical:
				record[j] = c.Strings[i]
			default:
				record[j] = strconv.FormatFloat(c.Numbers[i], 'f', -1, 64)
			}
		}
		if len(record) == 1 && record[0] == "" {
			// A lone empty field would be a blank line, which readers
			// skip: quote it so the row survives.
			cw.Flush()
			if _, err := bw.WriteString("\"\"\n"); err != nil {
				return fmt.Errorf("cannot write CSV row %d: %w", i+1, err)
			}
			continue
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("cannot write CSV row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("cannot write CSV: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cannot write CSV: %w", err)
	}
	return nil
}

// ReadCSV reads a CSV table with a header row and records the SHA-256 of
// the bytes read. A leading UTF-8 byte order mark is ignored. An empty cell
// is missing. A column whose non-empty cells
// all parse as finite numbers is numeric; any other column is categorical.
// Errors name the line and the column.
func ReadCSV(r io.Reader) (*Dataset, error) {
	h := sha256.New()
	cr := csv.NewReader(io.TeeReader(r, h))
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("cannot read CSV: no header row (the input is empty)")
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read CSV header: %w", err)
	}
	// Spreadsheets often start a UTF-8 CSV with a byte order mark.
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	seen := make(map[string]int, len(header))
	for j, name := range header {
		if name == "" {
			return nil, fmt.Errorf("cannot read CSV: line 1, column %d: empty column name", j+1)
		}
		if k, dup := seen[name]; dup {
			return nil, fmt.Errorf("cannot read CSV: line 1: column %q appears twice (columns %d and %d)", name, k+1, j+1)
		}
		seen[name] = j
	}
	cells := make([][]string, len(header))
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// csv.ParseError names the line and column already.
			return nil, fmt.Errorf("cannot read CSV: %w", err)
		}
		for j := range record {
			cells[j] = append(cells[j], record[j])
		}
	}
	// Consume the rest so the hash covers all the input.
	if _, err := io.Copy(io.Discard, io.TeeReader(r, h)); err != nil {
		return nil, fmt.Errorf("cannot read CSV: %w", err)
	}
	d := &Dataset{Columns: make([]*Column, len(header)), SHA256: hex.EncodeToString(h.Sum(nil))}
	for j, name := range header {
		d.Columns[j] = inferColumn(name, cells[j])
	}
	return d, nil
}

// LoadCSV reads the CSV file at path (ReadCSV) and records path as the
// dataset's Source.
func LoadCSV(path string) (*Dataset, error) {
	return loadFile(path, readCSVBytes)
}

// LoadDataset reads the file at path as Parquet when it starts with
// Parquet's magic bytes "PAR1" (or "PARE", encrypted) with ReadParquet,
// else as CSV with ReadCSV, and records path as the dataset's Source. The
// bytes decide, not the file name, so that --data takes either format under
// any name.
func LoadDataset(path string) (*Dataset, error) {
	return loadFile(path, func(data []byte) (*Dataset, error) {
		if bytes.HasPrefix(data, parquetMagic) || bytes.HasPrefix(data, parquetEncryptedMagic) {
			return ReadParquet(data)
		}
		return readCSVBytes(data)
	})
}

func readCSVBytes(data []byte) (*Dataset, error) {
	return ReadCSV(bytes.NewReader(data))
}

func loadFile(path string, read func([]byte) (*Dataset, error)) (*Dataset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load dataset: %w", err)
	}
	d, err := read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d.Source = path
	return d, nil
}

func inferColumn(name string, cells []string) *Column {
	numbers := make([]float64, len(cells))
	for i, s := range cells {
		if s == "" {
			numbers[i] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return &Column{Name: name, Kind: Categorical, Strings: cells}
		}
		numbers[i] = v
	}
	return &Column{Name: name, Kind: Numeric, Numbers: numbers}
}

// rowsSHA256 returns the hex SHA-256 of the given rows of d written by
// WriteCSV: the header, then the rows in ascending order of their index in
// d, every column included. Hashing values rather than the source file's
// lines makes the hash canonical — it does not depend on how the file
// spelled a number — and sorting makes it name the set of rows, not the
// order a split drew them in, which no metric depends on. Anyone can
// reproduce it by writing those rows with WriteCSV and hashing the output.
func rowsSHA256(d *Dataset, rows []int) (string, error) {
	sorted := slices.Clone(rows)
	slices.Sort(sorted)
	sub := &Dataset{Columns: make([]*Column, len(d.Columns))}
	for j, c := range d.Columns {
		s := &Column{Name: c.Name, Kind: c.Kind}
		for _, r := range sorted {
			if c.Kind == Categorical {
				s.Strings = append(s.Strings, c.Strings[r])
			} else {
				s.Numbers = append(s.Numbers, c.Numbers[r])
			}
		}
		sub.Columns[j] = s
	}
	h := sha256.New()
	if err := WriteCSV(h, sub); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
