package score

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/registry"
)

// testSignature is the demo model's signature, without its statistics.
var testSignature = registry.Signature{
	Input: "input",
	Features: []registry.Feature{
		{Name: "tenure_months", Type: registry.Numeric, Required: true},
		{Name: "monthly_charges", Type: registry.Numeric, Required: true},
		{Name: "total_charges", Type: registry.Numeric},
		{Name: "contract", Type: registry.Categorical, Required: true, Vocabulary: []string{"month-to-month", "one-year", "two-year"}},
		{Name: "payment_method", Type: registry.Categorical, Vocabulary: []string{"bank-transfer"}},
	},
	Output: registry.Output{Name: "probability", Labels: []registry.Label{{Label: "stay"}, {Min: 0.5, Label: "churn"}}},
}

// FuzzInput reads arbitrary CSV as Run's reader does: every row either
// becomes a request whose features are its cells, typed by the signature,
// or an error row; rows are numbered in order; nothing panics.
func FuzzInput(f *testing.F) {
	for _, s := range []string{
		"tenure_months,monthly_charges,contract\n12,70.5,one-year\n,,\n",
		"\ufeffcustomer_id,tenure_months,monthly_charges,contract,payment_method\nC1, 3 ,20,two-year,\nC2,x,1,a\n",
		"tenure_months,monthly_charges,contract\n\"1\",2,\"a\nb\"\n1,2,bad\"quote\n3,4,c\n",
		"tenure_months,monthly_charges,contract\n1e999,NaN,x\n-0,0x10,y\n",
		"tenure_months,monthly_charges,contract\n\"unterminated,1,2\n",
	} {
		f.Add(s, 2)
		f.Add(s, -3)
	}
	f.Fuzz(func(t *testing.T, data string, chunkSize int) {
		idColumn := ""
		if chunkSize < 0 {
			idColumn = "customer_id"
		}
		chunkSize = 1 + (chunkSize&0xff)%16
		in, err := newInput(strings.NewReader(data), &testSignature, "model test 1.0.0", idColumn)
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("header error %v is not ErrInput", err)
			}
			return
		}
		c := newChunk(chunkSize)
		num := 0
		for {
			err := in.fill(c)
			for i := range c.rows[:c.n] {
				r := &c.rows[i]
				num++
				if r.num != num {
					t.Fatalf("row numbered %d, want %d", r.num, num)
				}
				if (r.req == nil) == (r.err == "") {
					t.Fatalf("row %d: request %v and error %q: want exactly one", num, r.req != nil, r.err)
				}
				if r.req == nil {
					continue
				}
				fs := &r.req.Features
				for j := 0; j < fs.Len(); j++ {
					feat := fs.At(j)
					col := in.column(string(feat.Name))
					switch {
					case col == nil:
						t.Fatalf("row %d: feature %q is not a column", num, feat.Name)
					case col.numeric && (feat.Kind != features.Number || math.IsNaN(feat.Num) || math.IsInf(feat.Num, 0)):
						t.Fatalf("row %d: numeric column %q gave %v %v", num, feat.Name, feat.Kind, feat.Num)
					case !col.numeric && (feat.Kind != features.String || len(feat.Str) == 0):
						t.Fatalf("row %d: text column %q gave %v %q", num, feat.Name, feat.Kind, feat.Str)
					}
				}
			}
			c.release()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("fill: %v", err)
				}
				return
			}
		}
	})
}

// column returns the input column named name, or nil.
func (in *input) column(name string) *column {
	for j := range in.cols {
		if string(in.cols[j].name) == name {
			return &in.cols[j]
		}
	}
	return nil
}
