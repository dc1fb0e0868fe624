package main

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway/auth"
)

func TestKeysNew(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := keys([]string{"new", "--id", "team-a-1", "--tenant", "team-a"}, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	m := regexp.MustCompile(`(?m)^  (ig_[A-Za-z0-9_-]{43})$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no key in:\n%s", out)
	}
	hash := auth.HashKey(m[1])
	for _, want := range []string{"shown only now", "  - id: team-a-1\n    sha256: " + hash + "\n    tenant: team-a\n", "auth.admin.token_sha256: " + hash} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not say %q:\n%s", want, out)
		}
	}
	// Default id, from the hash.
	stdout.Reset()
	if err := keys([]string{"new"}, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`- id: key-[0-9a-f]{8}\n    sha256: [0-9a-f]{64}\n    tenant: default\n`).MatchString(stdout.String()) {
		t.Errorf("default id and tenant:\n%s", stdout.String())
	}
}

func TestKeysHash(t *testing.T) {
	t.Parallel()
	f := func(args []string, stdin, wantOut, wantErr string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := keys(args, strings.NewReader(stdin), &stdout, &stderr)
		if (err == nil) != (wantErr == "") || err != nil && !strings.Contains(err.Error(), wantErr) {
			t.Errorf("keys %q < %q: %v, want %q", args, stdin, err, wantErr)
		}
		if stdout.String() != wantOut {
			t.Errorf("keys %q < %q printed %q, want %q", args, stdin, stdout.String(), wantOut)
		}
	}
	key := "ig_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	f([]string{"hash"}, key+"\n", auth.HashKey(key)+"\n", "")
	f([]string{"hash"}, "  "+key+"  \r\n", auth.HashKey(key)+"\n", "")
	f([]string{"hash"}, "", "", "no key on standard input")
	f([]string{"hash"}, "short", "", "the key has 5 characters")
	f([]string{"hash"}, key+" "+key, "", "more than one word")
	f([]string{"hash", key}, key, "", "reads the key from standard input")
	f([]string{}, "", "", "keys needs a command")
	f([]string{"rotate"}, "", "", `unknown keys command "rotate"`)
	f([]string{"new", "--id", "a b"}, "", "", `--id: "a b" may hold only`)
	f([]string{"new", "extra"}, "", "", `unexpected argument "extra"`)

	var stdout, stderr bytes.Buffer
	err := keys([]string{"hash", "x"}, nil, &stdout, &stderr)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("keys hash x: %v is not a usage error", err)
	}
}
