package api

import (
	"context"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/tagging"
)

// tagService is what the tag operations need.
type tagService interface {
	Tags(ctx context.Context, resourceARN string) (map[string]string, error)
	Tag(ctx context.Context, resourceARN string, tags map[string]string) error
	Untag(ctx context.Context, resourceARN string, keys []string) error
}

func registerTags(ops map[string]operation, svc tagService) {
	type tagIn struct {
		ResourceArn string `json:"resourceArn"`
		Tags        []tag  `json:"tags"`
	}
	ops["TagResource"] = handle(func(ctx context.Context, in *tagIn) (any, error) {
		if len(in.Tags) > tagging.MaxTags {
			return nil, errs.E(errs.TooManyTags, "at most %d tags, got %d", tagging.MaxTags, len(in.Tags))
		}
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		if len(tags) == 0 {
			return nil, errs.E(errs.Invalid, "tags is required")
		}
		return nil, svc.Tag(ctx, in.ResourceArn, tags)
	})
	type untagIn struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	ops["UntagResource"] = handle(func(ctx context.Context, in *untagIn) (any, error) {
		if in.TagKeys == nil {
			return nil, errs.E(errs.Invalid, "tagKeys is required")
		}
		return nil, svc.Untag(ctx, in.ResourceArn, in.TagKeys)
	})
	type listIn struct {
		ResourceArn string `json:"resourceArn"`
	}
	ops["ListTagsForResource"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		tags, err := svc.Tags(ctx, in.ResourceArn)
		if err != nil {
			return nil, err
		}
		out := []tag{}
		for _, kv := range tagging.Sorted(tags) {
			out = append(out, tag{TagKey: kv[0], TagValue: kv[1]})
		}
		return map[string]any{"tags": out}, nil
	})
}
