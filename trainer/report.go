package trainer

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// String is the report as one progress line, such as
//
//	trial 2/12  epoch  14/200  train_loss 0.4213  val_loss 0.3902  val_auc 0.8431  elapsed 1.204s  best
func (e *EpochReport) String() string {
	var b strings.Builder
	if e.Trials > 0 {
		digits := len(strconv.Itoa(e.Trials))
		fmt.Fprintf(&b, "trial %*d/%d  ", digits, e.Trial, e.Trials)
	}
	digits := len(strconv.Itoa(e.MaxEpochs))
	fmt.Fprintf(&b, "epoch %*d/%d  train_loss %.4f  val_loss %.4f  val_auc %.4f  elapsed %s",
		digits, e.Epoch, e.MaxEpochs, e.TrainLoss, e.ValidationLoss, e.ValidationAUC, e.Elapsed.Round(time.Millisecond))
	if e.Best {
		b.WriteString("  best")
	}
	return b.String()
}

// ProgressPrinter writes epoch reports to W, one line each: every epoch
// when Every is 1 or less, else every Every-th epoch and each fit's first
// and last. Pass its Report method as Options.Progress; Err returns the
// first write error, after which it writes nothing.
type ProgressPrinter struct {
	W     io.Writer
	Every int
	err   error
}

// Report writes e when it is due.
func (p *ProgressPrinter) Report(e EpochReport) {
	if p.err != nil {
		return
	}
	if p.Every > 1 && e.Epoch != 1 && !e.Last && e.Epoch%p.Every != 0 {
		return
	}
	_, p.err = fmt.Fprintln(p.W, e.String())
}

// Err returns the first error writing to W.
func (p *ProgressPrinter) Err() error { return p.err }

// WriteSummary writes what m is and how it did as tables: the algorithm and
// its parameters, the rows and metrics of each split, and, after a search,
// its trials with the chosen one marked.
func WriteSummary(w io.Writer, m *Model) error {
	c := &m.Config
	algo := "logistic regression (full-batch Adam)"
	params := fmt.Sprintf("learning_rate=%s l2=%s epochs=%d seed=%d",
		formatFloat(c.LearningRate), formatFloat(c.l2()), c.Epochs, c.Seed)
	epochs := fmt.Sprintf("%.0f", m.Metrics["epochs"])
	if c.Algorithm == MLP {
		algo = "mlp (ReLU hidden layers, sigmoid output, mini-batch Adam, early stopping)"
		params = fmt.Sprintf("hidden=%s learning_rate=%s l2=%s batch_size=%d patience=%d max_epochs=%d seed=%d",
			formatInts(c.Hidden), formatFloat(c.LearningRate), formatFloat(c.l2()), c.BatchSize, c.Patience, c.Epochs, c.Seed)
		epochs += fmt.Sprintf(" (best %.0f)", m.Metrics["best_epoch"])
	}
	tw := newTable(w)
	tw.row("algorithm\t%s\n", algo)
	tw.row("params\t%s\n", params)
	tw.row("epochs\t%s\n", epochs)
	if err := tw.flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	tw = newTable(w)
	tw.row("split\trows\tauc\taccuracy\tlog_loss\tbrier\n")
	for _, s := range []struct{ name, prefix string }{{"train", "train_"}, {"validation", "validation_"}, {"test", ""}} {
		tw.row("%s\t%.0f\t%.4f\t%.4f\t%.4f\t%.4f\n", s.name, m.Metrics[s.name+"_rows"],
			m.Metrics[s.prefix+"auc"], m.Metrics[s.prefix+"accuracy"], m.Metrics[s.prefix+"log_loss"], m.Metrics[s.prefix+"brier"])
	}
	if err := tw.flush(); err != nil {
		return err
	}
	s := m.Search
	if s == nil {
		return nil
	}
	var total time.Duration
	for i := range s.Trials {
		total += s.Trials[i].Elapsed
	}
	stopped := ""
	if s.Stopped {
		stopped = ", stopped by the budget"
	}
	if _, err := fmt.Fprintf(w, "\nsearch %s: %d of %d trials in %s (budget %s%s)\n",
		s.Strategy, len(s.Trials), s.Planned, total.Round(time.Millisecond), s.Budget, stopped); err != nil {
		return err
	}
	tw = newTable(w)
	tw.row("trial\tlearning_rate\tl2\thidden\tepochs\tbest_epoch\tval_log_loss\tval_auc\telapsed\n")
	for i := range s.Trials {
		t := &s.Trials[i]
		hidden := "-"
		if t.Hidden != nil {
			hidden = formatInts(t.Hidden)
		}
		trial := strconv.Itoa(i + 1)
		if i == s.Chosen {
			trial += "*"
		}
		tw.row("%s\t%s\t%s\t%s\t%d\t%d\t%.4f\t%.4f\t%s\n", trial, formatFloat(t.LearningRate), formatFloat(t.L2),
			hidden, t.Epochs, t.BestEpoch, t.ValidationLogLoss, t.ValidationAUC, t.Elapsed.Round(time.Millisecond))
	}
	if err := tw.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "* chosen: trial %d, the lowest validation log loss\n", s.Chosen+1)
	return err
}

// table writes rows through a tabwriter, keeping the first error for flush.
type table struct {
	tw  *tabwriter.Writer
	err error
}

func newTable(w io.Writer) *table { return &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)} }

func (t *table) row(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.tw, format, args...)
	}
}

func (t *table) flush() error {
	if t.err != nil {
		return t.err
	}
	return t.tw.Flush()
}
