package trainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCSVRoundTrip(t *testing.T) {
	t.Parallel()
	d := GenerateChurn(500, 11)
	data := csvBytes(t, d)
	got, err := ReadCSV(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("SHA256 = %s, want %x", got.SHA256, sum)
	}
	if len(got.Columns) != len(d.Columns) {
		t.Fatalf("%d columns, want %d", len(got.Columns), len(d.Columns))
	}
	for j, want := range d.Columns {
		c := got.Columns[j]
		if c.Name != want.Name || c.Kind != want.Kind {
			t.Fatalf("column %d = %s %v, want %s %v", j, c.Name, c.Kind, want.Name, want.Kind)
		}
		for i := range want.Len() {
			if want.Missing(i) != c.Missing(i) {
				t.Fatalf("%s row %d: missing %v, want %v", c.Name, i+1, c.Missing(i), want.Missing(i))
			}
			if want.Missing(i) {
				continue
			}
			if want.Kind == Numeric && c.Numbers[i] != want.Numbers[i] {
				t.Fatalf("%s row %d = %v, want %v (exactly)", c.Name, i+1, c.Numbers[i], want.Numbers[i])
			}
			if want.Kind == Categorical && c.Strings[i] != want.Strings[i] {
				t.Fatalf("%s row %d = %q, want %q", c.Name, i+1, c.Strings[i], want.Strings[i])
			}
		}
	}
	if again := csvBytes(t, got); !bytes.Equal(again, data) {
		t.Fatal("CSV → Dataset → CSV changed the bytes")
	}
	if !strings.HasPrefix(string(data), "customer_id,tenure_months,monthly_charges,total_charges,contract,support_calls,payment_method,paperless_billing,churned\n") {
		t.Fatalf("header = %q", strings.SplitN(string(data), "\n", 2)[0])
	}
}

func TestReadCSVKinds(t *testing.T) {
	t.Parallel()
	in := "id,n,c,mixed,empty,quoted,inf\n" +
		"007,1.5,a,1,,\"x, y\",1\n" +
		"008,,b,two,,\"say \"\"hi\"\"\",Inf\n" +
		"009,-2e3,,3,,z,2\n"
	d, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string, kind Kind) *Column {
		t.Helper()
		c := d.Column(name)
		if c == nil || c.Kind != kind {
			t.Fatalf("column %q = %+v, want kind %v", name, c, kind)
		}
		return c
	}
	if c := f("id", Numeric); !reflect.DeepEqual(c.Numbers, []float64{7, 8, 9}) {
		t.Fatalf("id = %v", c.Numbers)
	}
	if c := f("n", Numeric); c.Numbers[0] != 1.5 || !math.IsNaN(c.Numbers[1]) || c.Numbers[2] != -2000 {
		t.Fatalf("n = %v", c.Numbers)
	}
	if c := f("c", Categorical); !reflect.DeepEqual(c.Strings, []string{"a", "b", ""}) || !c.Missing(2) {
		t.Fatalf("c = %q", c.Strings)
	}
	if c := f("mixed", Categorical); !reflect.DeepEqual(c.Strings, []string{"1", "two", "3"}) {
		t.Fatalf("mixed = %q", c.Strings)
	}
	if c := f("empty", Numeric); !c.Missing(0) || !c.Missing(2) {
		t.Fatalf("empty = %v", c.Numbers)
	}
	if c := f("quoted", Categorical); !reflect.DeepEqual(c.Strings, []string{"x, y", `say "hi"`, "z"}) {
		t.Fatalf("quoted = %q", c.Strings)
	}
	f("inf", Categorical) // "Inf" is not a finite number

	bom, err := ReadCSV(strings.NewReader("\ufeffid,x\n1,2\n"))
	if err != nil || bom.Columns[0].Name != "id" {
		t.Fatalf("ReadCSV with a byte order mark: %v, %v", bom, err)
	}
	if d.Rows() != 3 {
		t.Fatalf("Rows = %d", d.Rows())
	}
}

func TestReadCSVErrors(t *testing.T) {
	t.Parallel()
	f := func(in string, want ...string) {
		t.Helper()
		_, err := ReadCSV(strings.NewReader(in))
		if err == nil {
			t.Fatalf("ReadCSV(%q) succeeded", in)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("ReadCSV(%q) = %q, want mention of %q", in, err, w)
			}
		}
	}
	f("", "no header row")
	f("a,,c\n1,2,3\n", "line 1, column 2: empty column name")
	f("a,b,a\n1,2,3\n", `column "a" appears twice (columns 1 and 3)`)
	f("a,b\n1,2\n3\n", "line 3", "wrong number of fields")
	f("a,b\n1,2\n3,\"x\n", "line 3", "extraneous or missing \" in quoted-field")
	f("a,b\n1,x\"y\n", "line 2", "column 4", "bare \"")
}

func TestWriteCSVErrors(t *testing.T) {
	t.Parallel()
	d := &Dataset{Columns: []*Column{
		{Name: "a", Kind: Numeric, Numbers: []float64{1, 2}},
		{Name: "b", Kind: Categorical, Strings: []string{"x"}},
	}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, d); err == nil || !strings.Contains(err.Error(), `column "b": 1 rows, want 2`) {
		t.Fatalf("WriteCSV of ragged columns: err = %v", err)
	}
	d.Columns[1] = &Column{Name: "a", Kind: Categorical, Strings: []string{"x", "y"}}
	if err := WriteCSV(&buf, d); err == nil || !strings.Contains(err.Error(), `duplicate column "a"`) {
		t.Fatalf("WriteCSV of duplicate columns: err = %v", err)
	}
}

func TestLoadCSV(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != path || d.SHA256 == "" || d.Rows() != 1 {
		t.Fatalf("LoadCSV = %+v", d)
	}
	if err := os.WriteFile(path, []byte("a,b\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCSV(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("LoadCSV of a bad file: err = %v, want the path", err)
	}
	if _, err := LoadCSV(filepath.Join(t.TempDir(), "absent.csv")); err == nil {
		t.Fatal("LoadCSV of an absent file succeeded")
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,x\n,\n"))
	f.Add([]byte("a,b\n1,\"x\"\"\"\n2,NaN\n"))
	f.Add([]byte("a\n1e400\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ReadCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("ReadCSV returned an invalid dataset: %v", err)
		}
		// Whatever reads, writes, and reads back to the same table.
		var buf bytes.Buffer
		if err := WriteCSV(&buf, d); err != nil {
			return // e.g. a header the csv writer cannot express
		}
		again, err := ReadCSV(&buf)
		if err != nil {
			t.Fatalf("cannot read back %q: %v", buf.String(), err)
		}
		if again.Rows() != d.Rows() || len(again.Columns) != len(d.Columns) {
			t.Fatalf("round trip changed the shape: %d×%d → %d×%d", d.Rows(), len(d.Columns), again.Rows(), len(again.Columns))
		}
	})
}
