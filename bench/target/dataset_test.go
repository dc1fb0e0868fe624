package target

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

func TestDatasetCSV(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "churn.csv", "\ufeff"+
		"customer_id,tenure_months,monthly_charges,contract,zip,note,churned\n"+
		"C001,24,89.99,month-to-month,02134,\"a, \"\"quoted\"\" note\",1\n"+
		"C002,,20.5,,x9,,0\n"+
		"C003,0,-1e-7,two-year,,héllo\t<ok>,\n")
	src, err := Dataset(path, "customer-churn", []string{"churned", "not-a-column"})
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		// zip has a non-number, so the whole column is strings: "02134"
		// keeps its leading zero. Numbers are JSON numbers.
		{"customer_id": "C001", "tenure_months": 24.0, "monthly_charges": 89.99, "contract": "month-to-month", "zip": "02134", "note": `a, "quoted" note`},
		{"customer_id": "C002", "monthly_charges": 20.5, "zip": "x9"},
		{"customer_id": "C003", "tenure_months": 0.0, "monthly_charges": -1e-7, "contract": "two-year", "note": "héllo\t<ok>"},
	}
	for seq := range uint64(2 * len(want)) {
		got := decode(t, src.Body(seq))
		if got.ModelID != "customer-churn" {
			t.Errorf("body %d: model_id %q, want customer-churn", seq, got.ModelID)
		}
		if w := want[seq%3]; !reflect.DeepEqual(got.Features, w) {
			t.Errorf("body %d: features\n got %v\nwant %v", seq, got.Features, w)
		}
	}
	if got, want := string(src.Body(1<<63+1)), string(src.Body((1<<63+1)%3)); got != want {
		t.Errorf("Body(2^63+1) = %s, want the body of row %d: %s", got, (1<<63+1)%3, want)
	}
}

func TestDatasetJSONL(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "rows.jsonl", ""+
		`{"customer_id": "C001", "tenure_months": 24, "monthly_charges": 89.99, "contract": "month-to-month", "churned": 1}`+"\n"+
		"\n"+
		`  {"tenure_months": null, "contract": "a \"q\" \u00e9\n", "big": 1.5e300}  `+"\r\n"+
		`{}`) // no final newline
	src, err := Dataset(path, "m", []string{"churned"})
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"customer_id": "C001", "tenure_months": 24.0, "monthly_charges": 89.99, "contract": "month-to-month"},
		{"contract": "a \"q\" é\n", "big": 1.5e300},
		{},
	}
	for seq := range uint64(2 * len(want)) {
		got := decode(t, src.Body(seq))
		if got.ModelID != "m" || !reflect.DeepEqual(got.Features, want[seq%3]) {
			t.Errorf("body %d = %s, want model m and features %v", seq, src.Body(seq), want[seq%3])
		}
	}
	// Numbers are sent as written, not re-formatted.
	if b := string(src.Body(1)); !strings.Contains(b, `"big":1.5e300`) {
		t.Errorf("body 1 = %s, want the number as written: 1.5e300", b)
	}
}

