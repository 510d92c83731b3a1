package tslsync

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// LoadCache reads the cache file, verifies it as a fetched list (signer,
// structure, a usable anchor, at the current time) and installs it: the
// list a start with the URL down serves. The file's modification time is
// when it was last verified from the URL. It reports whether a list was
// installed; a missing file is not an error, an unusable one is, and
// leaves nothing installed.
func (s *Syncer) LoadCache() (bool, error) {
	if s.o.CacheFile == "" {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.o.CacheFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("tslsync: cache file: %w", err)
	case fi.Size() > s.o.MaxBytes:
		return false, fmt.Errorf("tslsync: cache file %s: %d bytes, more than the limit of %d", s.o.CacheFile, fi.Size(), s.o.MaxBytes)
	}
	data, err := os.ReadFile(s.o.CacheFile)
	if err != nil {
		return false, fmt.Errorf("tslsync: cache file: %w", err)
	}
	l, outcome, err := s.verify(data, "cache")
	if err != nil {
		return false, fmt.Errorf("tslsync: cache file %s refused (%s): %w", s.o.CacheFile, outcome, err)
	}
	l.VerifiedAt = fi.ModTime()
	s.cur.Store(l)
	s.publish(l)
	return true, nil
}

// persist writes a new list to the cache file: a temporary file in the same
// directory, synced, then renamed over the old one, so that a crash leaves
// the old list or the new one, never half of either. A failure is logged:
// the list is good and used all the same.
func (s *Syncer) persist(l *List) {
	if s.o.CacheFile == "" {
		return
	}
	if err := writeAtomic(s.o.CacheFile, l.Data); err != nil {
		s.o.Logger.Error("trusted list not persisted; a restart with the URL down will not have it", "file", s.o.CacheFile, "err", err)
		return
	}
	s.touch(l.VerifiedAt)
}

// touch sets the cache file's modification time to when the list was last
// verified.
func (s *Syncer) touch(at time.Time) {
	if s.o.CacheFile == "" {
		return
	}
	if err := os.Chtimes(s.o.CacheFile, at, at); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.o.Logger.Warn("trusted list cache file: cannot record the verification time", "file", s.o.CacheFile, "err", err)
	}
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
