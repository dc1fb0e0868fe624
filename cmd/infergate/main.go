// Command infergate is the inference gateway: serve models, train the demo
// model, validate a configuration, run load benchmarks. The program is its packages; this file only
// dispatches subcommands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `infergate — a low-latency inference gateway for ONNX models

Usage:
  infergate serve    [--config FILE] [--listen ADDR] [--admin-listen ADDR]
  infergate train    [--config FILE] --demo [--if-missing] | --data FILE --target COLUMN --model NAME [--task binary|multiclass|regression] [--algo logreg|mlp] [--search grid|random]
  infergate validate [--config FILE]
  infergate keys     new [--id ID] [--tenant T] | hash
  infergate registry list | show MODEL[@ALIAS|:VERSION] | alias | promote | rollback | delete | tag | gc  (infergate registry help)
  infergate features materialize --from TABLE.csv|.parquet [--view NAME] [--to embedded|redis] [--timestamp-column C | --event-time T] [--as-of T]
  infergate bench    --scenario FILE | --url URL (--rate R | --concurrency N) [...]
  infergate score    --model NAME[@ALIAS|:VERSION] --in ROWS.csv --out PREDICTIONS.csv [--id-column COLUMN]
  infergate version

Run "infergate COMMAND -h" for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(args)
	case "train":
		err = runTrain(args, os.Stdout)
	case "validate":
		err = runValidate(args, os.Stdout)
	case "bench":
		err = runBench(args, os.Stdout)
	case "score":
		err = runScore(args, os.Stdout, os.Stderr)
	case "keys":
		err = runKeys(args, os.Stdout)
	case "registry":
		err = runRegistry(args, os.Stdout)
	case "features":
		err = runFeatures(args, os.Stdout)
	case "version":
		err = runVersion(os.Stdout)
	case "-h", "--help", "help":
		if _, err := fmt.Fprint(os.Stdout, usage); err != nil {
			os.Exit(1)
		}
		return
	default:
		fmt.Fprintf(os.Stderr, "infergate: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	var usageErr usageError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		// -h: the flag set has printed the command's flags.
	case errors.As(err, &usageErr):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "infergate %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

// usageError is a command line that parseFlags has already reported, with
// the command's flags; it exits 2, as a usage error does.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseFlags parses a command's arguments, all of which are flags: a stray
// argument (a config path given without --config, say) is refused rather than
// silently ignored.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q: %s takes flags only (did you mean --config %s?)", fs.Arg(0), fs.Name(), fs.Arg(0))
		_, _ = fmt.Fprintln(fs.Output(), err) // the flag package's own output, unchecked there too
		fs.Usage()
		return usageError{err}
	}
	return nil
}
