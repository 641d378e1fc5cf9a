package events_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/dataset"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/events"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	interactionsSchema = `{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","version":"1.0",
"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"EVENT_TYPE","type":"string"},
{"name":"TIMESTAMP","type":"long"},{"name":"EVENT_VALUE","type":["null","float"]},{"name":"DEVICE","type":["null","string"],"categorical":true},
{"name":"NUMBER_OF_RATINGS","type":["null","int"]}]}`
	itemsSchema = `{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema","version":"1.0",
"fields":[{"name":"ITEM_ID","type":"string"},{"name":"GENRES","type":["null","string"],"categorical":true},{"name":"PRICE","type":"float"}]}`
	usersSchema = `{"type":"record","name":"Users","namespace":"com.amazonaws.personalize.schema","version":"1.0",
"fields":[{"name":"USER_ID","type":"string"},{"name":"AGE","type":["null","int"]}]}`
)

// recorder is an Observer that keeps every update.
type recorder struct {
	mu      sync.Mutex
	updates []corpus.Update
}

func (r *recorder) Observe(u corpus.Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, u)
}

func (r *recorder) events() []corpus.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []corpus.Event
	for _, u := range r.updates {
		out = append(out, u.Events...)
	}
	return out
}

// countingStore counts the group commits (AppendLinked calls) and can slow
// them down, to show that concurrent requests share commits.
type countingStore struct {
	store.Store
	calls atomic.Int64
	delay time.Duration
	// hang, when set, blocks AppendLinked until the channel is closed,
	// whatever its context says: a store that hangs.
	hang atomic.Pointer[chan struct{}]
	// scans counts ScanChunks calls (chunk data read back).
	scans atomic.Int64
}

func (c *countingStore) ScanChunks(ctx context.Context, dataset string, source store.Source, after int64, fn func(store.Chunk) error) error {
	c.scans.Add(1)
	return c.Store.ScanChunks(ctx, dataset, source, after, fn)
}

func (c *countingStore) AppendLinked(ctx context.Context, cs []store.Chunk, links []store.SessionLink) ([]int64, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	if h := c.hang.Load(); h != nil {
		<-*h
	}
	return c.Store.AppendLinked(ctx, cs, links)
}

// fixture is a dataset group with Interactions, Items and Users datasets and
// an ACTIVE event tracker, over a real SQLite store.
type fixture struct {
	st       *countingStore
	svc      *events.Service
	obs      *recorder
	group    string
	datasets map[string]string // by type: Interactions, Items, Users
	tracking string
	cancel   context.CancelFunc
	done     chan error
}

func newFixture(t testing.TB, opts events.Options, run bool) *fixture {
	t.Helper()
	ctx := t.Context()
	sq, err := sqlite.Open(ctx, t.TempDir(), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ds := dataset.New(sq, nil, dataset.Options{Poll: time.Hour}, time.Now, log)
	dctx, stopDS := context.WithCancel(context.Background())
	dsDone := make(chan error, 1)
	go func() { dsDone <- ds.Run(dctx) }()
	t.Cleanup(func() { stopDS(); <-dsDone })
	waitActive := func(get func() (string, error)) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			st, err := get()
			if err != nil {
				t.Fatal(err)
			}
			if st == "ACTIVE" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %s after 10s", st)
			}
		}
	}
	g, err := ds.CreateGroup(ctx, dataset.CreateGroupInput{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	waitActive(func() (string, error) { g, err := ds.Group(ctx, g.ARN); return g.Status, err })
	f := &fixture{st: &countingStore{Store: sq}, obs: &recorder{}, group: g.ARN, datasets: map[string]string{}}
	for _, d := range []struct{ typ, schema string }{{"Interactions", interactionsSchema}, {"Items", itemsSchema}, {"Users", usersSchema}} {
		sc, err := ds.CreateSchema(ctx, "shop-"+d.typ, d.schema, "")
		if err != nil {
			t.Fatalf("CreateSchema %s: %v", d.typ, err)
		}
		dd, err := ds.CreateDataset(ctx, dataset.CreateDatasetInput{Name: "shop-" + d.typ, SchemaARN: sc.ARN, GroupARN: g.ARN, Type: d.typ})
		if err != nil {
			t.Fatalf("CreateDataset %s: %v", d.typ, err)
		}
		waitActive(func() (string, error) { d, err := ds.Dataset(ctx, dd.ARN); return d.Status, err })
		f.datasets[d.typ] = dd.ARN
	}
	f.svc = events.New(f.st, f.obs, opts, time.Now, log)
	tr, err := f.svc.CreateTracker(ctx, "shop-tracker", g.ARN, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.tracking = tr.TrackingID
	if run {
		f.start(t)
		waitActive(func() (string, error) { tr, err := f.svc.Tracker(ctx, tr.ARN); return tr.Status, err })
	}
	return f
}

// start runs the service until the test ends.
func (f *fixture) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.svc.Run(ctx) }()
	t.Cleanup(f.stop)
}

