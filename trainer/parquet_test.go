package trainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// parquetBytes writes rows with parquet-go's own writer, the way a program
// that exports training data would.
func parquetBytes[T any](t testing.TB, rows []T, options ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, options...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameDataset fails unless got has want's columns, kinds and cells, a
// missing cell matching a missing cell.
func sameDataset(t *testing.T, got, want *Dataset) {
	t.Helper()
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(got.Columns) != len(want.Columns) || got.Rows() != want.Rows() {
		t.Fatalf("%d columns × %d rows, want %d × %d", len(got.Columns), got.Rows(), len(want.Columns), want.Rows())
	}
	for j, w := range want.Columns {
		g := got.Columns[j]
		if g.Name != w.Name || g.Kind != w.Kind {
			t.Fatalf("column %d = %s %v, want %s %v", j+1, g.Name, g.Kind, w.Name, w.Kind)
		}
		for i := range w.Len() {
			switch {
			case g.Missing(i) != w.Missing(i):
				t.Fatalf("%s row %d: missing %v, want %v", g.Name, i+1, g.Missing(i), w.Missing(i))
			case w.Missing(i):
			case w.Kind == Numeric && g.Numbers[i] != w.Numbers[i]:
				t.Fatalf("%s row %d = %v, want %v (exactly)", g.Name, i+1, g.Numbers[i], w.Numbers[i])
			case w.Kind == Categorical && g.Strings[i] != w.Strings[i]:
				t.Fatalf("%s row %d = %q, want %q", g.Name, i+1, g.Strings[i], w.Strings[i])
			}
		}
	}
}

// everyType has a column of each Parquet type the trainer reads; a pointer
// field is an optional column, nil a null.
type everyType struct {
	I32     int32    `parquet:"i32"`
	I64     *int64   `parquet:"i64"`
	I8      int8     `parquet:"i8"`
	U8      uint8    `parquet:"u8"`
	U32     *uint32  `parquet:"u32"`
	U64     uint64   `parquet:"u64"`
	F32     *float32 `parquet:"f32"`
	F64     *float64 `parquet:"f64"`
	Bool    *bool    `parquet:"bool"`
	Str     *string  `parquet:"str"`
	Enum    string   `parquet:"enum,enum"`
	Raw     []byte   `parquet:"raw"`
	Digits  string   `parquet:"digits"`
	Dec32   int32    `parquet:"dec32,decimal(2:9)"`
	Dec64   *int64   `parquet:"dec64,decimal(3:18)"`
	DecFix  [8]byte  `parquet:"decfix,decimal(1:18)"`
	DecWide [13]byte `parquet:"decwide,decimal(2:30)"`
	UUID    [16]byte `parquet:"uuid,uuid"`
	Churned bool     `parquet:"churned"`
}

func ptr[T any](v T) *T { return &v }

func TestReadParquetTypes(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	rows := []everyType{{
		I32: -7, I64: ptr(int64(1) << 53), I8: -128, U8: 255, U32: ptr(uint32(math.MaxUint32)), U64: 1<<63 + 1<<11,
		F32: ptr(float32(0.1)), F64: ptr(-2.5e-300), Bool: ptr(true), Str: ptr("month-to-month"), Enum: "visa",
		Raw: []byte("raw bytes"), Digits: "007", Dec32: 12345, Dec64: ptr(int64(-1)),
		DecFix:  [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x85}, // -123
		DecWide: [13]byte{11: 0x01},                                      // 256
		UUID:    [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7}, Churned: true,
	}, {
		// Nulls, and the values that are missing without being null.
		I32: math.MaxInt32, Str: ptr(""), F64: ptr(nan), Bool: ptr(false), Digits: "8", Dec64: nil,
	}, {
		I32: 0, U32: ptr(uint32(0)), F32: ptr(float32(nan)), Enum: "amex", Raw: []byte{}, Digits: "9.5",
		Dec32: -1, DecWide: [13]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // -1
	}}
	want := &Dataset{Columns: []*Column{
		{Name: "i32", Kind: Numeric, Numbers: []float64{-7, math.MaxInt32, 0}},
		{Name: "i64", Kind: Numeric, Numbers: []float64{1 << 53, nan, nan}},
		{Name: "i8", Kind: Numeric, Numbers: []float64{-128, 0, 0}},
		{Name: "u8", Kind: Numeric, Numbers: []float64{255, 0, 0}},
		{Name: "u32", Kind: Numeric, Numbers: []float64{math.MaxUint32, nan, 0}},
		// Read as signed, 1<<63 + 2048 would be negative.
		{Name: "u64", Kind: Numeric, Numbers: []float64{1<<63 + 1<<11, 0, 0}},
		{Name: "f32", Kind: Numeric, Numbers: []float64{float64(float32(0.1)), nan, nan}},
		{Name: "f64", Kind: Numeric, Numbers: []float64{-2.5e-300, nan, nan}},
		{Name: "bool", Kind: Numeric, Numbers: []float64{1, 0, nan}},
		{Name: "str", Kind: Categorical, Strings: []string{"month-to-month", "", ""}},
		{Name: "enum", Kind: Categorical, Strings: []string{"visa", "", "amex"}},
		{Name: "raw", Kind: Categorical, Strings: []string{"raw bytes", "", ""}},
		// The schema says string: numbers in a string column stay text,
		// where ReadCSV would have made the column numeric.
		{Name: "digits", Kind: Categorical, Strings: []string{"007", "8", "9.5"}},
		{Name: "dec32", Kind: Numeric, Numbers: []float64{123.45, 0, -0.01}},
		{Name: "dec64", Kind: Numeric, Numbers: []float64{-0.001, nan, nan}},
		{Name: "decfix", Kind: Numeric, Numbers: []float64{-12.3, 0, 0}},
		{Name: "decwide", Kind: Numeric, Numbers: []float64{2.56, 0, -0.01}},
		{Name: "uuid", Kind: Categorical, Strings: []string{"12345678-9abc-def0-0001-020304050607",
			"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"}},
		{Name: "churned", Kind: Numeric, Numbers: []float64{1, 0, 0}},
	}}
	f := func(name string, options ...parquet.WriterOption) {
		t.Helper()
		data := parquetBytes(t, rows, options...)
		d, err := ReadParquet(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameDataset(t, d, want)
		if sum := sha256.Sum256(data); d.SHA256 != hex.EncodeToString(sum[:]) || d.Source != "" {
			t.Fatalf("%s: SHA256 %q, Source %q; want %x and none", name, d.SHA256, d.Source, sum)
		}
	}
	f("default")
	f("a row group per row, data page v1, zstd", parquet.MaxRowsPerRowGroup(1), parquet.DataPageVersion(1),
		parquet.Compression(&parquet.Zstd))
	f("snappy, a page per row", parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(1))
}

// rowsBytes writes rows of the given schema: the types struct tags cannot
// declare.
func rowsBytes(t testing.TB, schema *parquet.Schema, rows ...parquet.Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema)
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readFooter decodes the footer of a Parquet file and returns where it
// starts.
func readFooter(t testing.TB, data []byte) (*format.FileMetaData, int) {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	start := len(data) - 8 - n
	md := new(format.FileMetaData)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), data[start:len(data)-8], md); err != nil {
		t.Fatal(err)
	}
	return md, start
}

