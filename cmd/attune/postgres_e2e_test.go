package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/demo"
	"github.com/attune-dev/attune/internal/testenv"
)

// TestPostgresStore runs the data and training workflow on the PostgreSQL
// backend, restarts, and finds everything again.
func TestPostgresStore(t *testing.T) {
	dsn := testenv.Postgres(t) // skips with a message when PostgreSQL is not reachable
	schema := fmt.Sprintf("attune_e2e_%d", rand.Uint32())
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	dir := t.TempDir()
	ts := startServer(t, dir, "--store", dsn, "--store-schema", schema)
	ctx := t.Context()
	pc := ts.personalizeClient()
	group := demoGroup(t, ctx, pc, "pg", demo.Options{Seed: 11, Users: 120, Interactions: 3000})
	va, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("pg-pop"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-popularity-count")})
	if st != "ACTIVE" {
		t.Fatalf("training on PostgreSQL ended %s", st)
	}
	ts.Stop(t)
	ts2 := startServer(t, dir, "--store", dsn, "--store-schema", schema)
	pc2 := ts2.personalizeClient()
	m, err := pc2.GetSolutionMetrics(ctx, &personalize.GetSolutionMetricsInput{SolutionVersionArn: aws.String(va)})
	if err != nil || len(m.Metrics) < 8 {
		t.Fatalf("after restart on PostgreSQL: %v %v", m, err)
	}
	ds, err := pc2.ListDatasets(ctx, &personalize.ListDatasetsInput{DatasetGroupArn: aws.String(group)})
	if err != nil || len(ds.Datasets) != 3 {
		t.Fatalf("datasets after restart = %v, %v", ds, err)
	}
}
