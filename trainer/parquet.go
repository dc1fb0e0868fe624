package trainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// MaxParquetCells is the most cells (rows × columns) ReadParquet reads. A
// Parquet file can describe millions of null or repeated cells in a few
// bytes, so its size does not bound the memory it takes; this does (about
// 400 MB of numbers), far above what the trainer's models need. Sample a
// larger table before training on it.
const MaxParquetCells = 50_000_000

// parquetMagic starts and ends every Parquet file; an encrypted footer ends
// in parquetEncryptedMagic instead.
var (
	parquetMagic          = []byte("PAR1")
	parquetEncryptedMagic = []byte("PARE")
)

// ReadParquet reads a Parquet file held in data and records the SHA-256 of
// its bytes. The file's schema decides each column's kind — it is not
// inferred from the values as ReadCSV does: integer, floating-point, decimal
// and boolean (false 0, true 1) columns are numeric; string, enum, UUID and
// unannotated byte-array columns are categorical, even when every value
// looks like a number. A null is missing, as are an empty string and a
// floating-point NaN. Nested, repeated, date, time and timestamp columns are
// refused with an error naming the column, as are files of more than
// MaxParquetCells cells and pages of more than 128 MiB uncompressed or that
// inflate to more than their headers declare. Malformed input is an error,
// never a panic.
func ReadParquet(data []byte) (*Dataset, error) {
	return readParquet(data, MaxParquetCells)
}

// LoadParquet reads the Parquet file at path (ReadParquet) and records path
// as the dataset's Source.
func LoadParquet(path string) (*Dataset, error) {
	return loadFile(path, ReadParquet)
}

// parquetColumn says how one top-level Parquet column becomes a Column.
// Exactly one of number and text is set, as kind says.
type parquetColumn struct {
	name       string
	chunk      int // index of the column's chunk in a row group
	valueBytes int // the fewest bytes a plain-encoded value takes, at least 1
	kind       Kind
	number     func(parquet.Value) (float64, error) // NaN = missing
	text       func(parquet.Value) (string, error)  // "" = missing
}

// readParquet is ReadParquet with a cell limit, so that the fuzz target can
// use a small one and stay fast.
func readParquet(data []byte, maxCells int64) (d *Dataset, err error) {
	// parquet-go panics on some malformed files (it trusts lengths and
	// indexes in the footer and the page headers): a corrupt upload must
	// fail the command, not crash it.
	defer func() {
		if r := recover(); r != nil {
			d = nil
			if e, ok := r.(error); ok {
				err = fmt.Errorf("cannot read Parquet file: it is corrupt or uses a feature this reader lacks: %w", e)
			} else {
				err = fmt.Errorf("cannot read Parquet file: it is corrupt or uses a feature this reader lacks: %v", r)
			}
		}
	}()
	if bytes.HasSuffix(data, parquetEncryptedMagic) {
		return nil, errors.New("cannot read Parquet file: its footer is encrypted; write the training data without Parquet encryption")
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)),
		// Neither index is needed to read every row, and skipping them
		// leaves less of a malformed file to trust.
		parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("cannot read Parquet file: %w (a Parquet file starts and ends with PAR1 and keeps its schema at its end: check that it was copied whole)", err)
	}
	fields := f.Root().Columns()
	if len(fields) == 0 {
		return nil, errors.New("cannot read Parquet file: it has no columns")
	}
	cols := make([]parquetColumn, len(fields))
	seen := make(map[string]bool, len(fields))
	for j, field := range fields {
		c, err := mapParquetColumn(field)
		if err != nil {
			return nil, fmt.Errorf("cannot read Parquet file: %w", err)
		}
		switch {
		case c.name == "":
			return nil, fmt.Errorf("cannot read Parquet file: column %d has an empty name", j+1)
		case seen[c.name]:
			return nil, fmt.Errorf("cannot read Parquet file: column %q appears twice", c.name)
		}
		seen[c.name] = true
		cols[j] = c
	}

	groups := f.RowGroups()
	var rows int64
	for k, g := range groups {
		n := g.NumRows()
		if n < 0 {
			return nil, fmt.Errorf("cannot read Parquet file: row group %d has %d rows", k+1, n)
		}
		// Checked before the sum so it cannot overflow.
		if n > maxCells/int64(len(cols))-rows {
			return nil, fmt.Errorf("cannot read Parquet file: more than %d cells (rows × columns; %d columns), the most the trainer reads: sample the rows or drop columns first", maxCells, len(cols))
		}
		rows += n
	}

	if err := checkParquetPages(data, f.Metadata(), cols); err != nil {
		return nil, fmt.Errorf("cannot read Parquet file: %w", err)
	}

	d = &Dataset{Columns: make([]*Column, len(cols))}
	for j, c := range cols {
		col := &Column{Name: c.name, Kind: c.kind}
		// The row counts are the footer's claim: reserve no more than
		// the file could hold without run-length encoding (a bit per cell
		// at least), and let append grow the rest.
		reserve := min(rows, 8*int64(len(data)))
		if c.kind == Categorical {
			col.Strings = make([]string, 0, reserve)
		} else {
			col.Numbers = make([]float64, 0, reserve)
		}
		d.Columns[j] = col
	}
	buf := make([]parquet.Value, 1024)
	for k, g := range groups {
		chunks := g.ColumnChunks()
		for j, c := range cols {
			if c.chunk >= len(chunks) {
				return nil, fmt.Errorf("cannot read Parquet file: row group %d has no data for column %q", k+1, c.name)
			}
			if err := readParquetChunk(chunks[c.chunk], g.NumRows(), &c, d.Columns[j], buf); err != nil {
				return nil, fmt.Errorf("cannot read Parquet file: row group %d: %w", k+1, err)
			}
		}
	}
	sum := sha256.Sum256(data)
	d.SHA256 = hex.EncodeToString(sum[:])
	return d, nil
}

