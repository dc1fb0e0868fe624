package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLifecycleScript runs scripts/lifecycle.sh, the README's model
// lifecycle, with the test's binary: v1's drift report must name the
// shifted feature, the canary must promote v2 through every step, and v2's
// report must be clean, or the script fails.
func TestLifecycleScript(t *testing.T) {
	if testing.Short() {
		t.Skip("the lifecycle takes about a minute")
	}
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the script needs curl")
	}
	addrs := freeAddrs(t, 2)
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "scripts", "lifecycle.sh"))
	cmd.Env = append(cmd.Environ(), "BIN="+binary, "WORK="+t.TempDir(),
		"PORT="+port(addrs[0]), "ADMIN_PORT="+port(addrs[1]), "RATE=300")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := out.String()
	if err != nil {
		t.Fatalf("scripts/lifecycle.sh: %v\n%s", err, text)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`version 1\.0\.0: drift \(drifted: monthly_charges`),
		regexp.MustCompile(`canary: +weights 10% 50% 100%, then (promoted|idle)`),
		regexp.MustCompile(`production +1\.0\.0 +1\.1\.0 +promote +canary`),
		regexp.MustCompile(`version 1\.1\.0: none \(drifted: none\)`),
		regexp.MustCompile(`lifecycle: done`),
	} {
		if !want.MatchString(text) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
