// Package score scores a CSV file offline (batch inference): it is the
// file codec of the serving pipeline (Options.Pipeline; gateway.NewOffline
// in the binary), so a file's rows take the way a request's rows take,
// through the same encoder, runtime sessions and dynamic batcher, and an
// offline score and an online one for the same row are the same number.
// `infergate score` is its command.
//
// # CSV contract
//
// In: a header row naming the columns, then one row per prediction, read
// with encoding/csv (RFC 4180; a leading UTF-8 byte order mark is ignored).
// Every cell becomes a feature of the row's request, named by its column:
//
//   - a column that is a numeric feature of the route's primary model
//     signature is parsed as a number (spaces around it allowed);
//   - every other column (categorical features, entity keys, a label the
//     model ignores) is a string.
//
// An empty cell is an absent feature, as the trainer reads a missing value:
// the model imputes it, or the row fails when the feature is required.
// The header must name every required feature of the primary model (Run
// fails before writing anything, naming the missing columns, when it does
// not); optional features may be left out. Columns the model does not know
// are ignored by it.
//
// Out: a header row, then one row per input row, in input order:
//
//	row | <id column>   the 1-based data row number, or Options.IDColumn's cell
//	prediction          the label of the probability
//	probability         as /v1/predictions answers it
//	model_version       the version that computed it
//	target              the route's target that answered ("primary", or a fallback)
//	error               empty when the row scored, else why it did not
//
// A row that cannot be scored (a numeric cell that is not a number, a row
// with more or fewer fields than the header, a required cell left empty, a
// model error) is written with only its error set: it never stops the run,
// and Summary.Errors counts it.
//
// A row takes the route's way as a request does (a canary takes its share,
// fallbacks answer when the picked target fails; the target column says
// which); the offline pipeline leaves out the stages that watch live
// traffic: rows are not mirrored to shadows, logged for feedback or counted
// for drift.
//
// # Concurrency model
//
// Run streams: one reader goroutine parses the input into chunks of
// Options.Chunk rows; Options.Concurrency worker goroutines hand a chunk
// each to Pipeline.AnswerAll, so that its rows reach the batcher together and
// form full batches across the model's instances; Run's goroutine waits for
// the chunks in input order and writes them. Concurrency + 2 chunks exist
// for the whole run and are reused, so memory does not grow with the input.
// At most Concurrency × Chunk rows wait in the batcher at once: the command
// sizes the batcher's queue for them.
//
// # Cancellation
//
// When ctx ends, the reader stops before its next chunk; the chunks already
// read are served and written, the output is flushed, and Run returns ctx's
// error with the Summary of what was written. The output then holds the
// first Summary.Rows rows of the input, complete.
package score