// readParquetChunk appends the values of one column chunk, which must hold
// exactly want rows, to col.
func readParquetChunk(chunk parquet.ColumnChunk, want int64, c *parquetColumn, col *Column, buf []parquet.Value) error {
	pages := chunk.Pages()
	defer func() { _ = pages.Close() }()
	start := int64(col.Len())
	got := int64(0)
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("column %q: %w", c.name, err)
		}
		err = readParquetPage(page, want, start, &got, c, col, buf)
		parquet.Release(page)
		if err != nil {
			return err
		}
	}
	if got != want {
		return fmt.Errorf("column %q has %d values, want %d, one per row", c.name, got, want)
	}
	return nil
}

func readParquetPage(page parquet.Page, want, start int64, got *int64, c *parquetColumn, col *Column, buf []parquet.Value) error {
	values := page.Values()
	for {
		n, err := values.ReadValues(buf)
		if *got+int64(n) > want {
			return fmt.Errorf("column %q has more values than its %d rows", c.name, want)
		}
		for _, v := range buf[:n] {
			row := start + *got + 1
			switch {
			case v.IsNull() && c.kind == Categorical:
				col.Strings = append(col.Strings, "")
			case v.IsNull():
				col.Numbers = append(col.Numbers, math.NaN())
			case c.kind == Categorical:
				s, err := c.text(v)
				if err != nil {
					return fmt.Errorf("column %q, row %d: %w", c.name, row, err)
				}
				col.Strings = append(col.Strings, s)
			default:
				x, err := c.number(v)
				if err != nil {
					return fmt.Errorf("column %q, row %d: %w", c.name, row, err)
				}
				col.Numbers = append(col.Numbers, x)
			}
			*got++
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("column %q: %w", c.name, err)
		}
		if n == 0 {
			// A reader that neither reads nor ends would loop forever.
			return fmt.Errorf("column %q: a page returned no values and did not end", c.name)
		}
	}
}

