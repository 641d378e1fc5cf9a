package batch

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

// fakeScorer answers with items derived from the query, so output lines can
// be checked against their input.
type fakeScorer struct {
	recipeType string
	loaded     map[string]bool
}

func (f *fakeScorer) Load(ctx context.Context, key, version string, _ map[string]string) (string, error) {
	f.loaded[key] = true
	return f.recipeType, nil
}

func (f *fakeScorer) Unload(key string) { delete(f.loaded, key) }

func (f *fakeScorer) Segment(ctx context.Context, key string, q SegmentQuery) ([]string, error) {
	return []string{"u-" + q.ItemID}, nil
}

func (f *fakeScorer) Answer(ctx context.Context, key string, q Query) (Answer, error) {
	if q.UserID == "banned" {
		return Answer{}, errs.E(errs.Invalid, "user %s is banned", q.UserID)
	}
	n := q.NumResults
	if n == 0 {
		n = 25
	}
	var a Answer
	for i := range min(n, 3) {
		a.Items = append(a.Items, fmt.Sprintf("%s-%s-%d", q.UserID, q.ItemID, i))
		sc := 1 / float64(i+1)
		a.Scores = append(a.Scores, &sc)
	}
	return a, nil
}

// batchSetup is a store in dir with one ACTIVE solution version.
func batchSetup(t *testing.T, dir string) (store.Store, arn.Scope, string) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "store"), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	scope := arn.Scope{Region: "us-east-1", Account: "000000000000"}
	version := scope.Build(arn.Solution, "s", "0011aabb")
	if err := st.CreateResource(ctx, store.Resource{ARN: version, Kind: arn.SolutionVersion, Name: "v", Status: "ACTIVE",
		Created: time.Now(), Updated: time.Now(), Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	return st, scope, version
}

// TestBatchJobNeverReadsThroughSymlinks: an input folder inside the root
// holding a symlink to /etc/passwd fails the job; nothing of the file is
// copied into an output or the failure reason.
func TestBatchJobNeverReadsThroughSymlinks(t *testing.T) {
	dir := t.TempDir()
	st, scope, version := batchSetup(t, dir)
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(in, "users.json")); err != nil {
		t.Fatal(err)
	}
	fileOpen, err := local.FileOpener(local.FilesOptions{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(st, &fakeScorer{recipeType: "USER_PERSONALIZATION", loaded: map[string]bool{}},
		blob.NewLocations(map[string]blob.Opener{"file": fileOpen}), Options{Scope: scope}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(rctx) }()
	defer func() { cancel(); <-done }()
	out := filepath.Join(dir, "out")
	j, err := svc.Create(t.Context(), CreateInput{JobName: "etc", SolutionVersionARN: version, InputPath: "file://" + in + "/", OutputPath: "file://" + out})
	if err != nil {
		t.Fatal(err)
	}
	j = waitJob(t, svc, j.ARN)
	if j.Status != StatusCreateFailed || !strings.Contains(j.FailureReason, "outside the allowed local folders") || strings.Contains(j.FailureReason, "root:") {
		t.Errorf("job over a symlink to /etc/passwd = %s %q, want CREATE FAILED saying it is outside", j.Status, j.FailureReason)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("output written: %v", entries)
	}
}

func TestBatchJobAnswersEveryLineWithErrorsInline(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, scope, version := batchSetup(t, dir)
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	input := strings.Join([]string{
		`{"userId":"u1"}`,
		`{"itemId":"i9"}`,
		`not json`,
		``,
		`{"userId":"banned"}`,
		`{"userId":"u2","filterValues":{"CATEGORY":"\"Cloud\""}}`,
	}, "\n")
	if err := os.WriteFile(filepath.Join(in, "users.json"), []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	scorer := &fakeScorer{recipeType: "USER_PERSONALIZATION", loaded: map[string]bool{}}
	fileOpen, err := local.FileOpener(local.FilesOptions{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	locs := blob.NewLocations(map[string]blob.Opener{"file": fileOpen})
	svc := New(st, scorer, locs, Options{Scope: scope}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(rctx) }()
	defer func() { cancel(); <-done }()

	bad := []CreateInput{
		{JobName: "x", SolutionVersionARN: version, InputPath: "file://" + in + "/", OutputPath: "file://" + in + "/"},
		{JobName: "x", SolutionVersionARN: version, InputPath: "ftp://x", OutputPath: "file://" + dir + "/o/"},
		{JobName: "x", SolutionVersionARN: scope.Build(arn.Solution, "s", "ffffffff"), InputPath: "file://" + in + "/", OutputPath: "file://" + dir + "/o/"},
		{JobName: "x", SolutionVersionARN: version, InputPath: "file://" + in + "/", OutputPath: "file://" + dir + "/o/", NumResults: 501},
	}
	for i, b := range bad {
		if _, err := svc.Create(ctx, b); err == nil {
			t.Errorf("bad input %d accepted", i)
		}
	}
	out := filepath.Join(dir, "out")
	j, err := svc.Create(ctx, CreateInput{JobName: "job1", SolutionVersionARN: version, InputPath: "file://" + in + "/",
		OutputPath: "file://" + out, NumResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err = svc.Get(ctx, j.ARN)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == StatusActive || j.Status == StatusCreateFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s", j.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if j.Status != StatusActive || j.Lines != 5 || j.Errors != 3 {
		t.Fatalf("job = %s %q, %d lines, %d errors; want ACTIVE, 5 lines, 3 errors", j.Status, j.FailureReason, j.Lines, j.Errors)
	}
	if len(scorer.loaded) != 0 {
		t.Errorf("model still loaded after the job: %v", scorer.loaded)
	}
	f, err := os.Open(filepath.Join(out, "users.json.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []outputLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l outputLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("output line %q is not JSON: %v", sc.Text(), err)
		}
		got = append(got, l)
	}
	if len(got) != 5 {
		t.Fatalf("%d output lines, want one per non-empty input line (5)", len(got))
	}
	wantErr := []string{"", "userId", "line 3 is not valid JSON: syntax error at byte 2 of 8", "banned", ""}
	for i, l := range got {
		switch {
		case wantErr[i] == "" && (l.Error != nil || l.Output == nil || len(l.Output.RecommendedItems) != 2 || len(l.Output.Scores) != 2):
			t.Errorf("line %d = %+v, want 2 items with scores", i, l)
		case wantErr[i] != "" && (l.Error == nil || !strings.Contains(*l.Error, wantErr[i])):
			t.Errorf("line %d error = %v, want one mentioning %q", i, l.Error, wantErr[i])
		}
	}
	if !strings.Contains(string(got[0].Input), `"u1"`) {
		t.Errorf("input not echoed: %s", got[0].Input)
	}
	// A line that is not JSON is never copied into the output: it could be
	// any file's content.
	if string(got[2].Input) != "null" {
		t.Errorf("invalid line echoed as %s, want null", got[2].Input)
	}
	if raw, _ := os.ReadFile(filepath.Join(out, "users.json.out")); strings.Contains(string(raw), "not json") {
		t.Errorf("output file quotes the invalid input line")
	}
	if fi, err := os.Stat(filepath.Join(out, "users.json.out")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("output file mode = %v, %v; want 0640", fi.Mode().Perm(), err)
	}
	if j.Written == nil || j.Written[0] != "file://"+out+"/users.json.out" {
		t.Errorf("job.Written = %q, want the output file", j.Written)
	}

	// A rerun of the same job (as after a restart) replaces its own output.
	outFile := filepath.Join(out, "users.json.out")
	if err := os.WriteFile(outFile, []byte("stale partial output\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := inferenceKind.Update(ctx, st, j.ARN, time.Now, func(j *Job) error { j.Status = StatusCreatePending; return nil }); err != nil {
		t.Fatal(err)
	}
	svc.runner.Kick()
	if j := waitJob(t, svc, j.ARN); j.Status != StatusActive {
		t.Errorf("rerun = %s %q, want ACTIVE", j.Status, j.FailureReason)
	}
	if b, _ := os.ReadFile(outFile); strings.Contains(string(b), "stale") {
		t.Errorf("rerun did not replace its own output")
	}

	// Another job never replaces it.
	j2, err := svc.Create(ctx, CreateInput{JobName: "job2", SolutionVersionARN: version, InputPath: "file://" + in + "/",
		OutputPath: "file://" + out, NumResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(outFile)
	if j2 := waitJob(t, svc, j2.ARN); j2.Status != StatusCreateFailed || !strings.Contains(j2.FailureReason, "already exists") {
		t.Errorf("job writing over another job's output = %s %q, want CREATE FAILED saying the file already exists", j2.Status, j2.FailureReason)
	}
	if after, _ := os.ReadFile(outFile); string(after) != string(before) {
		t.Errorf("another job replaced the output")
	}
}

// waitJob waits until a batch job is ACTIVE or CREATE FAILED.
func waitJob(t *testing.T, svc *Service, jobARN string) *Job {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		j, err := svc.Get(t.Context(), jobARN)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == StatusActive || j.Status == StatusCreateFailed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s", j.Status)
		}
	}
}

func TestCheckOutputPlacement(t *testing.T) {
	cases := []struct {
		name, input, out string
		ok               bool
	}{
		{"output next to a single input file", "s3://b/json_input.json", "s3://b/", true},
		{"output folder above an input file", "s3://b/in/users.json", "s3://b/", true},
		{"output folder beside the input folder", "s3://b/in/", "s3://b/out/", true},
		{"input folder inside the output folder", "s3://b/out/in/", "s3://b/out/", true},
		{"output folder is the input folder", "s3://b/in/", "s3://b/in/", false},
		{"output folder inside the input folder", "s3://b/in/", "s3://b/in/results/", false},
		{"whole bucket as input", "s3://b/", "s3://b/out/", false},
		{"file scheme, same folder", "file:///d/in/", "file:///d/in/", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkOutputPlacement(tc.input, tc.out)
			if (err == nil) != tc.ok {
				t.Fatalf("checkOutputPlacement(%q, %q) = %v, want ok %v", tc.input, tc.out, err, tc.ok)
			}
			if err != nil && errs.KindOf(err) != errs.Invalid {
				t.Errorf("checkOutputPlacement(%q, %q) kind = %v, want Invalid", tc.input, tc.out, errs.KindOf(err))
			}
		})
	}
}

func TestBatchScoresNeverNull(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	cases := []struct {
		name string
		in   []*float64
		want []float64 // nil = member omitted
	}{
		{"no scores", nil, nil},
		{"unscored model", []*float64{nil, nil}, nil},
		{"all scored", []*float64{f(0.7), f(0.3)}, []float64{0.7, 0.3}},
		{"new item appended unscored", []*float64{f(0.9), f(0.1), nil}, []float64{0.9, 0.1, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := batchScores(tc.in)
			if (got == nil) != (tc.want == nil) || len(got) != len(tc.want) {
				t.Fatalf("batchScores(%v) = %v, want %v", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] == nil || *got[i] != tc.want[i] {
					t.Errorf("batchScores(...)[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
