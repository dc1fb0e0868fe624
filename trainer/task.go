package trainer

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/infergate/infergate/registry"
)

// The output tensors of the trained models, one per task.
const (
	// OutputName is a binary classifier's output: the probability of the
	// positive class, [batch, 1].
	OutputName = "probability"
	// ProbabilitiesName is a multi-class classifier's output: one
	// probability per class, [batch, classes], in the order of the
	// signature's labels.
	ProbabilitiesName = "probabilities"
	// ValueName is a regression's output: the predicted value, [batch, 1].
	ValueName = "value"
)

// target is the column a model learns to predict, read for its task.
type target struct {
	task string
	// y holds one value per row: 0 or 1 (binary), the index of the row's
	// class in classes (multiclass), the value itself (regression).
	y []float64
	// classes are a multi-class target's names, sorted, so that the same
	// data always gives the same output order whatever the row order.
	classes []string
}

// readTarget reads column c for task, inferring the task when it is
// TaskAuto. Every cell must be present: a row without a target teaches
// nothing, and imputing one would teach the imputation.
func readTarget(c *Column, task string) (*target, error) {
	if task == TaskAuto {
		task = inferTask(c)
	}
	t := &target{task: task}
	var err error
	switch task {
	case TaskBinary:
		t.y, err = labels(c)
	case TaskMulticlass:
		t.y, t.classes, err = classes(c)
	default:
		t.y, err = values(c)
	}
	return t, err
}

// inferTask is the task Config.Task "" means for target c: text is a
// class name, 0/1 a binary label (what every model was before tasks
// existed), and any other number a value to regress. Missing cells do not
// vote; readTarget refuses them afterwards.
func inferTask(c *Column) string {
	if c.Kind == Categorical {
		return TaskMulticlass
	}
	for _, v := range c.Numbers {
		if v != 0 && v != 1 && !math.IsNaN(v) {
			return TaskRegression
		}
	}
	return TaskBinary
}

// labels reads a binary target: 0 or 1 in every row.
func labels(c *Column) ([]float64, error) {
	y := make([]float64, c.Len())
	for i, v := range c.Numbers {
		if v != 0 && v != 1 {
			got := strconv.FormatFloat(v, 'g', -1, 64)
			if math.IsNaN(v) {
				got = "an empty cell"
			}
			return nil, fmt.Errorf("row %d, column %q: the target must be 0 or 1, got %s", i+1, c.Name, got)
		}
		y[i] = v
	}
	return y, nil
}

// classes reads a multi-class target: its distinct values, sorted by name,
// and each row's index among them. A numeric column's values are named as
// Encode names a numeric category, in the shortest form that reads back
// exactly.
func classes(c *Column) (y []float64, names []string, err error) {
	cells := make([]string, c.Len())
	index := map[string]int{}
	for i := range cells {
		if c.Missing(i) {
			return nil, nil, missingTarget(c, i)
		}
		if c.Kind == Categorical {
			cells[i] = c.Strings[i]
		} else {
			cells[i] = strconv.FormatFloat(c.Numbers[i], 'f', -1, 64)
		}
		if _, ok := index[cells[i]]; !ok {
			index[cells[i]] = len(names)
			names = append(names, cells[i])
		}
	}
	if len(names) > MaxClasses {
		return nil, nil, fmt.Errorf("column %q: %d distinct values, and a multi-class target has at most %d (is it an id, or a number to regress?)", c.Name, len(names), MaxClasses)
	}
	slices.Sort(names)
	for k, name := range names {
		index[name] = k
	}
	y = make([]float64, len(cells))
	for i, cell := range cells {
		y[i] = float64(index[cell])
	}
	return y, names, nil
}

// values reads a regression target: a finite number in every row.
func values(c *Column) ([]float64, error) {
	y := make([]float64, c.Len())
	for i, v := range c.Numbers {
		switch {
		case math.IsNaN(v):
			return nil, missingTarget(c, i)
		case math.IsInf(v, 0):
			return nil, fmt.Errorf("row %d, column %q: the target must be a finite number, got %v", i+1, c.Name, v)
		}
		y[i] = v
	}
	return y, nil
}

func missingTarget(c *Column, row int) error {
	return fmt.Errorf("row %d, column %q: the target is missing (an empty cell); every training row needs one: drop the row or fill it in", row+1, c.Name)
}

// checkSplits refuses splits a model of the target's task cannot be
// trained or measured on: a classifier needs two classes to tell apart,
// and AUC — a binary classifier's, which the registry's promotion gate
// compares — needs both classes in every split, a two-class multi-class
// target included. A regression needs no more than rows.
func (t *target) checkSplits(name string, splits ...rowSet) error {
	for _, s := range splits {
		if t.task == TaskRegression || t.task == TaskMulticlass && len(t.classes) > 2 && s.name != "train" {
			continue
		}
		seen := map[float64]bool{}
		for _, r := range s.rows {
			seen[t.y[r]] = true
		}
		if len(seen) < 2 {
			return fmt.Errorf("the %s split (%d rows) holds only one class of %q; use more rows or a larger fraction", s.name, len(s.rows), name)
		}
	}
	return nil
}

// rowSet is a named set of rows of the data: a split.
type rowSet struct {
	name string
	rows []int
}

// describeOutput writes into sig what the model of task t outputs. A binary
// classifier keeps the one legacy Output every version has had, so that its
// signature is byte for byte what it always was; the other tasks describe
// their output as an OutputSpec of the kind the gateway answers from.
func (t *target) describeOutput(sig *registry.Signature) {
	switch t.task {
	case TaskBinary:
		sig.Output = registry.Output{Name: OutputName, Labels: slices.Clone(DefaultLabels)}
	case TaskMulticlass:
		sig.Outputs = []registry.OutputSpec{{
			TensorSpec: registry.TensorSpec{Name: ProbabilitiesName, DType: "float32", Shape: []int64{-1, int64(len(t.classes))}},
			Kind:       registry.KindProbabilities,
			Labels:     slices.Clone(t.classes),
		}}
	default:
		sig.Outputs = []registry.OutputSpec{{
			TensorSpec: registry.TensorSpec{Name: ValueName, DType: "float32", Shape: []int64{-1, 1}},
			Kind:       registry.KindScore,
		}}
	}
}

// measures names what a fit of task minimises on the validation rows (the
// loss early stopping and the search compare) and the headline metric
// reported beside it.
func measures(task string) (loss, metric string) {
	switch task {
	case TaskMulticlass:
		return "log_loss", "accuracy"
	case TaskRegression:
		return "mse", "r2"
	}
	return "log_loss", "auc"
}
