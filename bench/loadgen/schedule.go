package loadgen

import (
	"math/rand/v2"
)

// schedule is the open model's arrival process: intended send times as ns
// offsets from the start of the run. It is owned by one goroutine.
type schedule struct {
	intervalNs float64 // mean gap, 1e9/rate
	rng        *rand.Rand
	k          uint64  // index of next
	next       float64 // intended time of request k, ns
	// kFrom is the index of the first request intended at or after
	// countFrom (the end of the warm-up); set once reached.
	countFrom float64
	kFrom     uint64
	fromSet   bool
}

func newSchedule(l Load) *schedule {
	s := &schedule{intervalNs: 1e9 / l.Rate, countFrom: float64(l.Warmup)}
	if l.Arrival == Poisson {
		s.rng = rand.New(rand.NewPCG(l.Seed, l.Seed^0x9e3779b97f4a7c15))
	}
	s.mark()
	return s
}

// peek is the intended time of the next request, ns.
func (s *schedule) peek() int64 { return int64(s.next) }

// advance moves to the following request.
func (s *schedule) advance() {
	s.k++
	if s.rng != nil {
		s.next += s.rng.ExpFloat64() * s.intervalNs
	} else {
		s.next = float64(s.k) * s.intervalNs // no accumulated rounding
	}
	s.mark()
}

func (s *schedule) mark() {
	if !s.fromSet && s.next >= s.countFrom {
		s.kFrom, s.fromSet = s.k, true
	}
}

// scheduledUntil advances past every request intended before endNs and
// returns how many were intended in [countFrom, endNs).
func (s *schedule) scheduledUntil(endNs int64) uint64 {
	for s.peek() < endNs {
		s.advance()
	}
	if !s.fromSet {
		return 0
	}
	return s.k - s.kFrom
}
