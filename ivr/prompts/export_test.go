package prompts

import "sort"

// Names lists the clips of the set.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.pcm))
	for n := range s.pcm {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Has reports whether the set has the clip.
func (s *Set) Has(name string) bool {
	_, ok := s.pcm[name]
	return ok
}