func (f *fixture) stop() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}

// rows decodes every stored PUT row of a dataset as column -> value text
// ("" for null).
func (f *fixture) rows(t *testing.T, typ string) []map[string]string {
	t.Helper()
	var out []map[string]string
	err := f.st.ScanChunks(t.Context(), f.datasets[typ], store.Put, 0, func(c store.Chunk) error {
		b, err := records.Decode(c.Data)
		if err != nil {
			return err
		}
		for r := 0; r < b.Rows; r++ {
			m := map[string]string{}
			for i := range b.Columns {
				col := &b.Columns[i]
				if col.IsNull(r) {
					continue
				}
				if s, ok := col.String(r); ok {
					m[col.Name] = s
				} else if n, ok := col.Int(r); ok {
					m[col.Name] = fmt.Sprint(n)
				} else if x, ok := col.Float(r); ok {
					m[col.Name] = fmt.Sprint(x)
				}
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func event(item string) events.Event {
	return events.Event{EventType: "click", ItemID: item, SentAt: ptr(1700000000.5)}
}

func TestPutEventsValidation(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	ten := make([]events.Event, 11)
	for i := range ten {
		ten[i] = event("i1")
	}
	cases := []struct {
		name   string
		in     events.PutEventsInput
		kind   errs.Kind
		member string // must appear in the message
	}{
		{"missing itemId", events.PutEventsInput{SessionID: "s", Events: []events.Event{event("i1"), {EventType: "click", SentAt: ptr(1.7e9)}}}, errs.Invalid, "eventList[1].itemId is required by the Interactions schema"},
		{"missing sentAt", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1"}}}, errs.Invalid, "eventList[0].sentAt is required"},
		{"sentAt in milliseconds", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e12)}}}, errs.Invalid, "eventList[0].sentAt"},
		{"negative sentAt", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(-1.0)}}}, errs.Invalid, "eventList[0].sentAt"},
		{"properties not JSON", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Properties: ptr("{device:")}}}, errs.Invalid, "eventList[0].properties is not valid JSON"},
		{"properties not an object", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Properties: ptr(`[1]`)}}}, errs.Invalid, "eventList[0].properties must be a JSON object"},
		{"unknown property", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Properties: ptr(`{"color":"red"}`)}}}, errs.Invalid, `eventList[0].properties: unknown property "color"`},
		{"reserved property", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Properties: ptr(`{"userId":"u"}`)}}}, errs.Invalid, "use the userId member"},
		{"property of wrong type", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Properties: ptr(`{"numberOfRatings":"many"}`)}}}, errs.Invalid, "eventList[0].properties.numberOfRatings"},
		{"itemId member and property differ", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Properties: ptr(`{"itemId":"i2"}`)}}}, errs.Invalid, "eventList[0].itemId and eventList[0].properties.itemId give different values"},
		{"itemId property of wrong type", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", SentAt: ptr(1.7e9), Properties: ptr(`{"itemId":["a"]}`)}}}, errs.Invalid, "eventList[0].properties.itemId"},
		{"timestamp property", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Properties: ptr(`{"Timestamp":1}`)}}}, errs.Invalid, "use the sentAt member"},
		{"eventValue property not a number", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Properties: ptr(`{"eventValue":"lots"}`)}}}, errs.Invalid, "eventList[0].properties.eventValue"},
		{"too many events", events.PutEventsInput{SessionID: "s", Events: ten}, errs.Invalid, "eventList has 11 events"},
		{"no events", events.PutEventsInput{SessionID: "s"}, errs.Invalid, "eventList must have 1 to 10 events"},
		{"missing eventType", events.PutEventsInput{SessionID: "s", Events: []events.Event{{ItemID: "i1", SentAt: ptr(1.7e9)}}}, errs.Invalid, "eventList[0].eventType is required"},
		{"long recommendationId", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), RecommendationID: strings.Repeat("r", 41)}}}, errs.Invalid, "eventList[0].recommendationId is 41 characters long"},
		{"too many impressions", events.PutEventsInput{SessionID: "s", Events: []events.Event{{EventType: "click", ItemID: "i1", SentAt: ptr(1.7e9), Impression: make([]string, 26)}}}, errs.Invalid, "eventList[0].impression has 26 item ids"},
		{"missing sessionId", events.PutEventsInput{Events: []events.Event{event("i1")}}, errs.Invalid, "sessionId is required"},
		{"unknown trackingId", events.PutEventsInput{TrackingID: "nope", SessionID: "s", Events: []events.Event{event("i1")}}, errs.NotFound, "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.TrackingID == "" {
				tc.in.TrackingID = f.tracking
			}
			err := f.svc.PutEvents(t.Context(), tc.in)
			if errs.KindOf(err) != tc.kind {
				t.Fatalf("PutEvents = %v (kind %v), want kind %v", err, errs.KindOf(err), tc.kind)
			}
			if !strings.Contains(errs.Message(err), tc.member) {
				t.Errorf("PutEvents message = %q, want it to name %q", errs.Message(err), tc.member)
			}
		})
	}
	if rows := f.rows(t, "Interactions"); len(rows) != 0 {
		t.Errorf("rejected requests stored %d rows, want 0", len(rows))
	}
}

