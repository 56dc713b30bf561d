//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// own makes this process the only one to open the database at path: it
// holds an exclusive lock on path+".lock" until release is called (or the
// process ends, however it ends). A second process, or a second open in
// this one, is refused while the lock is held.
func own(path string) (release func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlite: %s is open in another process (or twice in this one); "+
				"one process serves an SQLite database, several instances need PostgreSQL", path)
		}
		return nil, fmt.Errorf("sqlite: lock %s.lock: %w", path, err)
	}
	return func() { f.Close() }, nil
}
