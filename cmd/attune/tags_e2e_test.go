package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalize/types"
)

func TestTags(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	g, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("tagged"),
		Tags: []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("growth")}}})
	if err != nil {
		t.Fatal(err)
	}
	list := func(a *string) map[string]string {
		t.Helper()
		out, err := pc.ListTagsForResource(ctx, &personalize.ListTagsForResourceInput{ResourceArn: a})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[aws.ToString(tg.TagKey)] = aws.ToString(tg.TagValue)
		}
		return m
	}
	if got := list(g.DatasetGroupArn); len(got) != 1 || got["team"] != "growth" {
		t.Fatalf("tags given at create = %v", got)
	}
	if _, err := pc.TagResource(ctx, &personalize.TagResourceInput{ResourceArn: g.DatasetGroupArn,
		Tags: []types.Tag{{TagKey: aws.String("env"), TagValue: aws.String("prod")}, {TagKey: aws.String("team"), TagValue: aws.String("search")}}}); err != nil {
		t.Fatal(err)
	}
	if got := list(g.DatasetGroupArn); len(got) != 2 || got["team"] != "search" || got["env"] != "prod" {
		t.Fatalf("after TagResource = %v", got)
	}
	if _, err := pc.UntagResource(ctx, &personalize.UntagResourceInput{ResourceArn: g.DatasetGroupArn, TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if got := list(g.DatasetGroupArn); len(got) != 1 || got["env"] != "prod" {
		t.Fatalf("after UntagResource = %v", got)
	}
	// The group itself is unchanged by tagging: it still describes and goes ACTIVE.
	waitFor(t, "group", func() (string, error) {
		o, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: g.DatasetGroupArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.DatasetGroup.Status), nil
	}, "ACTIVE")

	var many []types.Tag
	for i := range 201 {
		many = append(many, types.Tag{TagKey: aws.String(fmt.Sprintf("k%d", i)), TagValue: aws.String("v")})
	}
	_, err = pc.TagResource(ctx, &personalize.TagResourceInput{ResourceArn: g.DatasetGroupArn, Tags: many})
	var tooMany *types.TooManyTagsException
	if !errors.As(err, &tooMany) {
		t.Errorf("201 tags: %v, want TooManyTagsException", err)
	}
	_, err = pc.ListTagsForResource(ctx, &personalize.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:personalize:us-east-1:000000000000:campaign/nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("tags of a missing campaign: %v, want ResourceNotFoundException", err)
	}
}
