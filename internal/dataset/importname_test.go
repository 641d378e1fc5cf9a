package dataset

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

// TestImportJobNameOfDeletedDataset: a job name stays taken after its
// dataset is deleted (jobs are history, as in Personalize), and the error
// says so instead of a bare "already exists".
func TestImportJobNameOfDeletedDataset(t *testing.T) {
	svc, _, dir := newFileService(t)
	ctx := t.Context()
	d := activeInteractions(t, svc)
	file := filepath.Join(dir, "i.csv")
	writeFile(t, file, "USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1700000000\n")
	j, err := svc.CreateImportJob(ctx, CreateImportInput{JobName: "load", DatasetARN: d.ARN, DataLocation: "file://" + file})
	if err != nil {
		t.Fatal(err)
	}
	svc.runImport(ctx, j.ARN)
	_, err = svc.CreateImportJob(ctx, CreateImportInput{JobName: "load", DatasetARN: d.ARN, DataLocation: "file://" + file})
	if errs.KindOf(err) != errs.AlreadyExists || !strings.Contains(errs.Message(err), "unique in the account") {
		t.Fatalf("same name, live dataset: %v, want AlreadyExists naming the rule", err)
	}
	if err := svc.DeleteDataset(ctx, d.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportJob(ctx, j.ARN); err != nil {
		t.Fatalf("the job of a deleted dataset is gone: %v; Personalize keeps it", err)
	}
	d2, err := svc.CreateDataset(ctx, CreateDatasetInput{Name: "d2", SchemaARN: d.SchemaARN, GroupARN: d.GroupARN, Type: "Interactions"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.activatePending(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateImportJob(ctx, CreateImportInput{JobName: "load", DatasetARN: d2.ARN, DataLocation: "file://" + file})
	if errs.KindOf(err) != errs.AlreadyExists || !strings.Contains(errs.Message(err), "which was deleted") ||
		!strings.Contains(errs.Message(err), "choose another jobName") {
		t.Fatalf("CreateImportJob(name of a deleted dataset's job) = %v, want AlreadyExists saying why", err)
	}
	if _, err := svc.CreateImportJob(ctx, CreateImportInput{JobName: "load-2", DatasetARN: d2.ARN, DataLocation: "file://" + file}); err != nil {
		t.Fatalf("another name: %v", err)
	}
}
