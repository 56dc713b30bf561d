//go:build !unix

package sqlite

// own cannot lock a file here: the database is opened as shared, and
// nothing is kept on the assumption that this process alone writes it.
func own(path string) (release func(), err error) { return nil, nil }
