package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// This file holds what every backend needs in the same form, so that the
// SQLite and PostgreSQL implementations (siblings that may not import each
// other) share one copy of it.

// CheckChunk validates c as a chunk of source want; a zero Source is taken
// as want.
func CheckChunk(c *Chunk, want Source) error {
	if c.Source == "" {
		c.Source = want
	}
	switch {
	case c.Dataset == "":
		return errs.E(errs.Invalid, "chunk has no dataset")
	case c.Source != want:
		return errs.E(errs.Invalid, "chunk of dataset %s has source %q, want %q", c.Dataset, c.Source, want)
	case c.Rows < 0:
		return errs.E(errs.Invalid, "chunk of dataset %s has %d rows", c.Dataset, c.Rows)
	case want == Bulk && c.Job == "":
		return errs.E(errs.Invalid, "bulk chunk of dataset %s has no import job", c.Dataset)
	case want == Put && c.Job != "":
		return errs.E(errs.Invalid, "put chunk of dataset %s names import job %s", c.Dataset, c.Job)
	}
	return nil
}

// NotNull returns b, or an empty slice for nil: blob columns are NOT NULL
// and drivers send a nil slice as NULL.
func NotNull(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// TokenCheck hashes the query a page token belongs to together with the
// token's body, so that a token is refused for another query. Statuses are
// sorted: their order does not change the query.
func TokenCheck(q ListQuery, body []byte) uint64 {
	h := fnv.New64a()
	st := slices.Clone(q.Status)
	slices.Sort(st)
	// NUL separators keep ("ab","c") and ("a","bc") apart.
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00", q.Kind, q.Parent, len(st))
	for _, v := range st {
		fmt.Fprintf(h, "%s\x00", v)
	}
	h.Write(body)
	return h.Sum64()
}

// Migration is one embedded schema change of a backend; Version is the
// number its file name starts with.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the *.sql files of dir in fsys, in version order,
// refusing names without a leading positive number and duplicate versions.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", base, err)
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// RewriteEach is the loop of RewriteChunks that both backends share: for
// each seq, in order, get loads the chunk (ok false when it vanished since
// the seqs were listed, e.g. replaced by a FULL import), fn decides, and
// apply stores a non-nil answer (a Rewrite with Rows 0 deletes the chunk).
// It checks ctx between chunks and validates fn's answers.
func RewriteEach(ctx context.Context, seqs []int64, get func(ctx context.Context, seq int64) (Chunk, bool, error),
	apply func(ctx context.Context, seq int64, rw *Rewrite) error, fn func(Chunk) (*Rewrite, error)) error {
	for _, seq := range seqs {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, ok, err := get(ctx, seq)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		rw, err := fn(c)
		if err != nil {
			return err
		}
		if rw == nil {
			continue
		}
		if rw.Rows < 0 {
			return errs.E(errs.Invalid, "rewrite of chunk %d of dataset %s has %d rows", seq, c.Dataset, rw.Rows)
		}
		if err := apply(ctx, seq, rw); err != nil {
			return err
		}
	}
	return nil
}

// CheckLinks validates links for LinkSessions: errs.Invalid naming the
// first link with an empty member.
func CheckLinks(links []SessionLink) error {
	for i, l := range links {
		if l.Group == "" || l.Session == "" || l.User == "" {
			return errs.E(errs.Invalid, "session link %d: group, session and user must all be set", i)
		}
	}
	return nil
}
