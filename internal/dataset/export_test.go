package dataset

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

// chunk encodes rows of (USER_ID, ITEM_ID, TIMESTAMP) plus extra string
// columns named in extra.
func chunk(t *testing.T, rows [][]string, extra ...string) []byte {
	t.Helper()
	fields := []schema.Field{{Name: "USER_ID", Type: schema.String}, {Name: "ITEM_ID", Type: schema.String}, {Name: "TIMESTAMP", Type: schema.Long}}
	for _, e := range extra {
		fields = append(fields, schema.Field{Name: e, Type: schema.String})
	}
	b := records.NewBuilder(fields)
	for _, r := range rows {
		vals := make([]schema.Value, len(fields))
		for i, f := range fields {
			v, err := f.ParseValue(r[i])
			if err != nil {
				t.Fatal(err)
			}
			vals[i] = v
		}
		b.Append(vals)
	}
	return b.Encode()
}

// activeInteractions creates a dataset group "g" with an ACTIVE
// Interactions dataset (USER_ID, ITEM_ID, TIMESTAMP) through svc.
func activeInteractions(t *testing.T, svc *Service) *Dataset {
	t.Helper()
	ctx := t.Context()
	g, err := svc.CreateGroup(ctx, CreateGroupInput{Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.activatePending(ctx); err != nil {
		t.Fatal(err)
	}
	sc, err := svc.CreateSchema(ctx, "s", `{"type":"record","name":"Interactions","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"}]}`, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := svc.CreateDataset(ctx, CreateDatasetInput{Name: "d", SchemaARN: sc.ARN, GroupARN: g.ARN, Type: "Interactions"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.activatePending(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestExportJob(t *testing.T) {
	ctx := t.Context()
	svc, st, dir := newFileService(t)
	d := activeInteractions(t, svc)
	// One bulk import and one PUT chunk carrying an extra column.
	job := svc.opts.Scope.Build("dataset-import-job", "bulk")
	if err := st.StageChunk(ctx, store.Chunk{Dataset: d.ARN, Source: store.Bulk, Job: job, Rows: 2,
		Data: chunk(t, [][]string{{"u1", "i1", "1700000000"}, {"u2", `i,"2"`, "1700000001"}})}); err != nil {
		t.Fatal(err)
	}
	if err := st.CommitImport(ctx, d.ARN, job, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendChunks(ctx, []store.Chunk{{Dataset: d.ARN, Source: store.Put, Rows: 1,
		Data: chunk(t, [][]string{{"u3", "i3", "1700000002", "ev-1"}}, "EVENT_ID")}}); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	defer func() { stop(); <-done }()

	cases := []struct {
		mode string
		want string
	}{
		{"", "USER_ID,ITEM_ID,TIMESTAMP,EVENT_ID\nu3,i3,1700000002,ev-1\n"}, // PUT by default
		{IngestionBulk, "USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1700000000\nu2,\"i,\"\"2\"\"\",1700000001\n"},
		{IngestionAll, "USER_ID,ITEM_ID,TIMESTAMP,EVENT_ID\nu1,i1,1700000000,\nu2,\"i,\"\"2\"\"\",1700000001,\nu3,i3,1700000002,ev-1\n"},
	}
	for _, tc := range cases {
		t.Run("mode "+tc.mode, func(t *testing.T) {
			name := "export-" + strings.ToLower(tc.mode)
			j, err := svc.CreateExportJob(ctx, CreateExportInput{JobName: name, DatasetARN: d.ARN, IngestionMode: tc.mode, OutputPath: "file://" + dir})
			if err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				j, err = svc.ExportJob(ctx, j.ARN)
				if err != nil {
					t.Fatal(err)
				}
				if j.Status == StatusActive || j.Status == StatusCreateFailed {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("export still %s after 10s", j.Status)
				}
			}
			if j.Status != StatusActive {
				t.Fatalf("export %s: %s", j.Status, j.FailureReason)
			}
			got, err := os.ReadFile(filepath.Join(dir, name+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("export %q =\n%s\nwant\n%s", tc.mode, got, tc.want)
			}
			if wantRows := int64(strings.Count(tc.want, "\n") - 1); j.Report == nil || j.Report.Rows != wantRows {
				t.Errorf("export report = %+v, want %d rows", j.Report, wantRows)
			}
		})
	}

	bad := []struct {
		name string
		in   CreateExportInput
		kind errs.Kind
	}{
		{"bad mode", CreateExportInput{JobName: "b1", DatasetARN: d.ARN, IngestionMode: "SOME", OutputPath: "file://" + dir}, errs.Invalid},
		{"no path", CreateExportInput{JobName: "b2", DatasetARN: d.ARN}, errs.Invalid},
		{"http path", CreateExportInput{JobName: "b3", DatasetARN: d.ARN, OutputPath: "http://x/"}, errs.Invalid},
		{"bad name", CreateExportInput{JobName: "-b", DatasetARN: d.ARN, OutputPath: "file://" + dir}, errs.Invalid},
		{"missing dataset", CreateExportInput{JobName: "b4", DatasetARN: d.ARN + "X", OutputPath: "file://" + dir}, errs.NotFound},
		{"used name", CreateExportInput{JobName: "export-all", DatasetARN: d.ARN, OutputPath: "file://" + dir}, errs.AlreadyExists},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := svc.CreateExportJob(ctx, tc.in); errs.KindOf(err) != tc.kind {
				t.Errorf("CreateExportJob(%+v) = %v, want kind %v", tc.in, err, tc.kind)
			}
		})
	}
	js, _, err := svc.ExportJobs(ctx, d.ARN, "", 10)
	if err != nil || len(js) != len(cases) {
		t.Errorf("ExportJobs = %d jobs, %v; want %d", len(js), err, len(cases))
	}
}