// mapParquetColumn decides how a top-level Parquet column is read, from its
// schema alone, or says why it cannot be.
func mapParquetColumn(field *parquet.Column) (parquetColumn, error) {
	name := field.Name()
	c := parquetColumn{name: name, chunk: field.Index(), valueBytes: 1, kind: Numeric}
	refuse := func(what string) (parquetColumn, error) {
		return c, fmt.Errorf("column %q is %s, which the trainer cannot read: convert column %q to a number or a string", name, what, name)
	}
	if field.Repeated() {
		return refuse("repeated (a list)")
	}
	if !field.Leaf() {
		what := ""
		if lt := field.Type().LogicalType(); lt != nil {
			switch lt.Value.(type) {
			case *format.ListType:
				what = "a list"
			case *format.MapType:
				what = "a map"
			case *format.VariantType:
				what = "a variant"
			}
		}
		if what == "" {
			return c, fmt.Errorf("column %q is a struct (a group of columns), which the trainer cannot read: flatten it into top-level columns of numbers or strings", name)
		}
		return refuse(what)
	}
	typ := field.Type()
	kind := typ.Kind()
	switch kind {
	case parquet.Int32, parquet.Float, parquet.ByteArray: // a byte array has a 4-byte length
		c.valueBytes = 4
	case parquet.Int64, parquet.Double:
		c.valueBytes = 8
	case parquet.Int96:
		c.valueBytes = 12
	case parquet.FixedLenByteArray:
		c.valueBytes = max(typ.Length(), 1)
	}
	if lt := typ.LogicalType(); lt != nil && lt.Value != nil {
		switch lt := lt.Value.(type) {
		case *format.IntType:
			if lt.IsSigned {
				break // the physical type says it all
			}
			switch kind {
			case parquet.Int32:
				c.number = checked(parquet.Int32, func(v parquet.Value) (float64, error) { return float64(v.Uint32()), nil })
			case parquet.Int64:
				c.number = checked(parquet.Int64, func(v parquet.Value) (float64, error) { return float64(v.Uint64()), nil })
			default:
				return refuse("an unsigned integer of physical type " + kind.String())
			}
			return c, nil
		case *format.DecimalType:
			return mapParquetDecimal(c, kind, lt.Scale, refuse)
		case *format.StringType, *format.EnumType:
			if kind != parquet.ByteArray {
				return refuse("a string of physical type " + kind.String())
			}
			c.kind, c.text = Categorical, byteArrayText
			return c, nil
		case *format.UUIDType:
			if kind != parquet.FixedLenByteArray || typ.Length() != 16 {
				return refuse("a UUID that is not 16 bytes")
			}
			c.kind, c.text = Categorical, uuidText
			return c, nil
		case *format.NullType:
			// Every value is null: an all-missing numeric column, like a
			// CSV column of empty cells.
			c.number = func(parquet.Value) (float64, error) {
				return 0, errors.New("a value in a column of logical type NULL")
			}
			return c, nil
		case *format.DateType:
			return refuse("a date")
		case *format.TimeType:
			return refuse("a time of day")
		case *format.TimestampType:
			return refuse("a timestamp")
		default:
			return refuse("of logical type " + lt.String())
		}
	}
	switch kind {
	case parquet.Boolean:
		c.number = checked(kind, func(v parquet.Value) (float64, error) {
			if v.Boolean() {
				return 1, nil
			}
			return 0, nil
		})
	case parquet.Int32:
		c.number = checked(kind, func(v parquet.Value) (float64, error) { return float64(v.Int32()), nil })
	case parquet.Int64:
		c.number = checked(kind, func(v parquet.Value) (float64, error) { return float64(v.Int64()), nil })
	case parquet.Float:
		c.number = checked(kind, func(v parquet.Value) (float64, error) { return finite(float64(v.Float())) })
	case parquet.Double:
		c.number = checked(kind, func(v parquet.Value) (float64, error) { return finite(v.Double()) })
	case parquet.ByteArray:
		// Old writers store strings without the STRING annotation.
		c.kind, c.text = Categorical, byteArrayText
	case parquet.Int96:
		return refuse("an INT96 (a legacy timestamp)")
	default:
		return refuse("of physical type " + kind.String())
	}
	return c, nil
}

// checked guards a conversion with the value's physical kind: reading a
// value as another kind than it holds would misread its bits.
func checked(kind parquet.Kind, conv func(parquet.Value) (float64, error)) func(parquet.Value) (float64, error) {
	return func(v parquet.Value) (float64, error) {
		if v.Kind() != kind {
			return 0, fmt.Errorf("a %s value in a %s column", v.Kind(), kind)
		}
		return conv(v)
	}
}

// finite keeps a floating-point value: NaN is missing, as pandas writes
// missing numbers; an infinity is refused, as the trainer cannot scale it.
func finite(x float64) (float64, error) {
	if math.IsInf(x, 0) {
		return 0, fmt.Errorf("%v is not a finite number: replace it with a number, or a null for missing", x)
	}
	return x, nil
}

func byteArrayText(v parquet.Value) (string, error) {
	if v.Kind() != parquet.ByteArray {
		return "", fmt.Errorf("a %s value in a %s column", v.Kind(), parquet.ByteArray)
	}
	return string(v.ByteArray()), nil
}

