package serving

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"os"
	"runtime"
)

// spillFile keeps the histories of users evicted from memory by
// Options.MaxLiveUsers in an unlinked temporary file, so that an evicted
// user's next request or event brings their history back without a scan of
// the group's interactions. Each record is the key, then the events in the
// histories' own item and event indexes, 18 bytes each; memory holds only a
// 64-bit hash of the key and the record's place, about 40 bytes per spilled
// user. A record superseded (its user came back) is garbage until the file
// is compacted, which happens when garbage exceeds the live records.
//
// It is not safe for concurrent use: histories.mu guards it.
type spillFile struct {
	dir   string
	f     *os.File
	seed  maphash.Seed
	index map[uint64]spillRef
	end   int64 // bytes written
	live  int64 // bytes of records in index
	buf   []byte
	// minCompact is the file size below which it is never compacted.
	minCompact int64
}

// spillRef locates one record.
type spillRef struct {
	off int64
	len uint32
}

const spillEventBytes = 18

// minCompactBytes keeps small files from being compacted over and over.
const minCompactBytes = 64 << 20

func newSpillFile(dir string) *spillFile {
	return &spillFile{dir: dir, seed: maphash.MakeSeed(), index: map[uint64]spillRef{}, minCompact: minCompactBytes}
}

// open creates the file on first use. The file is unlinked at once: it
// lives as long as the histories that own it (see closeWith), and a crash
// leaves nothing behind.
func (s *spillFile) open() error {
	if s.f != nil {
		return nil
	}
	if s.dir != "" {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
	}
	f, err := os.CreateTemp(s.dir, "attune-spill-*")
	if err != nil {
		return fmt.Errorf("spill file: %w", err)
	}
	_ = os.Remove(f.Name())
	s.f = f
	return nil
}

// closeWith closes the file once owner is unreachable.
func (s *spillFile) closeWith(owner *histories) {
	runtime.AddCleanup(owner, func(s *spillFile) {
		if s.f != nil {
			s.f.Close()
		}
	}, s)
}

func (s *spillFile) hash(key string) uint64 { return maphash.String(s.seed, key) }

// has reports whether key has a record.
func (s *spillFile) has(key string) bool {
	_, ok := s.index[s.hash(key)]
	return ok
}

// put writes key's events (oldest first), replacing any earlier record.
func (s *spillFile) put(key string, evs []hevent) error {
	if err := s.open(); err != nil {
		return err
	}
	b := s.buf[:0]
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for _, e := range evs {
		b = binary.LittleEndian.AppendUint32(b, uint32(e.item))
		b = binary.LittleEndian.AppendUint16(b, e.event)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.time))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(e.value))
	}
	s.buf = b
	if _, err := s.f.WriteAt(b, s.end); err != nil {
		return fmt.Errorf("spill file: %w", err)
	}
	h := s.hash(key)
	s.drop(h)
	s.index[h] = spillRef{off: s.end, len: uint32(len(b))}
	s.end += int64(len(b))
	s.live += int64(len(b))
	return nil
}

// take returns key's events, oldest first, appended to dst, and removes
// the record; found is false when key has none.
func (s *spillFile) take(dst []hevent, key string) (_ []hevent, found bool, err error) {
	h := s.hash(key)
	ref, ok := s.index[h]
	if !ok {
		return dst, false, nil
	}
	b := make([]byte, ref.len)
	if _, err := s.f.ReadAt(b, ref.off); err != nil {
		return dst, false, fmt.Errorf("spill file: %w", err)
	}
	k, evs, err := decodeSpill(b)
	if err != nil {
		return dst, false, err
	}
	if k != key {
		return dst, false, nil // another key with the same hash
	}
	s.drop(h)
	return append(dst, evs...), true, nil
}

// remove forgets key's record, if any.
func (s *spillFile) remove(key string) { s.drop(s.hash(key)) }

func (s *spillFile) drop(h uint64) {
	if ref, ok := s.index[h]; ok {
		delete(s.index, h)
		s.live -= int64(ref.len)
	}
}

// decodeSpill parses one record.
func decodeSpill(b []byte) (string, []hevent, error) {
	bad := errors.New("spill file: corrupt record")
	kl, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < kl {
		return "", nil, bad
	}
	key := string(b[n : n+int(kl)])
	b = b[n+int(kl):]
	ne, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n)/spillEventBytes < ne {
		return "", nil, bad
	}
	b = b[n:]
	evs := make([]hevent, ne)
	for i := range evs {
		p := b[i*spillEventBytes:]
		evs[i] = hevent{item: int32(binary.LittleEndian.Uint32(p)), event: binary.LittleEndian.Uint16(p[4:]),
			time: int64(binary.LittleEndian.Uint64(p[6:])), value: math.Float32frombits(binary.LittleEndian.Uint32(p[14:]))}
	}
	return key, evs, nil
}

// compactIfWasteful rewrites the live records into a new file when the
// garbage exceeds them (and the file is not small), so the file stays
// within about twice the live records.
func (s *spillFile) compactIfWasteful() error {
	if s.f == nil || s.end < s.minCompact || s.end-s.live < s.live {
		return nil
	}
	old := s.f
	s.f = nil
	if err := s.open(); err != nil {
		s.f = old
		return err
	}
	var end int64
	index := make(map[uint64]spillRef, len(s.index))
	var buf []byte
	fail := func(err error) error {
		s.f.Close()
		s.f = old
		return fmt.Errorf("spill file: compact: %w", err)
	}
	for h, ref := range s.index {
		buf = append(buf[:0], make([]byte, ref.len)...)
		if _, err := old.ReadAt(buf, ref.off); err != nil {
			return fail(err)
		}
		if _, err := s.f.WriteAt(buf, end); err != nil {
			return fail(err)
		}
		index[h] = spillRef{off: end, len: ref.len}
		end += int64(ref.len)
	}
	s.index = index
	old.Close()
	s.end, s.live = end, end
	return nil
}
