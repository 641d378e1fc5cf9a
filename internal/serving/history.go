package serving

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/store"
)

// hevent is one interaction of a history in the group's own id space (item
// and event-type indexes interned by the history, not by any model), so
// that every campaign of a dataset group can share one history whatever
// its model's item table.
type hevent struct {
	item  int32
	event uint16
	time  int64
	value float32 // NaN when the interaction has no EVENT_VALUE
}

// histories holds each user's (and anonymous session's) most recent
// interactions of one dataset group. The bulk loaded at campaign load is
// stored column-wise in compressed sparse rows, about 10 bytes per kept
// interaction (14 with EVENT_VALUE), not as one object per interaction;
// events observed later are appended per user.
type histories struct {
	maxPerUser int

	// Base rows, immutable after build: row r's events are
	// [ptr[r], ptr[r+1]) of the column slices, oldest first.
	ptr    []uint32
	items  []int32
	events []uint16
	toff   []uint32  // seconds after tbase
	values []float32 // nil when no loaded interaction had a value
	tbase  int64

	// mu guards the fields below.
	mu         sync.RWMutex
	users      map[string]int32 // USER_ID -> row
	sessions   map[string]int32 // sessionId of anonymous events -> row
	itemIndex  map[string]int32
	itemIDs    []string
	eventIndex map[string]uint16
	eventNames []string
	live       map[int32][]hevent // events observed after the build, per row
	rows       int32              // rows in use (base rows first)
}

// loadHistories scans every committed chunk of an interactions dataset and
// keeps the newest maxPerUser interactions of each user. It returns the
// sequence number of the last chunk read.
func loadHistories(ctx context.Context, sc corpus.ChunkScanner, datasetARN string, maxPerUser int) (*histories, int64, error) {
	b := corpus.NewBuilder()
	var through int64
	err := sc.ScanChunks(ctx, datasetARN, "", 0, func(c store.Chunk) error {
		batch, err := records.Decode(c.Data)
		if err != nil {
			return fmt.Errorf("chunk %d: %w", c.Seq, err)
		}
		through = c.Seq
		return b.AddBatch(batch, corpus.NoFilter)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("load histories of %s: %w", datasetARN, err)
	}
	return buildHistories(b.Interactions(), maxPerUser), through, nil
}

// buildHistories groups interactions by user (a counting sort), orders each
// user's events by time and keeps the newest maxPerUser.
func buildHistories(in interface {
	Len() int
}, maxPerUser int) *histories {
	return buildFrom(in.(*interactionsAlias), maxPerUser)
}
