package trainer

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Progress sees every epoch of a fit, in order, with the best and last
// epochs marked, and observing does not change the model.
func TestProgress(t *testing.T) {
	t.Parallel()
	d := searchData()
	f := func(cfg Config) {
		t.Helper()
		var reports []EpochReport
		m, err := TrainWith(d, cfg, Options{Progress: func(e EpochReport) { reports = append(reports, e) }})
		if err != nil {
			t.Fatal(err)
		}
		epochs := int(m.Metrics["epochs"])
		if len(reports) != epochs {
			t.Fatalf("%s: %d reports for %d epochs", cfg.Algorithm, len(reports), epochs)
		}
		bestLoss, bestEpoch := math.Inf(1), 0
		for i, e := range reports {
			if e.Epoch != i+1 || e.MaxEpochs != m.Config.Epochs || e.Trial != 0 || e.Trials != 0 || e.Last != (i == epochs-1) {
				t.Fatalf("%s: report %d = %+v", cfg.Algorithm, i, e)
			}
			if i > 0 && e.Elapsed < reports[i-1].Elapsed {
				t.Fatalf("%s: elapsed went back: %v after %v", cfg.Algorithm, e.Elapsed, reports[i-1].Elapsed)
			}
			if e.Best != (e.ValidationLoss < bestLoss) || e.TrainLoss <= 0 || e.ValidationAUC <= 0.5 {
				t.Fatalf("%s: report %d = %+v, best so far %v", cfg.Algorithm, i, e, bestLoss)
			}
			if e.Best {
				bestLoss, bestEpoch = e.ValidationLoss, e.Epoch
			}
		}
		if cfg.Algorithm == MLP && float64(bestEpoch) != m.Metrics["best_epoch"] {
			t.Fatalf("best epoch %d in the reports, %v in the metrics", bestEpoch, m.Metrics["best_epoch"])
		}
		quiet, err := Train(d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(quiet.ONNX(), m.ONNX()) {
			t.Fatalf("%s: observing progress changed the model", cfg.Algorithm)
		}
	}
	f(Config{Target: ChurnTarget, Epochs: 40})
	f(Config{Target: ChurnTarget, Algorithm: MLP, Epochs: 40, Patience: 4})
}

func TestProgressPrinter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := &ProgressPrinter{W: &buf, Every: 10}
	for epoch := 1; epoch <= 35; epoch++ {
		p.Report(EpochReport{Epoch: epoch, MaxEpochs: 200, TrainLoss: 0.41234, ValidationLoss: 0.39, ValidationAUC: 0.85,
			Best: epoch == 20, Last: epoch == 35, Elapsed: 1234567 * time.Microsecond})
	}
	p.Report(EpochReport{Trial: 3, Trials: 12, Epoch: 7, MaxEpochs: 2000, Elapsed: time.Second})
	want := "epoch   1/200  train_loss 0.4123  val_loss 0.3900  val_auc 0.8500  elapsed 1.235s\n" +
		"epoch  10/200  train_loss 0.4123  val_loss 0.3900  val_auc 0.8500  elapsed 1.235s\n" +
		"epoch  20/200  train_loss 0.4123  val_loss 0.3900  val_auc 0.8500  elapsed 1.235s  best\n" +
		"epoch  30/200  train_loss 0.4123  val_loss 0.3900  val_auc 0.8500  elapsed 1.235s\n" +
		"epoch  35/200  train_loss 0.4123  val_loss 0.3900  val_auc 0.8500  elapsed 1.235s\n"
	if got := buf.String(); got != want {
		t.Fatalf("printed:\n%s\nwant:\n%s", got, want)
	}
	buf.Reset()
	p.Every = 1
	p.Report(EpochReport{Trial: 3, Trials: 12, Epoch: 7, MaxEpochs: 2000, Elapsed: time.Second})
	if got, want := buf.String(), "trial  3/12  epoch    7/2000  train_loss 0.0000  val_loss 0.0000  val_auc 0.0000  elapsed 1s\n"; got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
	if p.Err() != nil {
		t.Fatal(p.Err())
	}
}

func TestWriteSummary(t *testing.T) {
	t.Parallel()
	f := func(m *Model, want ...string) {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteSummary(&buf, m); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !regexp.MustCompile(w).MatchString(buf.String()) {
				t.Fatalf("summary:\n%s\nwant a match for %q", buf.String(), w)
			}
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.TrimRight(line, " ") != line {
				t.Fatalf("summary line %q has trailing spaces", line)
			}
		}
	}
	f(mustDemoModel(t),
		`(?m)^algorithm  logistic regression \(full-batch Adam\)$`,
		`(?m)^params     learning_rate=0.05 l2=0.001 epochs=2000 seed=42$`,
		`(?m)^split +rows +auc +accuracy +log_loss +brier$`,
		`(?m)^train +3500 +0\.\d{4} +0\.\d{4} +0\.\d{4} +0\.\d{4}$`,
		`(?m)^validation +500 +0\.\d{4}`,
		`(?m)^test +1000 +0\.8142 +0\.8050 +0\.4278 +0\.1370$`)
	f(mustDemoMLP(t),
		`(?m)^algorithm  mlp `,
		`(?m)^params     hidden=32 learning_rate=0.01 l2=0.001 batch_size=64 patience=10 max_epochs=200 seed=42$`,
		`(?m)^epochs     \d+ \(best \d+\)$`)
	f(mustSearched(t),
		`(?m)^search grid: 4 of 4 trials in \S+ \(budget 30s\)$`,
		`(?m)^trial +learning_rate +l2 +hidden +epochs +best_epoch +val_log_loss +val_auc +elapsed$`,
		`(?m)^1\*? +0.003 +0 +16 +\d+ +\d+ +0\.\d{4} +0\.\d{4} +\S+$`,
		`(?m)^\d\* `,
		`(?m)^\* chosen: trial \d, the lowest validation log loss$`)
}
