package featurefetch

import "testing"

// MurmurHash3_x86_32's published test vectors (seed 0 unless given).
func TestMurmur3(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0}, {"", 1, 0x514e28b7}, {"hello", 0, 0x248bfa47}, {"a", 0, 0x3c2569b2},
		{"abc", 0, 0xb3dd93fa}, {"abcd", 0, 0x43ed676a}, {"Hello, world!", 1234, 0xfaf6cdb3},
		{"The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723},
	} {
		if got := murmur3x86_32([]byte(c.in), c.seed); got != c.want {
			t.Errorf("murmur3(%q, %d) = %#x, want %#x", c.in, c.seed, got, c.want)
		}
	}
}
