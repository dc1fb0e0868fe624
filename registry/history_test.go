package registry

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The metadata.json of a version registered before tags, code_version and
// test_data_sha256 existed.
const oldMetadata = `{
  "model": "churn",
  "version": "1.0.0",
  "created_at": "2026-01-02T03:04:05Z",
  "signature": {
    "input": "features",
    "features": [{"name": "tenure_months", "type": "numeric", "required": true, "mean": 30, "std": 20}],
    "output": {"name": "probability", "labels": [{"min": 0, "label": "low"}]}
  },
  "metrics": {"auc": 0.85, "log_loss": 0.4},
  "lineage": {
    "data_path": "data/churn.csv",
    "data_sha256": "abc",
    "params": {"seed": "42", "test_fraction": "0.2", "validation_fraction": "0.1", "epochs": "2000"},
    "trainer_version": "infergate-trainer/logreg-1",
    "parent": "",
    "trained_at": "2026-01-02T03:04:05Z"
  },
  "model_sha256": "MODEL_SHA256"
}
`

// writeOldVersion writes churn@1.0.0 as an older infergate did: metadata
// without the new fields, aliases.json without a log.
func writeOldVersion(t *testing.T, s *Store) {
	t.Helper()
	dir := filepath.Join(s.Root(), "churn", "1.0.0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	model := []byte("old onnx")
	meta := strings.Replace(oldMetadata, "MODEL_SHA256", sha256Hex(model), 1)
	for name, data := range map[string][]byte{modelFile: model, metadataFile: []byte(meta)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.Root(), "churn", aliasesFile), []byte(`{"production": "1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOldMetadataLoads(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	writeOldVersion(t, s)
	data, v, err := s.ReadModel("churn", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "old onnx" || v.Tags != nil || v.Lineage.CodeVersion != "" || v.Lineage.TestDataSHA256 != "" || v.Metrics["auc"] != 0.85 {
		t.Fatalf("old version = %+v", v)
	}
	// Its held-out data is known from the data hash and the split.
	if got, want := v.Lineage.HeldOutID(), "data:abc;seed=42;test_fraction=0.2;validation_fraction=0.1"; got != want {
		t.Fatalf("HeldOutID = %q, want %q", got, want)
	}
	// The alias set before the log existed shows as a recovered move.
	hist, err := s.History("churn", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Op != OpRecover || hist[0].From != "" || hist[0].To != "1.0.0" || hist[0].Time.IsZero() {
		t.Fatalf("History = %+v, want one recovered move to 1.0.0", hist)
	}
	// A new version trained the same way is gated against it, tagged, and
	// rolled back from.
	nv := testVersion("churn", "1.1.0")
	nv.Metrics = map[string]float64{"auc": 0.86, "log_loss": 0.39}
	nv.Lineage.Params = map[string]string{"seed": "42", "test_fraction": "0.2", "validation_fraction": "0.1"}
	if err := s.Register(nv, []byte("new onnx")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Promote("churn", "1.1.0", "", PromoteOptions{Gate: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetTags("churn", "1.0.0", map[string]string{"retired": "yes"}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Rollback("churn", "", RollbackOptions{}); err != nil || m.To != "1.0.0" {
		t.Fatalf("Rollback = %+v, %v", m, err)
	}
	raw := readLog(t, s, "churn")
	ops := make([]string, len(raw))
	for i, m := range raw {
		ops[i] = m.Op
	}
	if want := []string{OpRecover, OpPromote, OpRollback}; !reflect.DeepEqual(ops, want) {
		t.Fatalf("log ops = %v, want %v", ops, want)
	}
}

func readLog(t *testing.T, s *Store, model string) []AliasMove {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.Root(), model, aliasLogFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("the alias log ends with a torn line: %q", data)
	}
	moves, err := ParseAliasLog(data)
	if err != nil {
		t.Fatal(err)
	}
	return moves
}

func TestAliasLogRecoversInterruptedUpdate(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	mustRegister(t, s, "churn", "1.1.0")
	if err := s.SetAlias("churn", "production", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	// A crash after aliases.json was replaced and before the log append.
	if err := writeFileAtomic(filepath.Join(s.Root(), "churn"), aliasesFile, []byte(`{"production": "1.1.0"}`)); err != nil {
		t.Fatal(err)
	}
	hist, err := s.History("churn", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[1].Op != OpRecover || hist[1].From != "1.0.0" || hist[1].To != "1.1.0" {
		t.Fatalf("History = %+v, want the lost move recovered", hist)
	}
	if got := readLog(t, s, "churn"); len(got) != 1 {
		t.Fatalf("reading wrote the log: %+v", got)
	}
	// The next update writes the recovered move down, and rollback undoes
	// the lost move.
	m, err := s.Rollback("churn", "", RollbackOptions{})
	if err != nil || m.From != "1.1.0" || m.To != "1.0.0" {
		t.Fatalf("Rollback = %+v, %v", m, err)
	}
	got := readLog(t, s, "churn")
	if len(got) != 3 || got[1].Op != OpRecover || got[2].Op != OpRollback {
		t.Fatalf("log = %+v", got)
	}
}

func TestAliasLogTornLine(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	mustRegister(t, s, "churn", "1.1.0")
	if err := s.SetAlias("churn", "production", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of an append: half a line, no newline.
	path := filepath.Join(s.Root(), "churn", aliasLogFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"time":"2026-02-03T04:05:06Z","alias":"produc`); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	hist, err := s.History("churn", "")
	if err != nil || len(hist) != 1 {
		t.Fatalf("History with a torn last line = %+v, %v; want the one whole line", hist, err)
	}
	// The next append cuts the torn line off.
	if _, err := s.Promote("churn", "1.1.0", "", PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	got := readLog(t, s, "churn")
	if len(got) != 2 || got[1].To != "1.1.0" {
		t.Fatalf("log after the append = %+v", got)
	}
	// A damaged whole line is an error naming it.
	if err := os.WriteFile(path, []byte("{\"alias\":\"production\",\"to\":\"1.0.0\",\"op\":\"set\"}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.History("churn", ""); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("History of a damaged log: err = %v", err)
	}
}

func TestParseAliasLog(t *testing.T) {
	t.Parallel()
	f := func(in string, wantMoves int, wantErr string) {
		t.Helper()
		moves, err := ParseAliasLog([]byte(in))
		switch {
		case wantErr == "" && err != nil:
			t.Fatalf("ParseAliasLog(%q): %v", in, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Fatalf("ParseAliasLog(%q): err = %v, want %q", in, err, wantErr)
		case len(moves) != wantMoves:
			t.Fatalf("ParseAliasLog(%q) = %d moves, want %d", in, len(moves), wantMoves)
		}
	}
	const line = `{"time":"2026-02-03T04:05:06Z","alias":"production","from":"","to":"1.0.0","op":"set"}` + "\n"
	f("", 0, "")
	f(line, 1, "")
	f(line+"\n"+line, 2, "")
	f(line+`{"alias":"prod`, 1, "") // torn last line
	f(line+"\x00\x00\x00", 1, "")   // zeros after a power cut
	f(line+"{}\n", 0, "line 2")     // no alias
	f(`{"alias":"Prod","op":"set"}`+"\n", 0, `alias "Prod"`)
	f(`{"alias":"p","to":"1.0","op":"set"}`+"\n", 0, `version "1.0"`)
	f(`{"alias":"p","to":"1.0.0"}`+"\n", 0, `"op" must not be empty`)
	f(`{"alias":"p","to":"1.0.0","op":"set","future":1}`+"\n", 1, "") // fields of later versions are ignored
}

func FuzzParseAliasLog(f *testing.F) {
	f.Add([]byte(`{"time":"2026-02-03T04:05:06Z","alias":"production","from":"","to":"1.0.0","op":"set"}` + "\n"))
	f.Add([]byte("{\"alias\":\"p\",\"to\":\"1.0.0\",\"op\":\"set\"}\n{\"alias\":\"p\""))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		moves, err := ParseAliasLog(data)
		if err != nil {
			return
		}
		// What parses re-encodes to a log that parses to the same moves.
		var buf []byte
		for i := range moves {
			if err := moves[i].validate(); err != nil {
				t.Fatalf("parsed an invalid move %+v: %v", moves[i], err)
			}
			line, err := json.Marshal(&moves[i])
			if err != nil {
				t.Fatal(err)
			}
			buf = append(append(buf, line...), '\n')
		}
		again, err := ParseAliasLog(buf)
		if err != nil || len(again) != len(moves) {
			t.Fatalf("re-encoded log: %d moves, %v; want %d", len(again), err, len(moves))
		}
		for i := range moves {
			if !again[i].Time.Equal(moves[i].Time) {
				t.Fatalf("move %d: time %v, want %v", i, again[i].Time, moves[i].Time)
			}
			again[i].Time = moves[i].Time
		}
		if !reflect.DeepEqual(again, moves) {
			t.Fatalf("re-encoded log = %+v, want %+v", again, moves)
		}
	})
}

func TestHeldOutID(t *testing.T) {
	t.Parallel()
	f := func(l Lineage, want string) {
		t.Helper()
		if got := l.HeldOutID(); got != want {
			t.Errorf("HeldOutID(%+v) = %q, want %q", l, got, want)
		}
	}
	f(Lineage{}, "")
	f(Lineage{Params: map[string]string{"seed": "1"}}, "")
	f(Lineage{DataSHA256: "abc"}, "data:abc")
	f(Lineage{DataSHA256: "abc", Params: map[string]string{"seed": "1", "epochs": "9"}}, "data:abc;seed=1")
	f(Lineage{DataSHA256: "abc", TestDataSHA256: "def"}, "test:def")
}

func TestList(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if got, err := s.List(); err != nil || len(got) != 0 {
		t.Fatalf("List of an empty store = %v, %v", got, err)
	}
	mustRegister(t, s, "churn", "1.0.0")
	mustRegister(t, s, "churn", "1.1.0")
	mustRegister(t, s, "fraud", "2.0.0")
	if err := s.SetAlias("churn", "production", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	got, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []ModelSummary{
		{Name: "churn", Versions: []string{"1.0.0", "1.1.0"}, Aliases: map[string]string{"production": "1.1.0"}},
		{Name: "fraud", Versions: []string{"2.0.0"}, Aliases: map[string]string{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %+v\nwant %+v", got, want)
	}
	if _, err := s.History("nope", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("History of an unknown model: err = %v", err)
	}
}
