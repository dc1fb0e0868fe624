package router

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// logHist is a histogram of non-negative integers (nanoseconds, or
// probability differences in units of 1e-9) in buckets that grow by 1/8 per
// step: quantiles come out within about 6%, from 1 to 2^40 in 320 buckets.
// Recording is one atomic add, so request goroutines share it without a lock.
type logHist struct {
	buckets [histBuckets]atomic.Uint64
	count   atomic.Uint64
	sum     atomic.Uint64
	max     atomic.Uint64
}

const (
	histSubBits = 3 // 8 sub-buckets per power of two
	histOctaves = 40
	histBuckets = (histOctaves + 1) << histSubBits
)

func histBucket(v uint64) int {
	if v < 1<<histSubBits {
		return int(v)
	}
	exp := bits.Len64(v) - 1 // v in [2^exp, 2^(exp+1))
	sub := (v >> (exp - histSubBits)) & (1<<histSubBits - 1)
	i := (exp-histSubBits+1)<<histSubBits + int(sub)
	return min(i, histBuckets-1)
}

// histUpper is the largest value of bucket i, the value a quantile reports.
func histUpper(i int) uint64 {
	if i < 1<<histSubBits {
		return uint64(i)
	}
	exp := i>>histSubBits + histSubBits - 1
	sub := uint64(i & (1<<histSubBits - 1))
	lo := (1<<histSubBits | sub) << (exp - histSubBits)
	return lo + 1<<(exp-histSubBits) - 1
}

func (h *logHist) record(v uint64) {
	h.buckets[histBucket(v)].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// add adds src's counts to h; neither may be recorded into meanwhile for an
// exact sum (an approximate one is fine for reports).
func (h *logHist) add(src *logHist) {
	for i := range h.buckets {
		if n := src.buckets[i].Load(); n != 0 {
			h.buckets[i].Add(n)
		}
	}
	h.count.Add(src.count.Load())
	h.sum.Add(src.sum.Load())
	if m := src.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
}

// quantile returns the value below which q of the recorded values fall (the
// upper edge of its bucket, capped at the largest value seen), or 0 when
// nothing was recorded.
func (h *logHist) quantile(q float64) uint64 {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return min(histUpper(i), h.max.Load())
		}
	}
	return h.max.Load()
}

func (h *logHist) mean() float64 {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}