// withFooter appends md to body as a Parquet footer.
func withFooter(t testing.TB, body []byte, md *format.FileMetaData) []byte {
	t.Helper()
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(bytes.Clone(body), footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...)
}

// editFooter rewrites the footer of a Parquet file: files that no writer
// makes, as other programs or an attacker might.
func editFooter(t testing.TB, data []byte, edit func(*format.FileMetaData)) []byte {
	t.Helper()
	md, start := readFooter(t, data)
	edit(md)
	return withFooter(t, data[:start], md)
}

// editPages rewrites every page header of a Parquet file, moving the pages
// and the footer's offsets to fit; the page indexes and bloom filters are
// dropped.
func editPages(t testing.TB, data []byte, edit func(*format.PageHeader)) []byte {
	t.Helper()
	md, _ := readFooter(t, data)
	out := []byte("PAR1")
	for k := range md.RowGroups {
		rg := &md.RowGroups[k]
		rg.FileOffset = int64(len(out))
		for j := range rg.Columns {
			cc := &rg.Columns[j]
			meta := &cc.MetaData
			start := meta.DataPageOffset
			if meta.DictionaryPageOffset != 0 {
				start = meta.DictionaryPageOffset
				meta.DictionaryPageOffset = int64(len(out))
			}
			chunkStart := int64(len(out))
			for pos := start; pos < start+meta.TotalCompressedSize; {
				if pos == meta.DataPageOffset {
					meta.DataPageOffset = int64(len(out))
				}
				r := new(thrift.CompactProtocol).NewReaderFromBytes(data[pos:])
				var h format.PageHeader
				if err := thrift.NewDecoder(r).Decode(&h); err != nil {
					t.Fatal(err)
				}
				body := data[pos+int64(r.BytesRead()) : pos+int64(r.BytesRead())+int64(h.CompressedPageSize)]
				pos += int64(r.BytesRead()) + int64(h.CompressedPageSize)
				edit(&h)
				header, err := thrift.Marshal(new(thrift.CompactProtocol), &h)
				if err != nil {
					t.Fatal(err)
				}
				out = append(append(out, header...), body...)
			}
			meta.TotalCompressedSize = int64(len(out)) - chunkStart
			cc.FileOffset = chunkStart
			cc.ColumnIndexOffset, cc.ColumnIndexLength, cc.OffsetIndexOffset, cc.OffsetIndexLength = 0, 0, 0, 0
			meta.BloomFilterOffset, meta.BloomFilterLength = 0, 0
		}
		rg.TotalCompressedSize = int64(len(out)) - rg.FileOffset
	}
	return withFooter(t, out, md)
}

