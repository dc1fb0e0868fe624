package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway/auth"
)

// FuzzAuthenticate: whatever the two headers hold, Authenticate does not
// panic, fails with one of its two classes, and returns a key only when the
// headers carry that key's secret, exactly.
func FuzzAuthenticate(f *testing.F) {
	secrets := map[string]string{"team-a-1": keyA1, "team-a-2": keyA2, "team-b-1": keyB}
	for _, seed := range [][2]string{
		{"Bearer " + keyA1, ""}, {"", keyB}, {"bearer\t" + keyA2 + " ", ""}, {"", " " + keyA1},
		{"", ""}, {"Bearer", ""}, {"Bearer ", ""}, {"Basic dXNlcjpwYXNz", ""}, {"Bearer " + keyA1, keyA1},
		{"Bearer " + keyA1 + " x", ""}, {"Bearer\x00" + keyA1, ""}, {"\tBearer \t" + keyA1, ""},
		{"Bearer " + strings.Repeat("k", 10000), ""}, {"", "\xff\xfe"}, {"BEARER\u00a0" + keyA1, ""},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	a := newAuthenticator(f, testConfig())
	f.Fuzz(func(t *testing.T, authorization, apiKey []byte) {
		k, err := a.Authenticate(authorization, apiKey)
		if err != nil {
			if k != nil || !errors.Is(err, auth.ErrNoCredentials) && !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("Authenticate(%q, %q) = %v, %v", authorization, apiKey, k, err)
			}
			return
		}
		if got, want := presented(string(authorization), string(apiKey)), secrets[k.ID()]; got != want {
			t.Fatalf("Authenticate(%q, %q) = key %s, whose secret is not the one sent (%q)", authorization, apiKey, k.ID(), got)
		}
	})
}

// presented is the fuzzer's own, simpler reading of the headers: the key
// sent, or "" when they do not hold exactly one well-formed key.
func presented(authorization, apiKey string) string {
	isOWS := func(r rune) bool { return r == ' ' || r == '\t' }
	authorization, apiKey = strings.TrimFunc(authorization, isOWS), strings.TrimFunc(apiKey, isOWS)
	switch {
	case authorization == "" && apiKey != "":
		return apiKey
	case authorization == "" || apiKey != "":
		return ""
	}
	fields := strings.FieldsFunc(authorization, isOWS)
	if len(fields) != 2 || !strings.EqualFold(fields[0], "bearer") {
		return ""
	}
	return fields[1]
}