func TestPutEventsStoresColumns(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	in := events.PutEventsInput{TrackingID: f.tracking, SessionID: "s1", UserID: "u1", Events: []events.Event{{
		EventID: "e1", EventType: "purchase", ItemID: "i9", SentAt: ptr(1700000123.9), EventValue: ptr(4.5),
		Properties: ptr(`{"device":"phone","NumberOfRatings":12}`), Impression: []string{"i9", "i8"}}, event("i2")}}
	if err := f.svc.PutEvents(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	rows := f.rows(t, "Interactions")
	if len(rows) != 2 {
		t.Fatalf("stored %d rows, want 2", len(rows))
	}
	want := map[string]string{"USER_ID": "u1", "ITEM_ID": "i9", "EVENT_TYPE": "purchase", "TIMESTAMP": "1700000123",
		"EVENT_VALUE": "4.5", "DEVICE": "phone", "NUMBER_OF_RATINGS": "12", "EVENT_ID": "e1", "SESSION_ID": "s1"}
	for k, v := range want {
		if rows[0][k] != v {
			t.Errorf("row 0 %s = %q, want %q", k, rows[0][k], v)
		}
	}
	if rows[1]["EVENT_ID"] == "" || rows[1]["EVENT_ID"] == "e1" {
		t.Errorf("row 1 EVENT_ID = %q, want a generated id", rows[1]["EVENT_ID"])
	}
}

// TestPutEventsPropertiesCarryMembers sends the getting-started notebook's
// shape: itemId (and eventValue) only inside properties, as AWS's examples do.
func TestPutEventsPropertiesCarryMembers(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	cases := []struct {
		name       string
		ev         events.Event
		item, vals string // stored ITEM_ID and EVENT_VALUE
	}{
		{"itemId only in properties", events.Event{EventType: "click", SentAt: ptr(1.7e9), Properties: ptr(`{"itemId": "270"}`)}, "270", ""},
		{"itemId and eventValue in properties", events.Event{EventType: "rating", SentAt: ptr(1.7e9), Properties: ptr(`{"itemId": "movie_ten", "eventValue": 3}`)}, "movie_ten", "3"},
		{"eventValue as a string property", events.Event{EventType: "rating", SentAt: ptr(1.7e9), Properties: ptr(`{"itemId": "i4", "eventValue": "4"}`)}, "i4", "4"},
		{"member and property agree", events.Event{EventType: "click", ItemID: "i5", SentAt: ptr(1.7e9), Properties: ptr(`{"ITEMID": "i5"}`)}, "i5", ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: f.tracking, SessionID: "s", UserID: "u1", Events: []events.Event{tc.ev}})
			if err != nil {
				t.Fatalf("PutEvents = %v, want nil", err)
			}
			rows := f.rows(t, "Interactions")
			if len(rows) != i+1 {
				t.Fatalf("stored %d rows, want %d", len(rows), i+1)
			}
			if got := rows[i]["ITEM_ID"]; got != tc.item {
				t.Errorf("stored ITEM_ID = %q, want %q", got, tc.item)
			}
			if got := rows[i]["EVENT_VALUE"]; got != tc.vals {
				t.Errorf("stored EVENT_VALUE = %q, want %q", got, tc.vals)
			}
			if ev := f.obs.events(); ev[len(ev)-1].Item != tc.item {
				t.Errorf("observed item = %q, want %q", ev[len(ev)-1].Item, tc.item)
			}
		})
	}
}

