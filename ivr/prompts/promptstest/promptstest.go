// Package promptstest is for tests that listen to the phone line: the
// clips of a prompts.Set as samples, and where a clip is heard in a
// caller's recording.
package promptstest

import (
	"encoding/binary"
	"math"
	"math/cmplx"

	"katong/ivr/prompts"
)

// Clips is the samples of the clips joined, what a Say action of them
// plays (prompts.Set.PCM).
func Clips(s *prompts.Set, names []string) ([]int16, error) {
	b, err := s.PCM(names)
	if err != nil {
		return nil, err
	}
	return Samples(b), nil
}

// Samples turns 16-bit little-endian PCM into samples.
func Samples(pcm []byte) []int16 {
	out := make([]int16, len(pcm)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	return out
}

// Find looks for pattern in rec, both 8 kHz samples, by normalised
// cross-correlation, and returns where it matches best and how well: a
// score near 1 for a copy of the pattern at any loudness (after G.711 and
// a network, still above 0.9), near 0 for unrelated sound. With it a test
// tells from a caller's recording that the line said what it should.
func Find(rec, pattern []int16) (offset int, score float64) {
	n, m := len(rec), len(pattern)
	if m == 0 || n < m {
		return 0, 0
	}
	size := 1
	for size < n+m {
		size <<= 1
	}
	a := make([]complex128, size)
	b := make([]complex128, size)
	var pe float64
	for i, v := range rec {
		a[i] = complex(float64(v), 0)
	}
	for i, v := range pattern {
		b[i] = complex(float64(v), 0)
		pe += float64(v) * float64(v)
	}
	if pe == 0 {
		return 0, 0
	}
	fft(a, false)
	fft(b, false)
	for i := range a {
		a[i] *= cmplx.Conj(b[i])
	}
	fft(a, true)
	// Energy of each window of rec from prefix sums of squares.
	sq := make([]float64, n+1)
	for i, v := range rec {
		sq[i+1] = sq[i] + float64(v)*float64(v)
	}
	best, at := 0.0, 0
	for k := 0; k+m <= n; k++ {
		we := sq[k+m] - sq[k]
		if we < pe*1e-4 {
			continue // silence matches nothing
		}
		if s := real(a[k]) / float64(size) / math.Sqrt(we*pe); s > best {
			best, at = s, k
		}
	}
	return at, best
}

// fft is an in-place radix-2 FFT of a power-of-two length; inverse
// leaves out the 1/n.
func fft(x []complex128, inverse bool) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Rect(1, sign*2*math.Pi/float64(size))
		for start := 0; start < n; start += size {
			t := complex(1, 0)
			for k := 0; k < size/2; k++ {
				u, v := x[start+k], x[start+k+size/2]*t
				x[start+k], x[start+k+size/2] = u+v, u-v
				t *= w
			}
		}
	}
}
