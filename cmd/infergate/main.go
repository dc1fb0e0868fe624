// Command infergate is the inference gateway: serve models, train the demo
// model, validate a configuration. The program is its packages; this file only
// dispatches subcommands.
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `infergate — a low-latency inference gateway for ONNX models

Usage:
  infergate serve    [--config FILE] [--listen ADDR] [--admin-listen ADDR]
  infergate train    [--config FILE] --demo [--if-missing] | --data FILE --target COLUMN --model NAME
  infergate validate [--config FILE]
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
	case "version":
		err = runVersion(os.Stdout)
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "infergate: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "infergate %s: %v\n", cmd, err)
		os.Exit(1)
	}
}