func TestAnonymousSessionJoinsUser(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	ctx := t.Context()
	steps := []struct {
		user     string // userId sent
		wantUser string // user observed and stored
	}{
		{"", ""},     // anonymous: stored without a user
		{"u1", "u1"}, // the session identifies itself
		{"", "u1"},   // later anonymous events of the session are u1's
	}
	for i, s := range steps {
		err := f.svc.PutEvents(ctx, events.PutEventsInput{TrackingID: f.tracking, SessionID: "sess-1", UserID: s.user,
			Events: []events.Event{event(fmt.Sprintf("i%d", i))}})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	got := f.obs.events()
	if len(got) != len(steps) {
		t.Fatalf("observed %d events, want %d", len(got), len(steps))
	}
	rows := f.rows(t, "Interactions")
	for i, s := range steps {
		if got[i].User != s.wantUser || got[i].Session != "sess-1" || got[i].Item != fmt.Sprintf("i%d", i) {
			t.Errorf("observed event %d = %+v, want user %q session sess-1", i, got[i], s.wantUser)
		}
		if !math.IsNaN(float64(got[i].Value)) {
			t.Errorf("observed event %d value = %v, want NaN (none sent)", i, got[i].Value)
		}
		if rows[i]["USER_ID"] != s.wantUser || rows[i]["SESSION_ID"] != "sess-1" {
			t.Errorf("stored row %d = %v, want USER_ID %q SESSION_ID sess-1", i, rows[i], s.wantUser)
		}
	}
	// Another session stays anonymous.
	if err := f.svc.PutEvents(ctx, events.PutEventsInput{TrackingID: f.tracking, SessionID: "sess-2", Events: []events.Event{event("i1")}}); err != nil {
		t.Fatal(err)
	}
	if ev := f.obs.events(); ev[len(ev)-1].User != "" {
		t.Errorf("event of another session observed as user %q, want anonymous", ev[len(ev)-1].User)
	}
}

// TestSessionLinkIsDurable checks that a session joined to a user through
// one service is known to another service on the same store (a second
// replica, or this one after a restart), and that ForgetUsers unlinks it
// for both.
func TestSessionLinkIsDurable(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	ctx := t.Context()
	put := func(svc *events.Service, user, item string) {
		t.Helper()
		err := svc.PutEvents(ctx, events.PutEventsInput{TrackingID: f.tracking, SessionID: "sess-1", UserID: user, Events: []events.Event{event(item)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(f.svc, "u1", "i0")
	// A second service over the same store: its cache is empty.
	other := &recorder{}
	b := events.New(f.st, other, events.Options{}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	bctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(bctx) }()
	defer func() { cancel(); <-done }()
	put(b, "", "i1")
	if ev := other.events(); len(ev) != 1 || ev[0].User != "u1" {
		t.Fatalf("anonymous event on the other service observed as %+v, want user u1", ev)
	}
	// Relinked on the other service: the store holds the later user.
	put(b, "u2", "i2")
	if u, err := f.st.SessionUser(ctx, f.group, "sess-1"); err != nil || u != "u2" {
		t.Fatalf("stored link after relinking = %q, %v, want u2", u, err)
	}
	if err := b.ForgetUsers(ctx, f.group, map[string]struct{}{"u2": {}}, nil); err != nil {
		t.Fatalf("ForgetUsers: %v", err)
	}
	put(b, "", "i4")
	if ev := other.events(); ev[len(ev)-1].User != "" {
		t.Errorf("anonymous event after ForgetUsers observed as user %q, want anonymous", ev[len(ev)-1].User)
	}
	if u, err := f.st.SessionUser(ctx, f.group, "sess-1"); err != nil || u != "" {
		t.Errorf("stored link after ForgetUsers = %q, %v, want none", u, err)
	}
}

func TestPutItemsAndUsers(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	ctx := t.Context()
	cases := []struct {
		name    string
		put     func() error
		kind    errs.Kind // errs.Internal means success
		message string
	}{
		{"item ok", func() error {
			return f.svc.PutItems(ctx, f.datasets["Items"], []events.Entity{{ID: "new-1", Properties: ptr(`{"genres":["Horror","Action"],"price":9.5}`)}})
		}, errs.Internal, ""},
		{"item missing required column", func() error {
			return f.svc.PutItems(ctx, f.datasets["Items"], []events.Entity{{ID: "new-2", Properties: ptr(`{"genres":"Horror"}`)}})
		}, errs.Invalid, "items[0].properties.price is required by the Items schema"},
		{"item bad number", func() error {
			return f.svc.PutItems(ctx, f.datasets["Items"], []events.Entity{{ID: "x", Properties: ptr(`{"price":"cheap"}`)}})
		}, errs.Invalid, "items[0].properties.price"},
		{"item without id", func() error {
			return f.svc.PutItems(ctx, f.datasets["Items"], []events.Entity{{Properties: ptr(`{"price":1}`)}})
		}, errs.Invalid, "items[0].itemId is required"},
		{"items into the users dataset", func() error {
			return f.svc.PutItems(ctx, f.datasets["Users"], []events.Entity{{ID: "x", Properties: ptr(`{"price":1}`)}})
		}, errs.Invalid, "is a Users dataset"},
		{"missing dataset", func() error {
			return f.svc.PutItems(ctx, arn.Scope{Region: "us-east-1", Account: "000000000000"}.Build(arn.Dataset, "nope", "ITEMS"), []events.Entity{{ID: "x"}})
		}, errs.NotFound, "nope"},
		{"user ok", func() error {
			return f.svc.PutUsers(ctx, f.datasets["Users"], []events.Entity{{ID: "u7", Properties: ptr(`{"age":31}`)}, {ID: "u8"}})
		}, errs.Internal, ""},
		{"user unknown property", func() error {
			return f.svc.PutUsers(ctx, f.datasets["Users"], []events.Entity{{ID: "u7", Properties: ptr(`{"height":180}`)}})
		}, errs.Invalid, `users[0].properties: unknown property "height"`},
		{"too many users", func() error {
			return f.svc.PutUsers(ctx, f.datasets["Users"], make([]events.Entity, 11))
		}, errs.Invalid, "users has 11 entries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.put()
			if tc.kind == errs.Internal {
				if err != nil {
					t.Fatalf("put = %v, want success", err)
				}
				return
			}
			if errs.KindOf(err) != tc.kind || !strings.Contains(errs.Message(err), tc.message) {
				t.Errorf("put = %v (kind %v), want kind %v naming %q", err, errs.KindOf(err), tc.kind, tc.message)
			}
		})
	}
	items := f.rows(t, "Items")
	if len(items) != 1 || items[0]["ITEM_ID"] != "new-1" || items[0]["GENRES"] != "Horror|Action" || items[0]["PRICE"] != "9.5" {
		t.Errorf("stored items = %v, want new-1 with GENRES Horror|Action and PRICE 9.5", items)
	}
	if users := f.rows(t, "Users"); len(users) != 2 || users[0]["AGE"] != "31" {
		t.Errorf("stored users = %v, want u7 (AGE 31) and u8", users)
	}
	var changed bool
	f.obs.mu.Lock()
	for _, u := range f.obs.updates {
		changed = changed || u.ItemsChanged
	}
	f.obs.mu.Unlock()
	if !changed {
		t.Error("no update with ItemsChanged after PutItems")
	}
}

func TestGroupCommitBatchesConcurrentRequests(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	f.st.delay = 5 * time.Millisecond // a slow disk: requests pile up during each commit
	f.st.calls.Store(0)
	const requests = 200
	var wg sync.WaitGroup
	errc := make(chan error, requests)
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- f.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: f.tracking, SessionID: "s", UserID: fmt.Sprint("u", i),
				Events: []events.Event{event("a"), event("b")}})
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.rows(t, "Interactions")); n != 2*requests {
		t.Errorf("stored %d rows, want %d", n, 2*requests)
	}
	if calls := f.st.calls.Load(); calls >= requests/2 {
		t.Errorf("%d requests took %d commits, want them batched into fewer than %d", requests, calls, requests/2)
	}
}

func TestBackpressure(t *testing.T) {
	f := newFixture(t, events.Options{QueueSize: 1}, false)
	// Start the writer, then stop it by pausing the store: the first
	// request fills the queue of one while the writer is stuck.
	f.start(t)
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		err = f.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: f.tracking, SessionID: "s", Events: []events.Event{event("a")}})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracker never became usable: %v", err)
		}
	}
	f.st.delay = 300 * time.Millisecond
	var busy atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: f.tracking, SessionID: "s", Events: []events.Event{event("a")}})
			switch errs.KindOf(err) {
			case errs.Busy:
				busy.Add(1)
			case errs.Internal:
				if err != nil {
					t.Error(err)
				}
			default:
				t.Errorf("PutEvents = %v, want success or Busy", err)
			}
		}()
	}
	wg.Wait()
	// One request is being written, one waits in the queue: the others are told to back off.
	if b := busy.Load(); b < 5 {
		t.Errorf("%d of 8 concurrent requests got Busy with a queue of 1, want at least 5", b)
	}
}

