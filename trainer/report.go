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
//
// with the task's headline metric after the losses: val_auc, val_accuracy
// or val_r2 (a report without Metric is a binary classifier's).
func (e *EpochReport) String() string {
	var b strings.Builder
	if e.Trials > 0 {
		digits := len(strconv.Itoa(e.Trials))
		fmt.Fprintf(&b, "trial %*d/%d  ", digits, e.Trial, e.Trials)
	}
	metric, value := "auc", e.ValidationAUC
	if e.Metric != "" {
		metric, value = e.Metric, e.ValidationMetric
	}
	digits := len(strconv.Itoa(e.MaxEpochs))
	fmt.Fprintf(&b, "epoch %*d/%d  train_loss %.4f  val_loss %.4f  val_%s %.4f  elapsed %s",
		digits, e.Epoch, e.MaxEpochs, e.TrainLoss, e.ValidationLoss, metric, value, e.Elapsed.Round(time.Millisecond))
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

// WriteSummary writes what m is and how it did as tables: the task, the
// algorithm and its parameters, the rows and metrics of each split, and,
// after a search, its trials with the chosen one marked.
func WriteSummary(w io.Writer, m *Model) error {
	c := &m.Config
	task := m.Task()
	tw := newTable(w)
	tw.row("task\t%s\n", describeTask(m))
	tw.row("algorithm\t%s\n", describeAlgorithm(m))
	params := fmt.Sprintf("learning_rate=%s l2=%s epochs=%d seed=%d",
		formatFloat(c.LearningRate), formatFloat(c.l2()), c.Epochs, c.Seed)
	epochs := fmt.Sprintf("%.0f", m.Metrics["epochs"])
	if c.Algorithm == MLP {
		params = fmt.Sprintf("hidden=%s learning_rate=%s l2=%s batch_size=%d patience=%d max_epochs=%d seed=%d",
			formatInts(c.Hidden), formatFloat(c.LearningRate), formatFloat(c.l2()), c.BatchSize, c.Patience, c.Epochs, c.Seed)
		epochs += fmt.Sprintf(" (best %.0f)", m.Metrics["best_epoch"])
	}
	tw.row("params\t%s\n", params)
	tw.row("epochs\t%s\n", epochs)
	if err := tw.flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	columns := splitMetrics[task]
	tw = newTable(w)
	tw.row("split\trows\t%s\n", strings.Join(columns, "\t"))
	for _, s := range []struct{ name, prefix string }{{"train", "train_"}, {"validation", "validation_"}, {"test", ""}} {
		tw.row("%s\t%.0f", s.name, m.Metrics[s.name+"_rows"])
		for _, k := range columns {
			tw.row("\t%.4f", m.Metrics[s.prefix+k])
		}
		tw.row("\n")
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
	loss, metric := measures(task)
	tw = newTable(w)
	tw.row("trial\tlearning_rate\tl2\thidden\tepochs\tbest_epoch\tval_%s\tval_%s\telapsed\n", loss, metric)
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
			hidden, t.Epochs, t.BestEpoch, t.ValidationLoss, t.ValidationMetric, t.Elapsed.Round(time.Millisecond))
	}
	if err := tw.flush(); err != nil {
		return err
	}
	lossName := "log loss"
	if loss == "mse" {
		lossName = "mean squared error"
	}
	_, err := fmt.Fprintf(w, "* chosen: trial %d, the lowest validation %s\n", s.Chosen+1, lossName)
	return err
}

// splitMetrics are the metrics WriteSummary shows for each split, by task.
var splitMetrics = map[string][]string{
	TaskBinary:     {"auc", "accuracy", "log_loss", "brier"},
	TaskMulticlass: {"accuracy", "log_loss", "macro_f1", "brier"},
	TaskRegression: {"rmse", "mae", "r2"},
}

// describeTask says what m predicts, such as "multiclass: contract (3
// classes: month-to-month, one-year, two-year)".
func describeTask(m *Model) string {
	target := m.Config.Target
	switch m.Task() {
	case TaskMulticlass:
		classes := m.Classes()
		list := strings.Join(classes, ", ")
		if len(classes) > 10 {
			list = strings.Join(classes[:10], ", ") + ", …"
		}
		return fmt.Sprintf("multiclass: %s (%d classes: %s)", target, len(classes), list)
	case TaskRegression:
		return "regression: " + target
	}
	return "binary: " + target + " (0/1)"
}

// describeAlgorithm names m's model and how it was trained.
func describeAlgorithm(m *Model) string {
	output := map[string]string{TaskBinary: "sigmoid", TaskMulticlass: "softmax", TaskRegression: "linear"}[m.Task()]
	if m.Config.Algorithm == MLP {
		return "mlp (ReLU hidden layers, " + output + " output, mini-batch Adam, early stopping)"
	}
	linear := map[string]string{TaskBinary: "logistic regression", TaskMulticlass: "softmax regression", TaskRegression: "linear regression"}[m.Task()]
	return linear + " (full-batch Adam)"
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