// uuidText writes a UUID in its canonical form, as a CSV export spells it.
func uuidText(v parquet.Value) (string, error) {
	b := v.ByteArray()
	if v.Kind() != parquet.FixedLenByteArray || len(b) != 16 {
		return "", fmt.Errorf("a %d-byte %s value in a UUID column", len(b), v.Kind())
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// mapParquetDecimal reads a DECIMAL column as numbers. The unscaled integer
// and the scale are written as text ("12345e-2") and parsed, which rounds
// to the nearest float64 exactly as ReadCSV rounds "123.45".
func mapParquetDecimal(c parquetColumn, kind parquet.Kind, scale int32, refuse func(string) (parquetColumn, error)) (parquetColumn, error) {
	exponent := "e" + strconv.FormatInt(-int64(scale), 10)
	parse := func(unscaled string) (float64, error) {
		x, err := strconv.ParseFloat(unscaled+exponent, 64)
		if err != nil || math.IsInf(x, 0) {
			return 0, fmt.Errorf("decimal %s%s is out of the range of a float64", unscaled, exponent)
		}
		return x, nil
	}
	switch kind {
	case parquet.Int32:
		c.number = checked(kind, func(v parquet.Value) (float64, error) { return parse(strconv.FormatInt(int64(v.Int32()), 10)) })
	case parquet.Int64:
		c.number = checked(kind, func(v parquet.Value) (float64, error) { return parse(strconv.FormatInt(v.Int64(), 10)) })
	case parquet.ByteArray, parquet.FixedLenByteArray:
		c.number = checked(kind, func(v parquet.Value) (float64, error) {
			b := v.ByteArray()
			if len(b) > maxDecimalBytes {
				return 0, fmt.Errorf("a %d-byte decimal, wider than the %d bytes this reader takes", len(b), maxDecimalBytes)
			}
			return parse(twosComplement(b).String())
		})
	default:
		return refuse("a decimal of physical type " + kind.String())
	}
	return c, nil
}

// maxDecimalBytes bounds a byte-array decimal (77 digits, twice the widest
// decimal of common databases): converting a longer one to text would take
// time quadratic in its length for a value no float64 holds anyway.
const maxDecimalBytes = 32

// twosComplement decodes a big-endian two's complement integer, the form of
// a byte-array decimal.
func twosComplement(b []byte) *big.Int {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return x
}

// maxParquetPageBytes bounds the uncompressed size of one page. Writers
// make pages of about 1 MiB (pyarrow, Spark, DuckDB); parquet-go allocates a
// page's declared size before it reads it, so without a bound a few bytes
// of header would make it allocate up to 2 GiB.
const maxParquetPageBytes = 128 << 20

// checkParquetPages walks the page headers of every column chunk the way
// parquet-go reads them and refuses a page before parquet-go allocates for
// it: one larger than its chunk or than maxParquetPageBytes, one that holds
// more values than its row group has rows (or a dictionary more values than
// its bytes can hold), and one that inflates to more than its header
// declares, a decompression bomb. The last takes decompressing each page an
// extra time, without keeping the output: a compressed page cannot say
// what it holds without being read, and parquet-go's own decoders grow
// their output as far as the data goes (its LZ4 decoder, on a corrupt
// page, doubles its buffer until memory runs out). Anything else malformed
// is left to parquet-go to report.
func checkParquetPages(data []byte, md *format.FileMetaData, cols []parquetColumn) error {
	var in inflater
	defer in.close()
	for k := range md.RowGroups {
		rg := &md.RowGroups[k]
		for _, c := range cols {
			if c.chunk >= len(rg.Columns) || c.chunk >= len(md.RowGroups[0].Columns) {
				return fmt.Errorf("row group %d has no data for column %q", k+1, c.name)
			}
			meta := &rg.Columns[c.chunk].MetaData
			// parquet-go decompresses every row group's pages of a column
			// with the codec of the first row group's chunk.
			codec := md.RowGroups[0].Columns[c.chunk].MetaData.Codec
			start := meta.DataPageOffset
			if meta.DictionaryPageOffset != 0 {
				start = meta.DictionaryPageOffset
			}
			size := meta.TotalCompressedSize
			if start < 0 || size < 0 || start > int64(len(data)) {
				return fmt.Errorf("row group %d, column %q: its pages are outside the file", k+1, c.name)
			}
			end := start + min(size, int64(len(data))-start)
			for pos, page := start, 1; pos < end; page++ {
				where := fmt.Sprintf("row group %d, column %q, page %d", k+1, c.name, page)
				r := new(thrift.CompactProtocol).NewReaderFromBytes(data[pos:end])
				var h format.PageHeader
				if err := thrift.NewDecoder(r).Decode(&h); err != nil {
					return fmt.Errorf("%s: bad page header: %w", where, err)
				}
				pos += int64(r.BytesRead())
				if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > end-pos {
					return fmt.Errorf("%s: %d bytes, more than its column chunk holds", where, h.CompressedPageSize)
				}
				body := data[pos : pos+int64(h.CompressedPageSize)]
				pos += int64(h.CompressedPageSize)
				if h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxParquetPageBytes {
					return fmt.Errorf("%s: %d bytes uncompressed, more than the %d this reader takes in a page: write the file with smaller pages", where, h.UncompressedPageSize, maxParquetPageBytes)
				}
				compressed := codec != format.Uncompressed
				var values int64
				switch {
				case h.DataPageHeader.Valid:
					values = int64(h.DataPageHeader.V.NumValues)
				case h.DataPageHeaderV2.Valid:
					v2 := &h.DataPageHeaderV2.V
					values = max(int64(v2.NumValues), int64(v2.NumRows))
					levels := int64(v2.RepetitionLevelsByteLength) + int64(v2.DefinitionLevelsByteLength)
					if levels > int64(len(body)) {
						compressed = false // parquet-go refuses the page before it decompresses
					} else {
						body = body[levels:]
						compressed = compressed && (!v2.IsCompressed.Valid || v2.IsCompressed.V)
					}
				case h.DictionaryPageHeader.Valid:
					held := int64(h.UncompressedPageSize)
					if !compressed {
						held = int64(len(body))
					}
					if n := int64(h.DictionaryPageHeader.V.NumValues); n > held/int64(c.valueBytes) {
						return fmt.Errorf("%s: a dictionary of %d values in %d bytes", where, n, held)
					}
				}
				if values > rg.NumRows {
					return fmt.Errorf("%s: %d values in a row group of %d rows", where, values, rg.NumRows)
				}
				if compressed {
					if err := in.check(codec, body, int64(h.UncompressedPageSize)); err != nil {
						return fmt.Errorf("%s: %w", where, err)
					}
				}
			}
		}
	}
	return nil
}

// inflater decompresses pages to measure them, reusing its decoders.
type inflater struct {
	gzip   *gzip.Reader
	brotli *brotli.Reader
	zstd   *zstd.Decoder
	lz4    []byte
}

// check returns an error if body, compressed with codec, inflates to more
// than size bytes. A page that is corrupt otherwise passes: parquet-go
// reports it, with no more than size bytes decoded.
func (in *inflater) check(codec format.CompressionCodec, body []byte, size int64) error {
	tooBig := func() error {
		return fmt.Errorf("it inflates to more than the %d bytes its header declares: the file is corrupt", size)
	}
	var r io.Reader
	switch codec {
	case format.Snappy:
		// Snappy states its length first, and the decoder allocates it.
		if n, err := snappy.DecodedLen(body); err == nil && int64(n) > size {
			return tooBig()
		}
		return nil
	case format.Lz4Raw:
		// parquet-go retries a failing LZ4 block with twice the buffer, so
		// a corrupt one must not reach it.
		if int64(cap(in.lz4)) < size {
			in.lz4 = make([]byte, size)
		}
		if _, err := lz4.UncompressBlock(body, in.lz4[:size]); err != nil {
			return fmt.Errorf("a corrupt LZ4 block, or one larger than the %d bytes its header declares: %w", size, err)
		}
		return nil
	case format.Gzip:
		if in.gzip == nil {
			in.gzip = new(gzip.Reader)
		}
		if in.gzip.Reset(bytes.NewReader(body)) != nil {
			return nil
		}
		r = in.gzip
	case format.Brotli:
		if in.brotli == nil {
			in.brotli = brotli.NewReader(nil)
		}
		if in.brotli.Reset(bytes.NewReader(body)) != nil {
			return nil
		}
		r = in.brotli
	case format.Zstd:
		if in.zstd == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxMemory(maxParquetPageBytes))
			if err != nil {
				return fmt.Errorf("BUG: cannot make a zstd decoder: %w", err)
			}
			in.zstd = d
		}
		if err := in.zstd.Reset(bytes.NewReader(body)); err != nil {
			return nil
		}
		r = in.zstd
	default:
		return nil // uncompressed, or a codec parquet-go refuses
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, size+1))
	if n > size || errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return tooBig()
	}
	return nil
}

func (in *inflater) close() {
	if in.zstd != nil {
		in.zstd.Close()
	}
}
