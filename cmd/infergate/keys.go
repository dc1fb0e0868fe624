package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/infergate/infergate/gateway/auth"
)

const keysUsage = `infergate keys makes API keys and admin tokens, and hashes them.

  infergate keys new [--id ID] [--tenant TENANT]
      make a random key; print it once, with its entry for auth.keys
  infergate keys hash < FILE
      print the SHA-256 of the key read from standard input (never from an
      argument, which would stay in the shell history)

The config holds hashes only: auth.keys[].sha256, auth.admin.token_sha256.
`

// minHashedKey is the shortest key that keys hash accepts: a shorter one,
// chosen by a person, could be guessed from its hash.
const minHashedKey = 16

func runKeys(args []string, stdout io.Writer) error {
	return keys(args, os.Stdin, stdout, os.Stderr)
}

func keys(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	misuse := func(msg string) error {
		_, _ = fmt.Fprintf(stderr, "%s\n\n%s", msg, keysUsage)
		return usageError{errors.New(msg)}
	}
	if len(args) == 0 {
		return misuse("keys needs a command: new or hash")
	}
	switch cmd, args := args[0], args[1:]; cmd {
	case "new":
		return keysNew(args, stdout, stderr)
	case "hash":
		return keysHash(args, stdin, stdout, stderr)
	case "-h", "--help", "help":
		_, err := fmt.Fprint(stdout, keysUsage)
		return err
	default:
		return misuse(fmt.Sprintf("unknown keys command %q: it is new or hash", cmd))
	}
}

func keysNew(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), keysUsage+"\nFlags of keys new:\n")
		fs.PrintDefaults()
	}
	id := fs.String("id", "", "the key's id in auth.keys, logs and the audit log (default key-<first 8 digits of the hash>)")
	tenant := fs.String("tenant", "default", "the key's tenant, a name in auth.tenants")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	key, hash, err := auth.NewKey()
	if err != nil {
		return err
	}
	if *id == "" {
		*id = "key-" + hash[:8]
	}
	for _, f := range []struct{ flag, value string }{{"--id", *id}, {"--tenant", *tenant}} {
		if err := auth.ValidateName(f.value); err != nil {
			msg := fmt.Sprintf("%s: %v", f.flag, err)
			_, _ = fmt.Fprintln(stderr, msg)
			fs.Usage()
			return usageError{errors.New(msg)}
		}
	}
	_, err = fmt.Fprintf(stdout, `New key, shown only now: the config keeps its hash, from which it cannot be
recovered. Store it in a secret manager and hand it to its holder:

  %s

Its entry under auth.keys:

  - id: %s
    sha256: %s
    tenant: %s

Or, to make it the admin token instead, set auth.admin.token_sha256: %s
`, key, *id, hash, *tenant, hash)
	return err
}

func keysHash(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys hash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(fs.Output(), keysUsage) }
	for _, a := range args {
		if a != "" && a[0] != '-' {
			msg := "keys hash reads the key from standard input, not from an argument: infergate keys hash < FILE"
			_, _ = fmt.Fprintln(stderr, msg)
			return usageError{errors.New(msg)}
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 4<<10))
	if err != nil {
		return fmt.Errorf("cannot read the key from standard input: %w", err)
	}
	key := bytes.TrimSpace(data)
	switch {
	case len(key) == 0:
		return errors.New("no key on standard input; give one: infergate keys hash < FILE")
	case bytes.ContainsAny(key, " \t\r\n"):
		return errors.New("standard input holds more than one word; give the key alone")
	case len(key) < minHashedKey:
		return fmt.Errorf("the key has %d characters; one of fewer than %d could be guessed from its hash: make one with `infergate keys new`", len(key), minHashedKey)
	}
	_, err = fmt.Fprintln(stdout, auth.HashKey(string(key)))
	return err
}
