//go:build race

package storetest

// raceEnabled scales the default work down under the race detector, which
// slows the transpiled SQLite several times over.
const raceEnabled = true