func TestRateLimit(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	f := newFixture(t, events.Options{RateLimit: 10}, true)
	svc := events.New(f.st, nil, events.Options{RateLimit: 10}, now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	put := func(n int) error {
		evs := make([]events.Event, n)
		for i := range evs {
			evs[i] = event("a")
		}
		return svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: f.tracking, SessionID: "s", Events: evs})
	}
	steps := []struct {
		advance time.Duration
		events  int
		want    errs.Kind // errs.Internal means success
	}{
		{0, 10, errs.Internal},                     // the burst
		{0, 1, errs.Busy},                          // empty bucket
		{500 * time.Millisecond, 5, errs.Internal}, // refilled at 10/s
		{0, 1, errs.Busy},
		{time.Hour, 10, errs.Internal}, // never more than the burst
		{0, 1, errs.Busy},
	}
	for i, s := range steps {
		clock.Add(int64(s.advance))
		err := put(s.events)
		if got := errs.KindOf(err); (err == nil) != (s.want == errs.Internal) || (err != nil && got != s.want) {
			t.Errorf("step %d: put(%d) = %v, want kind %v", i, s.events, err, s.want)
		}
	}
}

func TestTrackerLifecycle(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	ctx := t.Context()
	trs, _, err := f.svc.Trackers(ctx, f.group, "", 10)
	if err != nil || len(trs) != 1 {
		t.Fatalf("Trackers = %d, %v; want 1", len(trs), err)
	}
	tr := trs[0]
	if tr.Status != "ACTIVE" || tr.Parent != f.group || !strings.Contains(tr.ARN, ":event-tracker/") || len(tr.TrackingID) != 36 {
		t.Errorf("tracker = %+v, want ACTIVE in group %s with a UUID trackingId", tr, f.group)
	}
	cases := []struct {
		name, tracker, group string
		kind                 errs.Kind
	}{
		{"second tracker in the group", "other", f.group, errs.AlreadyExists},
		{"missing group", "x", arn.Scope{Region: "us-east-1", Account: "000000000000"}.Build(arn.DatasetGroup, "nope"), errs.NotFound},
		{"bad name", "-x", f.group, errs.Invalid},
		{"bad group arn", "x", "arn:nope", errs.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.CreateTracker(ctx, tc.tracker, tc.group, nil); errs.KindOf(err) != tc.kind {
				t.Errorf("CreateTracker(%s) = %v, want kind %v", tc.tracker, err, tc.kind)
			}
		})
	}
	if err := f.svc.DeleteTracker(ctx, tr.ARN); err != nil {
		t.Fatal(err)
	}
	err = f.svc.PutEvents(ctx, events.PutEventsInput{TrackingID: tr.TrackingID, SessionID: "s", Events: []events.Event{event("a")}})
	if errs.KindOf(err) != errs.NotFound {
		t.Errorf("PutEvents after DeleteTracker = %v, want NotFound", err)
	}
	if _, err := f.svc.Tracker(ctx, tr.ARN); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Tracker after delete = %v, want NotFound", err)
	}
}

func TestShutdownWritesQueuedRequests(t *testing.T) {
	f := newFixture(t, events.Options{}, true)
	f.st.delay = 20 * time.Millisecond
	var wg sync.WaitGroup
	var acked atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f.svc.PutEvents(context.Background(), events.PutEventsInput{TrackingID: f.tracking, SessionID: "s", Events: []events.Event{event("a")}})
			if err == nil {
				acked.Add(1)
			} else if k := errs.KindOf(err); k != errs.Unavailable {
				t.Errorf("PutEvents during shutdown = %v, want success or Unavailable", err)
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	f.stop()
	wg.Wait()
	if n := int64(len(f.rows(t, "Interactions"))); n != acked.Load() {
		t.Errorf("stored %d rows, acknowledged %d: every acknowledged request, and only those, must be stored", n, acked.Load())
	}
}