func TestDatasetErrors(t *testing.T) {
	t.Parallel()
	f := func(name, content string, want ...string) {
		t.Helper()
		path := writeFile(t, name, content)
		_, err := Dataset(path, "m", nil)
		if err == nil {
			t.Errorf("%s %q: no error, want %q", name, content, want)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %q: error %q does not contain %q", name, content, err, w)
			}
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	// CSV
	f("a.csv", "", "a.csv: empty file")
	f("a.csv", "x,y\n", "a.csv: no data rows")
	f("a.csv", "x,y\n1,2\n3\n", "a.csv:3: the row has 1 fields but the header has 2", `column "y"`)
	f("a.csv", "x,y\n1,2\n3,4,5\n", "a.csv:3:5: the row has 3 fields but the header has 2")
	f("a.csv", "x,y\n1,\"2\n", "a.csv:2:", "extraneous or missing \" in quoted-field")
	f("a.csv", "x,y\n1,a\"b\n", "a.csv:2:4: bare \" in non-quoted-field")
	f("a.csv", "x,x\n1,2\n", `a.csv:1:3: column "x" appears twice`)
	f("a.csv", "x,,z\n1,2,3\n", "a.csv:1:3: column 2 has an empty name")
	// JSONL
	f("a.jsonl", "", "a.jsonl: no data rows")
	f("a.jsonl", "\n  \n", "a.jsonl: no data rows")
	f("a.jsonl", "{\"x\": 1}\n{\"x\": 1,}\n", "a.jsonl:2:9: invalid JSON: invalid character '}'")
	f("a.jsonl", "{\"x\": 1}\n{\"x\": 1\n", "a.jsonl:2:8: invalid JSON: the object is not closed")
	f("a.jsonl", "[1, 2]\n", "a.jsonl:1:1: a line must be one JSON object")
	f("a.jsonl", "{\"x\": 1}\n\n{\"ok\": true}\n", `a.jsonl:3:8: feature "ok" is a boolean`)
	f("a.jsonl", `{"model_id": "m", "features": {"x": 1}}`, `a.jsonl:1:31: feature "features" is an object`, "not a request body")
	f("a.jsonl", `{"x": [1]}`, `a.jsonl:1:7: feature "x" is an array`)
	f("a.jsonl", `{"x": 1} {"y": 2}`, "a.jsonl:1:10: unexpected text after the object")
	f("a.jsonl", `{"x": 1, "x": 2}`, `a.jsonl:1:10: feature "x" appears twice`)
	// Neither
	f("a.txt", "x\n1\n", `unknown format ".txt"`, ".csv", ".jsonl")

	if _, err := Dataset(writeFile(t, "ok.csv", "x\n1\n"), "", nil); err == nil || !strings.Contains(err.Error(), "model id is empty") {
		t.Errorf("empty model id: error %v, want one saying the model id is empty", err)
	}
	if _, err := Dataset(t.TempDir()+"/missing.csv", "m", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want fs.ErrNotExist", err)
	}
}

func TestFixed(t *testing.T) {
	t.Parallel()
	body := []byte(`{"a":1}`)
	src := Fixed(body)
	for _, seq := range []uint64{0, 1, 1 << 63} {
		if got := src.Body(seq); &got[0] != &body[0] || len(got) != len(body) {
			t.Errorf("Body(%d) = %s, want the given slice itself", seq, got)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	f := func(in, want string) {
		t.Helper()
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
	f("", `""`)
	f(`a"b\c`, `"a\"b\\c"`)
	f("\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`)
	f("<é&>", `"<é&>"`)
	f("\xff", `"\ufffd"`)
	f("\u2028\u2029", `"\u2028\u2029"`)
}

func TestAppendJSONNumber(t *testing.T) {
	t.Parallel()
	f := func(in float64, want string) {
		t.Helper()
		if got := string(appendJSONNumber(nil, in)); got != want {
			t.Errorf("appendJSONNumber(%v) = %s, want %s", in, got, want)
		}
	}
	f(0, "0")
	f(24, "24")
	f(-89.99, "-89.99")
	f(1e20, "100000000000000000000")
	f(1e21, "1e+21")
	f(1e-7, "1e-07")
	f(0.000001, "0.000001")
}

// FuzzDatasetCSV checks that any CSV input either fails cleanly or gives
// bodies that are valid /v1/predictions JSON.
func FuzzDatasetCSV(f *testing.F) {
	f.Add("x,y\n1,a\n,\n")
	f.Add("\ufeffa,b\n\"1\n2\",3\n")
	f.Add("x\n1e400\n")
	f.Add("x\n\xff\x00\n")
	f.Fuzz(func(t *testing.T, content string) {
		b, err := csvBodies("f.csv", []byte(content), "m", []string{"y"})
		if err != nil {
			return
		}
		for _, body := range b {
			decode(t, body)
		}
	})
}

// FuzzDatasetJSONL is FuzzDatasetCSV for JSONL.
func FuzzDatasetJSONL(f *testing.F) {
	f.Add(`{"x": 1, "y": "a"}` + "\n" + `{"x": null}`)
	f.Add(`{"x": -0.5e-3, "\u00e9": "\ud800"}`)
	f.Add(`{"x": 1} x`)
	f.Fuzz(func(t *testing.T, content string) {
		b, err := jsonlBodies("f.jsonl", []byte(content), "m", []string{"y"})
		if err != nil {
			return
		}
		for _, body := range b {
			decode(t, body)
		}
	})
}
