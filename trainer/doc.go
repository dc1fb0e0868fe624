// Package trainer trains the small models infergate serves in tests, demos
// and simple production cases: a logistic regression on tabular data,
// exported to ONNX, evaluated on held-out rows, and registered with its
// signature and lineage in the registry.
//
// # Data
//
// A Dataset is a table of named numeric or categorical columns; missing
// cells are NaN or "". ReadCSV and WriteCSV move it to and from CSV with a
// header row (an empty cell is missing; a column whose cells all parse as
// numbers is numeric) and ReadCSV records the SHA-256 of the bytes it read,
// for lineage. GenerateChurn makes a deterministic, realistic synthetic
// customer-churn table, the data of the demo model.
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
// cannot see different inputs in training and in serving. The model is
// fitted in float64 by full-batch Adam with L2 weight decay, keeping the
// weights of the epoch with the lowest validation log loss; the whole run is
// deterministic. Metrics (AUC, accuracy at 0.5, log loss) are measured on the
// test rows with the float32 weights the ONNX file holds.
//
// # Export and registration
//
// Model.ONNX writes Gemm(features, W, B) → Sigmoid with a dynamic batch
// dimension; the same model always gives the same bytes. Model.PredictRow
// computes the same function in Go from the same float32 weights. Register
// stores a model as the next version of a registry model with its lineage
// (data path and hash, parameters, trainer version, parent, time) and sets
// aliases; TrainDemo does all of it for the demo churn model.
//
// # Concurrency model
//
// Train, GenerateChurn and the CSV functions hold no shared state and may run
// concurrently. A trained Model is read-only and safe for concurrent use.
package trainer
