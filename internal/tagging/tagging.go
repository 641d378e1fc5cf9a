// Package tagging implements TagResource, UntagResource and
// ListTagsForResource over every taggable resource. Domain packages keep a
// resource's tags in their own struct under the field Tags (given at
// create time); this package reads and edits that one field in the stored
// body, so tags have a single home. It must not import domain packages.
package tagging

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// MaxTags is Personalize's limit of tags per resource.
const MaxTags = 200

// Service edits tags in the store.
type Service struct{ st store.Resources }

// New returns a tagging service.
func New(st store.Resources) *Service { return &Service{st: st} }

// kindOf maps a resource ARN to the store kind that holds it.
func kindOf(resourceARN string) (string, error) {
	p, err := arn.Parse("resourceArn", resourceARN)
	if err != nil {
		return "", err
	}
	switch p.Type {
	case arn.Solution:
		if len(p.Parts) == 2 {
			return arn.SolutionVersion, nil
		}
		return arn.Solution, nil
	case arn.DatasetGroup, arn.Dataset, arn.DatasetImportJob, arn.DatasetExportJob, arn.Campaign, arn.EventTracker,
		arn.Filter, arn.Recommender, arn.BatchInference, arn.BatchSegment, arn.Schema:
		return p.Type, nil
	}
	return "", errs.E(errs.Invalid, "resourceArn: %s resources cannot be tagged", p.Type)
}

// Tags returns a resource's tags.
func (s *Service) Tags(ctx context.Context, resourceARN string) (map[string]string, error) {
	r, err := s.get(ctx, resourceARN)
	if err != nil {
		return nil, err
	}
	var body struct{ Tags map[string]string }
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return nil, fmt.Errorf("tags of %s: %w", resourceARN, err)
	}
	return body.Tags, nil
}

func (s *Service) get(ctx context.Context, resourceARN string) (store.Resource, error) {
	kind, err := kindOf(resourceARN)
	if err != nil {
		return store.Resource{}, err
	}
	r, err := s.st.GetResource(ctx, kind, resourceARN)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return r, errs.E(errs.NotFound, "Could not find resource %s", resourceARN)
		}
		return r, fmt.Errorf("tags of %s: %w", resourceARN, err)
	}
	return r, nil
}

// Tag adds or replaces tags.
func (s *Service) Tag(ctx context.Context, resourceARN string, tags map[string]string) error {
	return s.edit(ctx, resourceARN, func(cur map[string]string) error {
		for k, v := range tags {
			cur[k] = v
		}
		if len(cur) > MaxTags {
			return errs.E(errs.TooManyTags, "resource %s would have %d tags, more than %d", resourceARN, len(cur), MaxTags)
		}
		return nil
	})
}

// Untag removes tags by key; absent keys are ignored.
func (s *Service) Untag(ctx context.Context, resourceARN string, keys []string) error {
	if len(keys) > MaxTags {
		return errs.E(errs.TooManyTags, "at most %d tag keys may be removed at once, got %d", MaxTags, len(keys))
	}
	return s.edit(ctx, resourceARN, func(cur map[string]string) error {
		for _, k := range keys {
			delete(cur, k)
		}
		return nil
	})
}

// edit applies fn to the stored tags, retrying when another writer updated
// the resource in between.
func (s *Service) edit(ctx context.Context, resourceARN string, fn func(map[string]string) error) error {
	for attempt := 0; ; attempt++ {
		r, err := s.get(ctx, resourceARN)
		if err != nil {
			return err
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &body); err != nil {
			return fmt.Errorf("tags of %s: %w", resourceARN, err)
		}
		cur := map[string]string{}
		if raw, ok := body["Tags"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &cur); err != nil {
				return fmt.Errorf("tags of %s: %w", resourceARN, err)
			}
		}
		if err := fn(cur); err != nil {
			return err
		}
		if body["Tags"], err = json.Marshal(cur); err != nil {
			return err
		}
		if r.Body, err = json.Marshal(body); err != nil {
			return err
		}
		if _, err := s.st.UpdateResource(ctx, r); err != nil {
			if errs.KindOf(err) == errs.InUse && attempt < 20 {
				continue
			}
			return fmt.Errorf("tag %s: %w", resourceARN, err)
		}
		return nil
	}
}

// Sorted returns tags as sorted key/value pairs, for stable output.
func Sorted(tags map[string]string) [][2]string {
	out := make([][2]string, 0, len(tags))
	for k, v := range tags {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}
