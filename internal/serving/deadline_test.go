package serving

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/filter"
	"github.com/attune-dev/attune/internal/recipe"
)

// hungFilters is a FilterSource whose store never answers: it waits for
// the caller's deadline, as a database driver does.
type hungFilters struct{}

func (hungFilters) Resolve(ctx context.Context, _ string) (string, *filter.Filter, error) {
	<-ctx.Done()
	return "", nil, ctx.Err()
}

func (hungFilters) Schemas(ctx context.Context, _ string) (filter.Schemas, error) {
	<-ctx.Done()
	return filter.Schemas{}, ctx.Err()
}

// TestHungStoreFilteredRequestAnswersBusy: a filtered request whose filter
// must be read from a store that hangs answers errs.Busy once StoreTimeout
// has passed; unfiltered requests do not touch the store.
func TestHungStoreFilteredRequestAnswersBusy(t *testing.T) {
	f := newFixture(t)
	s := New(f.sc, f.bucket, f.reg, Options{Filters: hungFilters{}, StoreTimeout: 100 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	deploy(t, s, campaignUP, f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"}), false)
	done := make(chan error, 1)
	go func() {
		_, err := s.Recommend(context.Background(), Request{Campaign: campaignUP, UserID: "u03",
			FilterARN: "arn:aws:personalize:us-east-1:000000000000:filter/f"})
		done <- err
	}()
	select {
	case err := <-done:
		if k := errs.KindOf(err); k != errs.Busy {
			t.Fatalf("filtered Recommend on a hung store = %v (kind %v), want kind Busy", err, k)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("filtered Recommend on a hung store did not answer")
	}
	if _, err := s.Recommend(t.Context(), Request{Campaign: campaignUP, UserID: "u03"}); err != nil {
		t.Errorf("unfiltered Recommend = %v", err)
	}
}
