// Package model is the trained-artifact format shared by training (which
// writes it) and serving (which reads it): a versioned header with the
// artifact's metadata, then the recipe's own encoding of the model. Artifacts
// live in a blob.Bucket, so serving and training meet only here.
package model

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// magic starts every artifact; FormatVersion is bumped on incompatible changes.
const (
	magic         = "ATTUNEMD"
	FormatVersion = 1
)

// Meta describes an artifact.
type Meta struct {
	Recipe             string
	RecipeType         recipe.Type
	SolutionVersionARN string
	SolutionARN        string
	DatasetGroupARN    string
	Created            time.Time
	Params             map[string]string
	Metrics            map[string]float64
	// TrainedThrough is the sequence number of the last interactions chunk
	// the model saw; serving reads newer chunks as live history.
	TrainedThrough int64
	Interactions   int
	Users, Items   int
}

// Key returns the bucket key of a solution version's artifact.
func Key(solutionVersionARN string) string {
	// arn:...:solution/NAME/VERSION -> models/NAME/VERSION.model
	i := strings.Index(solutionVersionARN, ":solution/")
	return path.Join("models", solutionVersionARN[i+len(":solution/"):]) + ".model"
}

// Write stores meta and m under key, streaming the encoding into the bucket.
func Write(ctx context.Context, b blob.Bucket, key string, meta Meta, m recipe.Model) error {
	hdr, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("model %s: encode meta: %w", key, err)
	}
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		err := writeTo(bw, hdr, m)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	if err := b.Put(ctx, key, pr); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("model %s: write: %w", key, err)
	}
	return nil
}

func writeTo(w io.Writer, hdr []byte, m recipe.Model) error {
	var fixed [16]byte
	copy(fixed[:8], magic)
	binary.LittleEndian.PutUint32(fixed[8:], FormatVersion)
	binary.LittleEndian.PutUint32(fixed[12:], uint32(len(hdr)))
	if _, err := w.Write(fixed[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	return m.Encode(w)
}

// decoder finds the recipe that can decode an artifact.
type decoder interface {
	Get(name string) (recipe.Recipe, bool)
}

// ReadMeta reads only the header of an artifact.
func ReadMeta(ctx context.Context, b blob.Bucket, key string) (Meta, error) {
	rc, err := b.Open(ctx, key)
	if err != nil {
		return Meta{}, fmt.Errorf("model %s: %w", key, err)
	}
	defer rc.Close()
	meta, _, err := readHeader(bufio.NewReader(rc), key)
	return meta, err
}

// Read loads an artifact and decodes its model with the recipe named in it.
func Read(ctx context.Context, b blob.Bucket, key string, reg decoder) (Meta, recipe.Model, error) {
	rc, err := b.Open(ctx, key)
	if err != nil {
		return Meta{}, nil, fmt.Errorf("model %s: %w", key, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	meta, _, err := readHeader(br, key)
	if err != nil {
		return meta, nil, err
	}
	r, ok := reg.Get(meta.Recipe)
	if !ok {
		return meta, nil, errs.E(errs.Invalid, "model %s: recipe %q is not known to this build", key, meta.Recipe)
	}
	m, err := r.Decode(br)
	if err != nil {
		return meta, nil, fmt.Errorf("model %s: decode %s model: %w", key, meta.Recipe, err)
	}
	return meta, m, nil
}

func readHeader(r io.Reader, key string) (Meta, int, error) {
	var fixed [16]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return Meta{}, 0, errs.Wrap(errs.Invalid, err, "model %s: truncated header", key)
	}
	if string(fixed[:8]) != magic {
		return Meta{}, 0, errs.E(errs.Invalid, "model %s: not an Attune model artifact", key)
	}
	if v := binary.LittleEndian.Uint32(fixed[8:]); v != FormatVersion {
		return Meta{}, 0, errs.E(errs.Invalid, "model %s: format version %d, this build reads %d", key, v, FormatVersion)
	}
	n := binary.LittleEndian.Uint32(fixed[12:])
	if n > 16<<20 {
		return Meta{}, 0, errs.E(errs.Invalid, "model %s: header of %d bytes is implausible", key, n)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Meta{}, 0, errs.Wrap(errs.Invalid, err, "model %s: truncated header", key)
	}
	var meta Meta
	if err := json.Unmarshal(hdr, &meta); err != nil {
		return Meta{}, 0, errs.Wrap(errs.Invalid, err, "model %s: bad header", key)
	}
	return meta, 16 + int(n), nil
}