// noCRC drops a page's checksum, so that a fuzzer's changes to the page
// reach the decoders.
func noCRC(h *format.PageHeader) { h.CRC = 0 }

func TestReadParquetPageLimits(t *testing.T) {
	t.Parallel()
	type row struct {
		S *string `parquet:"s,dict"`
		X int64   `parquet:"x"`
	}
	rows := make([]row, 300)
	for i := range rows {
		if i%7 != 0 {
			rows[i].S = ptr(strings.Repeat(string(rune('a'+i%5)), 20))
		}
		rows[i].X = int64(i % 3)
	}
	f := func(codec compress.Codec, edit func(*format.PageHeader), want string) {
		t.Helper()
		data := editPages(t, parquetBytes(t, rows, parquet.Compression(codec)), edit)
		d, err := ReadParquet(data)
		if want == "" {
			if err != nil {
				t.Fatalf("%v: %v", codec, err)
			}
			if d.Rows() != len(rows) || d.Columns[0].Strings[1] != strings.Repeat("b", 20) || d.Columns[1].Numbers[299] != 2 {
				t.Fatalf("%v: read back %d rows, %q, %v", codec, d.Rows(), d.Columns[0].Strings[1], d.Columns[1].Numbers[299])
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v: err = %v, want mention of %q", codec, err, want)
		}
	}
	codecs := []compress.Codec{&parquet.Uncompressed, &parquet.Snappy, &parquet.Gzip, &parquet.Brotli, &parquet.Zstd, &parquet.Lz4Raw}
	for _, codec := range codecs {
		f(codec, noCRC, "") // the pages as written, moved
		f(codec, func(h *format.PageHeader) {
			if h.DataPageHeaderV2.Valid {
				h.DataPageHeaderV2.V.NumValues, h.DataPageHeaderV2.V.NumRows = 301, 301
			}
		}, `column "s", page 2: 301 values in a row group of 300 rows`)
		f(codec, func(h *format.PageHeader) {
			if h.DictionaryPageHeader.Valid {
				h.DictionaryPageHeader.V.NumValues = 1 << 30
			}
		}, `column "s", page 1: a dictionary of 1073741824 values in`)
		f(codec, func(h *format.PageHeader) { h.UncompressedPageSize = 1<<27 + 1 },
			`page 1: 134217729 bytes uncompressed, more than the 134217728 this reader takes in a page: write the file with smaller pages`)
		f(codec, func(h *format.PageHeader) { h.CompressedPageSize = 1 << 30 }, `page 1: 1073741824 bytes, more than its column chunk holds`)
	}
	// Pages that inflate to more than their headers say: a compression
	// bomb, which parquet-go would decode in full.
	for _, codec := range codecs[1:] {
		want := "it inflates to more than the 3 bytes its header declares: the file is corrupt"
		if codec == &parquet.Lz4Raw {
			want = "a corrupt LZ4 block, or one larger than the 3 bytes its header declares"
		}
		f(codec, func(h *format.PageHeader) {
			if h.DataPageHeaderV2.Valid {
				h.UncompressedPageSize = 3
			}
		}, `column "s", page 2: `+want)
	}
}

func TestReadParquetUntaggedTypes(t *testing.T) {
	t.Parallel()
	// A decimal held in a variable-length byte array, as some databases
	// export it.
	schema := parquet.NewSchema("t", parquet.Group{"d": parquet.Optional(parquet.Decimal(2, 30, parquet.ByteArrayType))})
	data := rowsBytes(t, schema,
		parquet.Row{parquet.ByteArrayValue([]byte{0x30, 0x39}).Level(0, 1, 0)},             // 12345
		parquet.Row{parquet.NullValue().Level(0, 0, 0)},                                    // null
		parquet.Row{parquet.ByteArrayValue([]byte{0xff, 0x85}).Level(0, 1, 0)},             // -123
		parquet.Row{parquet.ByteArrayValue([]byte{}).Level(0, 1, 0)},                       // 0
		parquet.Row{parquet.ByteArrayValue(bytes.Repeat([]byte{0x7f}, 32)).Level(0, 1, 0)}) // 0x7f…7f, the widest accepted
	d, err := ReadParquet(data)
	if err != nil {
		t.Fatal(err)
	}
	sameDataset(t, d, &Dataset{Columns: []*Column{
		{Name: "d", Kind: Numeric, Numbers: []float64{123.45, math.NaN(), -1.23, 0, 5.766900130642807e74}},
	}})

	// A column of logical type NULL, which pyarrow writes for a column of
	// nothing but nulls: numeric and all missing, like an empty CSV column.
	data = parquetBytes(t, []struct {
		N *int32 `parquet:"n"`
		X int32  `parquet:"x"`
	}{{X: 1}, {X: 2}})
	data = editFooter(t, data, func(md *format.FileMetaData) {
		md.Schema[1].LogicalType = format.LogicalType{Value: new(format.NullType)}
	})
	d, err = ReadParquet(data)
	if err != nil {
		t.Fatal(err)
	}
	sameDataset(t, d, &Dataset{Columns: []*Column{
		{Name: "n", Kind: Numeric, Numbers: []float64{math.NaN(), math.NaN()}},
		{Name: "x", Kind: Numeric, Numbers: []float64{1, 2}},
	}})
}

// churnRow is the demo churn table as a Parquet export would type it:
// integers as integers, the label as a boolean, missing cells as nulls.
type churnRow struct {
	CustomerID       string   `parquet:"customer_id"`
	TenureMonths     int32    `parquet:"tenure_months"`
	MonthlyCharges   float64  `parquet:"monthly_charges"`
	TotalCharges     *float64 `parquet:"total_charges"`
	Contract         string   `parquet:"contract,dict"`
	SupportCalls     int64    `parquet:"support_calls"`
	PaymentMethod    *string  `parquet:"payment_method"`
	PaperlessBilling *string  `parquet:"paperless_billing,dict"`
	Churned          bool     `parquet:"churned"`
}

// churnParquet writes d, a GenerateChurn table, as Parquet, in row groups
// of 250 rows so that the reader joins several.
func churnParquet(t testing.TB, d *Dataset) []byte {
	t.Helper()
	col := func(name string) *Column { return d.Column(name) }
	whole := func(name string, i int) float64 {
		x := col(name).Numbers[i]
		if x != math.Trunc(x) {
			t.Fatalf("%s row %d = %v, not an integer", name, i+1, x)
		}
		return x
	}
	text := func(name string, i int) *string {
		if s := col(name).Strings[i]; s != "" {
			return &s
		}
		return nil
	}
	rows := make([]churnRow, d.Rows())
	for i := range rows {
		r := churnRow{
			CustomerID: col("customer_id").Strings[i], TenureMonths: int32(whole("tenure_months", i)),
			MonthlyCharges: col("monthly_charges").Numbers[i], Contract: col("contract").Strings[i],
			SupportCalls: int64(whole("support_calls", i)), PaymentMethod: text("payment_method", i),
			PaperlessBilling: text("paperless_billing", i), Churned: whole("churned", i) == 1,
		}
		if x := col("total_charges").Numbers[i]; !math.IsNaN(x) {
			r.TotalCharges = &x
		}
		rows[i] = r
	}
	return parquetBytes(t, rows, parquet.MaxRowsPerRowGroup(250), parquet.Compression(&parquet.Snappy))
}

func TestParquetTrainsLikeCSV(t *testing.T) {
	t.Parallel()
	d := GenerateChurn(1000, 3)
	fromCSV, err := ReadCSV(bytes.NewReader(csvBytes(t, d)))
	if err != nil {
		t.Fatal(err)
	}
	fromParquet, err := ReadParquet(churnParquet(t, d))
	if err != nil {
		t.Fatal(err)
	}
	sameDataset(t, fromParquet, fromCSV)
	if fromCSV.SHA256 == fromParquet.SHA256 {
		t.Fatal("the CSV and the Parquet file have the same hash")
	}

	f := func(cfg Config) {
		t.Helper()
		a, err := Train(fromCSV, cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Train(fromParquet, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.ONNX(), b.ONNX()) {
			t.Fatalf("%s: CSV and Parquet input gave different ONNX bytes", cfg.Algorithm)
		}
		if a.TestDataSHA256 != b.TestDataSHA256 {
			t.Fatalf("%s: test data hashes %s and %s, want one", cfg.Algorithm, a.TestDataSHA256, b.TestDataSHA256)
		}
		pa, err := a.Profile.Encode()
		if err != nil {
			t.Fatal(err)
		}
		pb, err := b.Profile.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pa, pb) {
			t.Fatalf("%s: CSV and Parquet input gave different drift profiles", cfg.Algorithm)
		}
	}
	f(Config{Target: ChurnTarget, Algorithm: LogReg, Epochs: 300, Seed: 9})
	f(Config{Target: ChurnTarget, Algorithm: MLP, Hidden: []int{8}, Epochs: 15, Seed: 9})
}

func TestReadParquetErrors(t *testing.T) {
	t.Parallel()
	f := func(data []byte, want ...string) {
		t.Helper()
		d, err := ReadParquet(data)
		if err == nil {
			t.Fatalf("ReadParquet(%.40q…) = %d rows, want an error", data, d.Rows())
		}
		for _, w := range append([]string{"cannot read Parquet file: "}, want...) {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("ReadParquet(%.40q…) = %q, want mention of %q", data, err, w)
			}
		}
	}
	unsupported := func(column, what string) []string {
		return []string{`column "` + column + `" is ` + what, `convert column "` + column + `" to a number or a string`}
	}
	f(parquetBytes(t, []struct {
		X int32    `parquet:"x"`
		N nested32 `parquet:"n"`
	}{{}}), `column "n" is a struct (a group of columns), which the trainer cannot read: flatten it into top-level columns of numbers or strings`)
	f(parquetBytes(t, []struct {
		L []int32 `parquet:"l,list"`
	}{{L: []int32{1}}}), unsupported("l", "a list")...)
	f(parquetBytes(t, []struct {
		M map[string]int32 `parquet:"m"`
	}{{}}), unsupported("m", "a map")...)
	f(parquetBytes(t, []struct {
		R []int32 `parquet:"r"`
	}{{R: []int32{1, 2}}}), unsupported("r", "repeated (a list)")...)
	f(parquetBytes(t, []struct {
		T deprecated.Int96 `parquet:"t"`
	}{{}}), unsupported("t", "an INT96")...)
	f(parquetBytes(t, []struct {
		T time.Time `parquet:"t"`
	}{{}}), unsupported("t", "a timestamp")...)
	f(parquetBytes(t, []struct {
		D int32 `parquet:"d,date"`
	}{{}}), unsupported("d", "a date")...)
	f(parquetBytes(t, []struct {
		J string `parquet:"j,json"`
	}{{J: "{}"}}), unsupported("j", "of logical type JSON")...)
	f(parquetBytes(t, []struct {
		B [4]byte `parquet:"b"`
	}{{}}), unsupported("b", "of physical type FIXED_LEN_BYTE_ARRAY")...)
	f(parquetBytes(t, []struct {
		X float64 `parquet:"x"`
	}{{1}, {math.Inf(1)}}), `column "x", row 2: +Inf is not a finite number`)
	f(rowsBytes(t, parquet.NewSchema("t", parquet.Group{"d": parquet.Decimal(0, 80, parquet.ByteArrayType)}),
		parquet.Row{parquet.ByteArrayValue(make([]byte, 33))}), `column "d", row 1: a 33-byte decimal`)

	// parquet-go panics on this footer (a fixed-length decimal without a
	// length); the reader turns the panic into an error.
	f(editFooter(t, parquetBytes(t, []struct {
		D [8]byte `parquet:"d,decimal(2:18)"`
	}{{}}), func(md *format.FileMetaData) {
		md.Schema[1].TypeLength = thrift.Null[int32]{}
	}), "it is corrupt or uses a feature this reader lacks: DECIMAL using FIXED_LEN_BYTE_ARRAY must specify a length")

	valid := churnParquet(t, GenerateChurn(300, 1))
	whole := "check that it was copied whole"
	f(nil, whole)
	f([]byte("customer_id,churned\nC1,1\n"), whole)
	f([]byte("PAR1"), whole)
	f([]byte("PAR1PAR1"), whole)
	f(valid[:len(valid)/2], whole)
	f(valid[:len(valid)-1], whole)
	f(append(bytes.Clone(valid[:len(valid)-4]), "PARE"...), "footer is encrypted")
	// The footer intact, the data pages overwritten.
	garbled := bytes.Clone(valid)
	for i := 4; i < len(garbled)/2; i++ {
		garbled[i] = byte(i * 31)
	}
	f(garbled)
}

