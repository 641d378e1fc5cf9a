// Package corpus reads a dataset's stored record chunks into the compact
// forms that training and serving work on: interactions as parallel int32
// arrays with interned ids, users and items as their latest row per id (the
// last row of an id wins, across imports and PutItems/PutUsers). It sits
// below train and serving so that both can share it without importing each
// other; it must not import net/http or any backend.
package corpus

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"strings"

	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

// ChunkScanner is the part of store.Records that reading needs.
type ChunkScanner interface {
	ScanChunks(ctx context.Context, dataset string, source store.Source, after int64, fn func(store.Chunk) error) error
}

// Filter selects the interactions a solution trains on.
type Filter struct {
	// EventType keeps only interactions of this EVENT_TYPE; "" keeps all.
	EventType string
	// MinEventValue, when not NaN, keeps only interactions whose
	// EVENT_VALUE is at least this (Personalize's eventValueThreshold).
	MinEventValue float64
}

// NoFilter keeps every interaction.
var NoFilter = Filter{MinEventValue: math.NaN()}

// Builder accumulates interactions, interning user, item and event-type ids
// to dense indexes. The zero value is not usable; call NewBuilder.
//
// Rows stored by PutEvents carry EVENT_ID and SESSION_ID columns. As in
// Personalize, the event id tells unique events apart: a later row with the
// same event id in the same session (a client's retry) is not used. Imported
// rows have no event id and are all kept.
type Builder struct {
	users, items, events map[string]int32
	out                  *recipe.Interactions
	// seen holds a 64-bit hash of (session, event id) per event kept so far;
	// two distinct events collide with probability about n²/2⁶⁵ (1e-6 at
	// 10M events), which costs at worst one dropped event.
	seen map[uint64]struct{}
	seed maphash.Seed
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{users: map[string]int32{}, items: map[string]int32{}, events: map[string]int32{}, out: &recipe.Interactions{},
		seen: map[uint64]struct{}{}, seed: maphash.MakeSeed()}
}

// EventKey is the identity of a PutEvents event for de-duplication: its
// session and event id. The events API and training share it.
func EventKey(seed maphash.Seed, session, eventID string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(session)
	h.WriteByte(0)
	h.WriteString(eventID)
	return h.Sum64()
}

// repeated reports whether row r of the batch repeats an event already
// added (same session and event id), and remembers it otherwise.
func (b *Builder) repeated(idc, sc *records.Column, r int) bool {
	if idc == nil || idc.IsNull(r) {
		return false
	}
	session := ""
	if sc != nil && !sc.IsNull(r) {
		session = sc.Dict[sc.Codes[r]]
	}
	k := EventKey(b.seed, session, idc.Dict[idc.Codes[r]])
	if _, ok := b.seen[k]; ok {
		return true
	}
	b.seen[k] = struct{}{}
	return false
}

func intern(m map[string]int32, ids *[]string, id string) int32 {
	if i, ok := m[id]; ok {
		return i
	}
	i := int32(len(*ids))
	m[id] = i
	*ids = append(*ids, id)
	return i
}

// User returns the index of a user id, adding it when new.
func (b *Builder) User(id string) int32 { return intern(b.users, &b.out.UserIDs, id) }

// Item returns the index of an item id, adding it when new.
func (b *Builder) Item(id string) int32 { return intern(b.items, &b.out.ItemIDs, id) }

// Add appends one interaction. value is NaN when the interaction has none.
func (b *Builder) Add(user, item string, ts int64, event string, value float32) {
	o := b.out
	o.User = append(o.User, b.User(user))
	o.Item = append(o.Item, b.Item(item))
	o.Time = append(o.Time, ts)
	o.Event = append(o.Event, uint16(intern(b.events, &o.EventTypes, event)))
	o.Value = append(o.Value, value)
}

