// Package trainer trains the small models infergate serves in tests, demos
// and simple production cases — a linear model or a small MLP on tabular
// data, as a binary classifier, a multi-class classifier or a regression —
// exports them to ONNX, evaluates them on held-out rows, and registers them
// with their signature, lineage and drift reference profile in the
// registry.
//
// # Data
//
// A Dataset is a table of named numeric or categorical columns; missing
// cells are NaN or "". ReadCSV and WriteCSV move it to and from CSV with a
// header row (an empty cell is missing; a column whose cells all parse as
// numbers is numeric) and ReadCSV records the SHA-256 of the bytes it read,
// for lineage. GenerateChurn makes a deterministic, realistic synthetic
// customer-churn table, the data of the demo models.
//
// ReadParquet reads a Parquet file into the same Dataset and records the
// SHA-256 of its bytes likewise. Parquet has a schema, so the reader trusts
// it rather than the values: integer, floating-point, decimal and boolean
// columns (false 0, true 1, so a boolean target works) are numeric; string,
// enum, UUID and plain byte-array columns are categorical — even when every
// value parses as a number, where ReadCSV would call the column numeric. A
// null, an empty string and a floating-point NaN are missing; an infinity is
// an error. Nested and repeated columns, dates, times, timestamps (INT96
// included) and other types are refused with an error naming the column,
// rather than guessed at. A few bytes of Parquet can describe millions of
// cells or a page of gigabytes, so a file of more than MaxParquetCells cells
// is refused before it is read, and so is a page that would inflate to more
// than 128 MiB or than its header declares (every compressed page is
// inflated once to check, then again to read); a malformed file is an error,
// never a panic.
//
// LoadDataset picks the reader from the file's first bytes (Parquet's magic
// "PAR1", else CSV), so the same table trains the same model, byte for byte,
// from either container.
//
// # Training
//
// Train shuffles the rows with Config.Seed and splits them into train,
// validation and test sets. The feature encoding is learned from the train
// rows only and written as a registry.Signature: numeric columns are
// standardised and imputed with the train median, categorical columns are
// one-hot over their vocabulary (most frequent first) plus an unknown bucket,
// which also stands for a missing value. Every row is then encoded with
// registry.Encoder — the code the gateway runs on each request — so a model
// cannot see different inputs in training and in serving.
//
// Config.Task says what the model learns, and by default the target column
// says it: a numeric column of 0s and 1s is a binary classifier's label, a
// text column a multi-class classifier's (its distinct values are the
// classes, sorted by name, at most MaxClasses), any other numeric column a
// regression's value. Task "multiclass" takes a numeric column's distinct
// values as classes. Every row must have a target: a missing cell is an
// error naming the row. A classifier needs two classes among the train
// rows, and a binary (or two-class) one both classes in every split, so
// that its AUC is defined.
//
// Every model is fitted in float64 with Adam (β1 0.9, β2 0.999, ε 1e-8) and
// L2 weight decay on the weights, its output bias starting at the best
// constant prediction. The linear model (Config.Algorithm "logreg", the
// default) takes full-batch steps for a fixed number of epochs: it is
// convex, so it is trained to convergence. It is a logistic regression for
// a binary target (sigmoid, log loss, bias the base rate's log-odds), a
// softmax regression for a multi-class one (softmax, cross-entropy, weights
// zero and biases the log class priors, add-one smoothed), and a linear
// regression for a value (squared error, weights zero). The MLP ("mlp") has
// one or two ReLU hidden layers, He-initialised from the seed, and the same
// output as the linear model of its task: one sigmoid unit, one softmax unit
// per class, one linear unit. It takes mini-batch steps in an order shuffled
// from the seed and stops when the validation loss — log loss, or a
// regression's mean squared error — has not improved for Config.Patience
// epochs, keeping the weights of the best epoch. A regression learns its
// target standardised with the train rows' mean and standard deviation (1
// when the target is constant), so one learning rate fits targets of any
// scale; the export folds the scale back into the last layer.
//
// The binary classifier's arithmetic is the one the trainer had before it
// learned other tasks, operation for operation and draw for draw: the same
// data and config give the same bytes as before.
//
// With Config.Search, a grid or seeded random set of learning rates, L2
// weights and hidden layouts is tried in a fixed order, each a full fit,
// and the one with the lowest validation loss is kept (Model.Search lists
// the trials). Config.SearchBudget bounds the time: no trial starts after
// it and a trial it interrupts is discarded, so the budget changes how many
// trials run, never their results.
//
// Metrics are measured on every split with the float32 weights the ONNX
// file holds: a binary classifier's AUC, accuracy at 0.5, log loss and
// Brier score; a multi-class classifier's accuracy, log loss, macro F1 and
// multi-class Brier score (and AUC with two classes); a regression's RMSE,
// MAE and R² on the target's own scale. Those of the test split are the
// model's reported metrics, the ones the registry's promotion gate
// compares. The same data and config always give the same model, byte for
// byte. TrainWith reports every epoch (Options.Progress; ProgressPrinter
// writes them as lines, with the task's headline metric) and WriteSummary
// writes the result as tables.
//
// # Export and registration
//
// Model.ONNX writes the input "features" [batch, width] and the output of
// the task. A binary classifier is Gemm → Sigmoid (logistic regression) or
// Gemm → Relu → … → Gemm → Sigmoid (MLP), with output "probability"
// [batch, 1] and the signature's legacy Output, thresholds and all, as
// every binary version has had. A multi-class classifier is Gemm (→ Relu →
// … → Gemm) → Softmax(axis 1) with output "probabilities" [batch, classes],
// described by an OutputSpec of kind probabilities labelled with the
// classes. A regression is Gemm (→ Relu → … → Gemm) with output "value"
// [batch, 1], no activation, described by an OutputSpec of kind score: its
// last layer holds the de-standardisation (W·std, B·std + mean), so the
// float32 layers, PredictRow and the ONNX file all give values on the
// target's scale. The same model always gives the same bytes.
//
// Model.PredictRowK computes the output row in Go from the same float32
// weights; Model.PredictRow the one score the gateway records for drift: a
// binary classifier's probability, a multi-class classifier's probability
// of its predicted class (of the second class when there are two), a
// regression's value. Register stores a model as the next version of a
// registry model with its lineage (data path and hash, the hash of the test
// rows its metrics were measured on, parameters — the task when it is not
// binary, a search's trials included —, trainer version, the program's VCS
// revision, parent, time) and sets aliases. TrainDemo does all of it for
// the demo churn model; TrainDemos for the three demo models, trained from
// the same generated table: customer-contract (multi-class, the contract),
// customer-charges (regression, the monthly charges) and customer-churn
// (binary, churn), each promoted to production.
//
// # Drift reference profile
//
// Train also computes Model.Profile, the drift package's reference profile
// of the train rows — the rows the model was fitted on: for each signature
// feature its raw values as a request carries them (before standardisation
// and imputation, a missing cell counted as missing), and the model's
// score on each of those rows (PredictRow, the number the gateway observes
// on live answers), in drift.DefaultBins quantile bins.
// Register stores it with the model in one atomic step, as the version's
// drift-profile.json (registry.DriftProfileFile), the reference of the
// gateway's drift monitor. Like the ONNX file, it depends only on the data
// and the config: the same training gives the same bytes.
//
// Model.TestDataSHA256, recorded as the lineage's TestDataSHA256, is the
// SHA-256 of the header and the test rows (in file order, every column)
// written by WriteCSV, so that the registry's promotion gate compares two
// versions' metrics only when they were measured on the same rows. Neither
// it nor the code version is in the ONNX file.
//
// # Concurrency model
//
// Train, GenerateChurn and the CSV and Parquet functions hold no shared
// state and may run concurrently; TrainWith calls Options.Progress on its own
// goroutine. A trained Model is read-only and safe for concurrent use.
package trainer