func TestReadParquetCellLimit(t *testing.T) {
	t.Parallel()
	data := parquetBytes(t, []struct {
		A int32   `parquet:"a"`
		B *string `parquet:"b"`
	}{{}, {}, {}}, parquet.MaxRowsPerRowGroup(2))
	if d, err := readParquet(data, 6); err != nil || d.Rows() != 3 {
		t.Fatalf("3 rows × 2 columns within a limit of 6 cells: %v", err)
	}
	// A footer that claims a trillion rows is refused before a cell is
	// read, under the real limit.
	huge := editFooter(t, data, func(md *format.FileMetaData) {
		md.NumRows = 1e12
		md.RowGroups[0].NumRows = 1e12
	})
	if _, err := ReadParquet(huge); err == nil || !strings.Contains(err.Error(), "more than 50000000 cells") {
		t.Fatalf("a footer claiming 10^12 rows: err = %v", err)
	}
	_, err := readParquet(data, 5)
	if err == nil || !strings.Contains(err.Error(), "more than 5 cells (rows × columns; 2 columns), the most the trainer reads: sample the rows") {
		t.Fatalf("3 rows × 2 columns over a limit of 5 cells: err = %v", err)
	}
}

func TestLoadDataset(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := GenerateChurn(40, 2)
	write := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	csvData, parquetData := csvBytes(t, d), churnParquet(t, d)
	// The bytes choose the reader, not the name.
	csvPath, parquetPath := write("churn.parquet", csvData), write("churn.csv", parquetData)
	f := func(load func(string) (*Dataset, error), path string, data []byte) {
		t.Helper()
		got, err := load(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got.Source != path || got.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("Source %q, SHA256 %s; want %q and %x", got.Source, got.SHA256, path, sum)
		}
		want, err := ReadCSV(bytes.NewReader(csvData))
		if err != nil {
			t.Fatal(err)
		}
		sameDataset(t, got, want)
	}
	f(LoadDataset, csvPath, csvData)
	f(LoadDataset, parquetPath, parquetData)
	f(LoadParquet, parquetPath, parquetData)
	f(LoadCSV, csvPath, csvData)

	if _, err := LoadParquet(csvPath); err == nil || !strings.Contains(err.Error(), csvPath+": cannot read Parquet file") {
		t.Fatalf("LoadParquet of a CSV file: err = %v, want the path and the reason", err)
	}
	if _, err := LoadDataset(filepath.Join(dir, "absent.parquet")); err == nil || !strings.Contains(err.Error(), "cannot load dataset") {
		t.Fatalf("LoadDataset of an absent file: err = %v", err)
	}
}