// AddBatch appends the rows of a decoded interactions chunk that pass f.
// Ids are mapped once per chunk dictionary entry, not once per row.
func (b *Builder) AddBatch(batch *records.Batch, f Filter) error {
	uc, ic, tc := batch.Column("USER_ID"), batch.Column("ITEM_ID"), batch.Column("TIMESTAMP")
	if uc == nil || ic == nil || tc == nil || uc.Type != schema.String || ic.Type != schema.String {
		return fmt.Errorf("interactions chunk lacks USER_ID, ITEM_ID or TIMESTAMP")
	}
	ec, vc := batch.Column("EVENT_TYPE"), batch.Column("EVENT_VALUE")
	idc, sc := stringColumn(batch, "EVENT_ID"), stringColumn(batch, "SESSION_ID")
	umap := make([]int32, len(uc.Dict))
	for i := range umap {
		umap[i] = -1
	}
	imap := make([]int32, len(ic.Dict))
	for i := range imap {
		imap[i] = -1
	}
	var emap []int32
	if ec != nil && ec.Type == schema.String {
		emap = make([]int32, len(ec.Dict))
		for i := range emap {
			emap[i] = -1
		}
	}
	o := b.out
	for r := 0; r < batch.Rows; r++ {
		// Checked first, so that the first copy of an event claims its id
		// even when this solution's filter skips it.
		if b.repeated(idc, sc, r) {
			continue
		}
		if uc.IsNull(r) || ic.IsNull(r) {
			continue // user-less events (anonymous sessions) are kept by the events path, not trained on
		}
		event := ""
		if emap != nil && !ec.IsNull(r) {
			event = ec.Dict[ec.Codes[r]]
		}
		if f.EventType != "" && !strings.EqualFold(event, f.EventType) {
			continue
		}
		value := float32(math.NaN())
		if vc != nil {
			if v, ok := vc.Float(r); ok {
				value = float32(v)
			}
		}
		if !math.IsNaN(f.MinEventValue) && !(float64(value) >= f.MinEventValue) {
			continue
		}
		ts, _ := tc.Int(r)
		uCode, iCode := uc.Codes[r], ic.Codes[r]
		if umap[uCode] < 0 {
			umap[uCode] = b.User(uc.Dict[uCode])
		}
		if imap[iCode] < 0 {
			imap[iCode] = b.Item(ic.Dict[iCode])
		}
		var e int32
		if emap != nil && !ec.IsNull(r) {
			c := ec.Codes[r]
			if emap[c] < 0 {
				emap[c] = intern(b.events, &o.EventTypes, ec.Dict[c])
			}
			e = emap[c]
		} else {
			e = intern(b.events, &o.EventTypes, "")
		}
		o.User = append(o.User, umap[uCode])
		o.Item = append(o.Item, imap[iCode])
		o.Time = append(o.Time, ts)
		o.Event = append(o.Event, uint16(e))
		o.Value = append(o.Value, value)
	}
	return nil
}

// stringColumn returns the named String column of batch, or nil.
func stringColumn(batch *records.Batch, name string) *records.Column {
	if c := batch.Column(name); c != nil && c.Type == schema.String {
		return c
	}
	return nil
}

// Interactions returns what was added. The builder must not be used after.
func (b *Builder) Interactions() *recipe.Interactions { return b.out }

// ScanBatches decodes every committed chunk of a dataset from source (""
// means both) and passes it to fn with its sequence number, in Seq order,
// one chunk in memory at a time. It is the one chunk-scan loop that
// training, serving, exports and deletion share. fn's error stops the scan
// and is returned as is.
func ScanBatches(ctx context.Context, sc ChunkScanner, datasetARN string, source store.Source, fn func(seq int64, b *records.Batch) error) error {
	return sc.ScanChunks(ctx, datasetARN, source, 0, func(c store.Chunk) error {
		batch, err := records.Decode(c.Data)
		if err != nil {
			return fmt.Errorf("chunk %d: %w", c.Seq, err)
		}
		return fn(c.Seq, batch)
	})
}

// LoadInteractions streams every committed chunk of an interactions dataset
// through f. It returns the data and the sequence number of the last chunk
// read, from which a reader can later continue.
func LoadInteractions(ctx context.Context, sc ChunkScanner, datasetARN string, f Filter) (*recipe.Interactions, int64, error) {
	b := NewBuilder()
	var last int64
	err := ScanBatches(ctx, sc, datasetARN, "", func(seq int64, batch *records.Batch) error {
		last = seq
		return b.AddBatch(batch, f)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("load interactions of %s: %w", datasetARN, err)
	}
	return b.Interactions(), last, nil
}