// fuzzMaxCells keeps each fuzz input's dataset small, so that an input
// claiming millions of null rows does not slow the search.
const fuzzMaxCells = 1 << 16

func FuzzReadParquet(f *testing.F) {
	valid := [][]byte{
		parquetBytes(f, []everyType{{I64: ptr(int64(3)), Str: ptr("x"), Digits: "1"}, {F64: ptr(0.5), Bool: ptr(true)}}),
		parquetBytes(f, []struct {
			A *int32   `parquet:"a"`
			S *string  `parquet:"s,dict"`
			F *float32 `parquet:"f"`
		}{{A: ptr(int32(1)), S: ptr("a")}, {S: ptr("b")}, {A: ptr(int32(-3)), F: ptr(float32(2))}},
			parquet.MaxRowsPerRowGroup(2), parquet.DataPageVersion(1)),
		churnParquet(f, GenerateChurn(20, 4)),
		parquetBytes(f, []struct {
			N nested32 `parquet:"n"`
		}{{}}),
	}
	for _, data := range valid {
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(data[len(data)/2:])
	}
	// Without checksums, so that changes to a page reach its decoders; one
	// file per codec, in both data page versions.
	type row struct {
		S *string  `parquet:"s,dict"`
		X *float64 `parquet:"x"`
	}
	rows := []row{{S: ptr("a"), X: ptr(1.5)}, {}, {S: ptr("bb")}, {S: ptr("a"), X: ptr(-2.0)}}
	for i, codec := range []compress.Codec{&parquet.Uncompressed, &parquet.Snappy, &parquet.Gzip, &parquet.Brotli, &parquet.Zstd, &parquet.Lz4Raw} {
		f.Add(editPages(f, parquetBytes(f, rows, parquet.Compression(codec), parquet.DataPageVersion(1+i%2)), noCRC))
		f.Add(editPages(f, parquetBytes(f, rows, parquet.Compression(codec), parquet.DataPageVersion(2-i%2)), noCRC))
	}
	f.Add([]byte("PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add([]byte("a,b\n1,2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := readParquet(data, fuzzMaxCells)
		if err != nil {
			if d != nil || !strings.HasPrefix(err.Error(), "cannot read Parquet file") {
				t.Fatalf("readParquet = %v, %q; want no dataset and an error that says what failed", d, err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("readParquet returned an invalid dataset: %v", err)
		}
		if cells := d.Rows() * len(d.Columns); cells > fuzzMaxCells {
			t.Fatalf("readParquet returned %d cells, over its limit of %d", cells, fuzzMaxCells)
		}
		for _, c := range d.Columns {
			if c.Kind == Numeric && c.Strings != nil || c.Kind == Categorical && c.Numbers != nil {
				t.Fatalf("column %q of kind %v holds the other kind's cells", c.Name, c.Kind)
			}
			for _, x := range c.Numbers {
				if math.IsInf(x, 0) {
					t.Fatalf("column %q holds %v", c.Name, x)
				}
			}
		}
	})
}

type nested32 struct {
	A int32 `parquet:"a"`
}
