// Package batch runs Personalize's batch inference jobs: JSON Lines of
// {"userId"}, {"itemId"} or {"userId","itemList"} read from file:// or
// s3:// locations, answered with a trained solution version (no campaign
// needed), written as {"input","output","error"} lines to "<input>.out" in
// the output folder. A bad line is reported in its own output line; it never
// fails the job. It reaches models through a small scorer interface that
// cmd/attune adapts from serving and train, and must not import them.
package batch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/jobs"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store"
)

// Statuses of batch jobs.
const (
	StatusCreatePending    = "CREATE PENDING"
	StatusCreateInProgress = "CREATE IN_PROGRESS"
	StatusActive           = "ACTIVE"
	StatusCreateFailed     = "CREATE FAILED"
)

// Job is a batch inference job; Meta.Parent is the solution version ARN.
type Job struct {
	resource.Meta
	SolutionVersionARN string
	FilterARN          string
	NumResults         int
	InputPath          string
	OutputPath         string
	RoleARN            string
	Exploration        map[string]string
	Mode               string
	FailureReason      string
	Tags               map[string]string
	// Lines and Errors count the input lines answered and those answered
	// with an error (Attune's account; AWS clients ignore it).
	Lines, Errors int64
	// Written lists the output files this job has started writing (recorded
	// before the write). Outputs are created without replacing anything,
	// except these: a job rerun after a restart writes them again.
	Written []string
}

// Batch inference and batch segment jobs share one shape and one runner.
var (
	inferenceKind = resource.Kind[Job, *Job]{Name: arn.BatchInference}
	segmentKind   = resource.Kind[Job, *Job]{Name: arn.BatchSegment}
)

// kindOf tells the two job kinds apart by their ARN.
func kindOf(jobARN string) resource.Kind[Job, *Job] {
	if strings.Contains(jobARN, ":"+arn.BatchSegment+"/") {
		return segmentKind
	}
	return inferenceKind
}

// Query is one input line.
type Query struct {
	UserID       string
	ItemID       string
	ItemList     []string
	NumResults   int
	FilterARN    string
	FilterValues map[string]string
}

// Answer is a model's answer to a Query.
type Answer struct {
	Items  []string
	Scores []*float64 // nil entries for recipes that give no score
}

// Scorer loads a solution version's model under a key and answers queries.
type Scorer interface {
	// Load makes the version's model answerable under key and returns its
	// recipe type (USER_PERSONALIZATION, ...). errs.InUse when the version
	// is not ACTIVE, errs.NotFound when it does not exist.
	Load(ctx context.Context, key, solutionVersionARN string, exploration map[string]string) (string, error)
	Unload(key string)
	Answer(ctx context.Context, key string, q Query) (Answer, error)
	// Segment returns the users most likely to interact with the item, or
	// with the items having all the attribute values (USER_SEGMENTATION).
	Segment(ctx context.Context, key string, q SegmentQuery) ([]string, error)
}

// SegmentQuery is one batch segment input line.
type SegmentQuery struct {
	ItemID     string
	Attributes []Attribute
	NumResults int
}

// Attribute is one "ITEMS.FIELD = \"value\"" condition of an itemAttributes query.
type Attribute struct {
	Field, Value string
}

// locations reads inputs and writes outputs.
type locations interface {
	// Check validates a location at create time (see blob.Locations.Check).
	Check(ctx context.Context, uri string, write bool) error
	Expand(ctx context.Context, uri, suffix string) ([]string, error)
	Open(ctx context.Context, uri string) (io.ReadCloser, error)
	// Put replaces an object; Create never replaces a local file.
	Put(ctx context.Context, uri string, r io.Reader) error
	Create(ctx context.Context, uri string, r io.Reader) error
}

// Options configure the service.
type Options struct {
	Scope arn.Scope
	// MaxActive caps jobs PENDING or IN_PROGRESS (Personalize: 5); 0 means 5.
	MaxActive int
	Workers   int // jobs run at once; 0 means 1
}

// Service implements batch inference jobs.
type Service struct {
	st     store.Resources
	scorer Scorer
	locs   locations
	opts   Options
	now    func() time.Time
	log    *slog.Logger
	runner *jobs.Runner
}

// New returns a service; call Run to process jobs.
func New(st store.Resources, scorer Scorer, locs locations, opts Options, now func() time.Time, log *slog.Logger) *Service {
	if opts.MaxActive <= 0 {
		opts.MaxActive = 5
	}
	s := &Service{st: st, scorer: scorer, locs: locs, opts: opts, now: now, log: log}
	s.runner = jobs.New(jobs.Options{Name: "batch inference", Workers: opts.Workers}, log, s.pending, s.runJob, nil)
	return s
}

// CreateInput is the input of Create.
type CreateInput struct {
	JobName, SolutionVersionARN, FilterARN, InputPath, OutputPath, RoleARN, Mode string
	NumResults                                                                   int
	Exploration                                                                  map[string]string
	Tags                                                                         map[string]string
}

// Create validates and queues a batch inference job.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Job, error) {
	return s.create(ctx, inferenceKind, in)
}

// CreateSegment validates and queues a batch segment job.
func (s *Service) CreateSegment(ctx context.Context, in CreateInput) (*Job, error) {
	if in.Mode != "" {
		return nil, errs.E(errs.Invalid, "batch segment jobs have no mode")
	}
	in.Mode = "BATCH_SEGMENT"
	return s.create(ctx, segmentKind, in)
}

func (s *Service) create(ctx context.Context, kind resource.Kind[Job, *Job], in CreateInput) (*Job, error) {
	if err := arn.CheckName("jobName", in.JobName); err != nil {
		return nil, err
	}
	p, err := arn.Parse("solutionVersionArn", in.SolutionVersionARN)
	if err != nil {
		return nil, err
	}
	if p.Type != arn.Solution || len(p.Parts) != 2 {
		return nil, errs.E(errs.Invalid, "solutionVersionArn: %s is not a solution version ARN", errs.Quote(in.SolutionVersionARN))
	}
	if in.FilterARN != "" {
		if _, err := arn.Expect("filterArn", in.FilterARN, arn.Filter, 1); err != nil {
			return nil, err
		}
	}
	for _, loc := range []struct {
		member, v string
		write     bool
	}{{"jobInput.s3DataSource.path", in.InputPath, false}, {"jobOutput.s3DataDestination.path", in.OutputPath, true}} {
		if loc.v == "" {
			return nil, errs.E(errs.Invalid, "%s is required", loc.member)
		}
		if !strings.HasPrefix(loc.v, "s3://") && !strings.HasPrefix(loc.v, "file://") {
			return nil, errs.E(errs.Invalid, "%s: %s must be an s3:// or file:/// location", loc.member, errs.Quote(loc.v))
		}
		if err := s.locs.Check(ctx, loc.v, loc.write); err != nil {
			if k := errs.KindOf(err); k != errs.Internal {
				return nil, errs.E(k, "%s: %s", loc.member, errs.Message(err))
			}
			return nil, err
		}
	}
	out := in.OutputPath
	if !strings.HasSuffix(out, "/") {
		out += "/"
	}
	if err := checkOutputPlacement(in.InputPath, out); err != nil {
		return nil, err
	}
	switch in.Mode {
	case "":
		in.Mode = "BATCH_INFERENCE"
	case "BATCH_INFERENCE", "BATCH_SEGMENT":
	case "THEME_GENERATION":
		return nil, errs.E(errs.Invalid, "batchInferenceJobMode THEME_GENERATION needs a generative model, which Attune does not ship")
	default:
		return nil, errs.E(errs.Invalid, "batchInferenceJobMode: %s is not BATCH_INFERENCE", errs.Quote(in.Mode))
	}
	maxResults := 500
	if kind == segmentKind {
		maxResults = 5_000_000 // users per segment, as Personalize
	}
	if in.NumResults < 0 || in.NumResults > maxResults {
		return nil, errs.E(errs.Invalid, "numResults must be between 1 and %d, got %d", maxResults, in.NumResults)
	}
	if _, err := s.st.GetResource(ctx, arn.SolutionVersion, in.SolutionVersionARN); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.E(errs.NotFound, "Could not find solution version %s", in.SolutionVersionARN)
		}
		return nil, err
	}
	active, err := kind.All(ctx, s.st, "", StatusCreatePending, StatusCreateInProgress)
	if err != nil {
		return nil, err
	}
	if len(active) >= s.opts.MaxActive {
		return nil, errs.E(errs.LimitExceeded, "More than %d batch jobs of this kind with PENDING or IN_PROGRESS status", s.opts.MaxActive)
	}
	t := s.now()
	j := &Job{SolutionVersionARN: in.SolutionVersionARN, FilterARN: in.FilterARN, NumResults: in.NumResults, InputPath: in.InputPath,
		OutputPath: out, RoleARN: in.RoleARN, Exploration: in.Exploration, Mode: in.Mode, Tags: in.Tags}
	j.Meta = resource.Meta{ARN: s.opts.Scope.Build(kind.Name, in.JobName), Name: in.JobName, Parent: in.SolutionVersionARN,
		Status: StatusCreatePending, Created: t, Updated: t}
	if err := kind.Create(ctx, s.st, j); err != nil {
		return nil, err
	}
	s.runner.Kick()
	return j, nil
}

// checkOutputPlacement refuses only an output folder that would make a job
// overwrite or read back its own output. Output files are named
// "<output folder><input file name>.out", so next to a single input file
// (input s3://B/in.json, output s3://B/) the output is s3://B/in.json.out,
// as Personalize writes it, and never the input itself. A folder input
// stands for every file under it at any depth, so an output folder inside
// it would be read back as input when the job runs again, and its
// "<name>.out" files could replace input files of that name.
func checkOutputPlacement(input, outFolder string) error {
	if strings.HasSuffix(input, "/") && strings.HasPrefix(outFolder, input) {
		return errs.E(errs.Invalid, "jobOutput.s3DataDestination.path %q is inside the input folder %q, so the job would read back its own output; choose a folder outside it", outFolder, input)
	}
	return nil
}

// Get returns a batch inference job.
func (s *Service) Get(ctx context.Context, jobARN string) (*Job, error) {
	if _, err := arn.Expect("batchInferenceJobArn", jobARN, arn.BatchInference, 1); err != nil {
		return nil, err
	}
	return inferenceKind.Get(ctx, s.st, jobARN)
}

// GetSegment returns a batch segment job.
func (s *Service) GetSegment(ctx context.Context, jobARN string) (*Job, error) {
	if _, err := arn.Expect("batchSegmentJobArn", jobARN, arn.BatchSegment, 1); err != nil {
		return nil, err
	}
	return segmentKind.Get(ctx, s.st, jobARN)
}

// List lists batch inference jobs of a solution version ("" = all), newest first.
func (s *Service) List(ctx context.Context, versionARN, token string, limit int) ([]*Job, string, error) {
	return inferenceKind.List(ctx, s.st, versionARN, token, limit)
}

// ListSegments lists batch segment jobs of a solution version ("" = all).
func (s *Service) ListSegments(ctx context.Context, versionARN, token string, limit int) ([]*Job, string, error) {
	return segmentKind.List(ctx, s.st, versionARN, token, limit)
}

// Run processes jobs until ctx is done. A job interrupted by a restart runs
// again from the start: its output files are rewritten whole.
func (s *Service) Run(ctx context.Context) error {
	for _, kind := range []resource.Kind[Job, *Job]{inferenceKind, segmentKind} {
		stuck, err := kind.All(ctx, s.st, "", StatusCreateInProgress)
		if err != nil {
			return fmt.Errorf("batch runner: recover: %w", err)
		}
		for _, j := range stuck {
			if _, err := kind.Update(ctx, s.st, j.ARN, s.now, func(j *Job) error { j.Status = StatusCreatePending; return nil }); err != nil {
				return fmt.Errorf("batch runner: recover %s: %w", j.ARN, err)
			}
		}
	}
	s.runner.Run(ctx)
	return nil
}

func (s *Service) pending(ctx context.Context) ([]string, error) {
	var js []*Job
	for _, kind := range []resource.Kind[Job, *Job]{inferenceKind, segmentKind} {
		more, err := kind.All(ctx, s.st, "", StatusCreatePending)
		if err != nil {
			return nil, err
		}
		js = append(js, more...)
	}
	sort.Slice(js, func(a, b int) bool { return js[a].Created.Before(js[b].Created) })
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ARN
	}
	return ids, nil
}

func (s *Service) runJob(ctx context.Context, jobARN string) {
	kind := kindOf(jobARN)
	j, err := kind.Update(ctx, s.st, jobARN, s.now, func(j *Job) error {
		if j.Status != StatusCreatePending {
			return errs.E(errs.InUse, "batch job %s is %s", j.ARN, j.Status)
		}
		j.Status = StatusCreateInProgress
		return nil
	})
	if err != nil {
		return
	}
	start := s.now()
	lines, bad, err := s.process(ctx, j)
	if ctx.Err() != nil {
		return // shutdown: rerun at the next start
	}
	_, uerr := kind.Update(context.WithoutCancel(ctx), s.st, jobARN, s.now, func(j *Job) error {
		j.Lines, j.Errors = lines, bad
		if err != nil {
			j.Status, j.FailureReason = StatusCreateFailed, errs.Message(err)
			if errs.KindOf(err) == errs.Internal {
				j.FailureReason = "internal error (job " + jobARN + "); the cause is in the server log"
			}
			return nil
		}
		j.Status = StatusActive
		return nil
	})
	if uerr != nil {
		s.log.ErrorContext(ctx, "finish batch job", "job", jobARN, "err", uerr)
		return
	}
	s.log.InfoContext(ctx, "batch inference job finished", "job", jobARN, "lines", lines, "errors", bad, "err", err,
		"seconds", s.now().Sub(start).Seconds())
}

// process answers every input file of a job.
func (s *Service) process(ctx context.Context, j *Job) (lines, bad int64, err error) {
	key := "batch:" + j.ARN
	recipeType, err := s.scorer.Load(ctx, key, j.SolutionVersionARN, j.Exploration)
	if err != nil {
		return 0, 0, err
	}
	defer s.scorer.Unload(key)
	segment := j.Mode == "BATCH_SEGMENT"
	switch {
	case segment && recipeType != "USER_SEGMENTATION":
		return 0, 0, errs.E(errs.Invalid, "batch segment jobs need a USER_SEGMENTATION recipe (aws-item-affinity, aws-item-attribute-affinity); solution version %s has %s", j.SolutionVersionARN, recipeType)
	case !segment && (recipeType == "PERSONALIZED_ACTIONS" || recipeType == "USER_SEGMENTATION"):
		return 0, 0, errs.E(errs.Invalid, "solution version %s has recipe type %s, which batch inference jobs do not support (use a batch segment job)", j.SolutionVersionARN, recipeType)
	}
	files, err := s.locs.Expand(ctx, j.InputPath, "")
	if err != nil {
		return 0, 0, err
	}
	for _, f := range files {
		outURI := j.OutputPath + path.Base(f) + ".out"
		// Recorded before writing: a crash right after the write must not
		// leave a file a rerun refuses to replace.
		replace := slices.Contains(j.Written, outURI)
		if !replace {
			j.Written = append(j.Written, outURI)
			if _, err := kindOf(j.ARN).Update(ctx, s.st, j.ARN, s.now, func(stored *Job) error {
				stored.Written = j.Written
				return nil
			}); err != nil {
				return lines, bad, fmt.Errorf("record output %s: %w", outURI, err)
			}
		}
		n, b, err := s.processFile(ctx, j, key, recipeType, f, outURI, replace)
		lines, bad = lines+n, bad+b
		if err != nil {
			return lines, bad, err
		}
	}
	return lines, bad, nil
}

// maxLine is the longest input line a batch job reads.
const maxLine = 16 << 20

// invalidLine is the output line of an input line that is not JSON: the
// line is not copied (it may be anything, even a file never meant as
// input), only its number and where the syntax broke.
func invalidLine(lineNo int64, raw string) outputLine {
	msg := fmt.Sprintf("User error: line %d is not valid JSON (%d bytes)", lineNo, len(raw))
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal([]byte(raw), &v); errors.As(err, &se) {
		msg = fmt.Sprintf("User error: line %d is not valid JSON: syntax error at byte %d of %d", lineNo, se.Offset, len(raw))
	}
	return outputLine{Input: json.RawMessage("null"), Error: &msg}
}

// inputLine is one JSON Lines input record.
type inputLine struct {
	UserID       *string           `json:"userId"`
	ItemID       *string           `json:"itemId"`
	ItemList     []string          `json:"itemList"`
	FilterValues map[string]string `json:"filterValues"`
}

type outputLine struct {
	Input  json.RawMessage `json:"input"`
	Output *outputItems    `json:"output"`
	Error  *string         `json:"error"`
}

type outputItems struct {
	RecommendedItems []string   `json:"recommendedItems,omitempty"`
	RecommendedUsers []string   `json:"recommendedUsers,omitempty"`
	Scores           []*float64 `json:"scores,omitempty"`
}

// processFile streams one input file into outURI ("<name>.out" in the
// output folder). The output is created new, or, when replace is true,
// replaces one this job wrote before a restart (j.Written), never anything else.
func (s *Service) processFile(ctx context.Context, j *Job, key, recipeType, file, outURI string, replace bool) (lines, bad int64, err error) {
	rc, err := s.locs.Open(ctx, file)
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		bw := bufio.NewWriterSize(pw, 1<<20)
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		var werr error
		var lineNo int64
		for sc.Scan() && werr == nil {
			lineNo++
			raw := strings.TrimSpace(sc.Text())
			if raw == "" {
				continue
			}
			lines++
			var out outputLine
			switch {
			case !json.Valid([]byte(raw)):
				out = invalidLine(lineNo, raw)
			case j.Mode == "BATCH_SEGMENT":
				out = s.segmentLine(ctx, j, key, raw)
			default:
				out = s.answerLine(ctx, j, key, recipeType, raw)
			}
			if out.Error != nil {
				bad++
			}
			werr = enc.Encode(out)
		}
		if werr == nil {
			werr = sc.Err()
			if errors.Is(werr, bufio.ErrTooLong) {
				werr = errs.E(errs.Invalid, "%s: line %d is longer than %d MiB", path.Base(file), lineNo+1, maxLine>>20)
			}
		}
		if werr == nil {
			werr = bw.Flush()
		}
		pw.CloseWithError(werr)
	}()
	if replace {
		err = s.locs.Put(ctx, outURI, pr)
	} else {
		err = s.locs.Create(ctx, outURI, pr)
	}
	pr.CloseWithError(err) // unblocks the writer if Put stopped reading early
	<-done
	if err != nil {
		return lines, bad, fmt.Errorf("write %s: %w", outURI, err)
	}
	return lines, bad, nil
}

func (s *Service) answerLine(ctx context.Context, j *Job, key, recipeType, raw string) outputLine {
	out := outputLine{Input: json.RawMessage(raw)}
	fail := func(format string, args ...any) outputLine { return errorLine(raw, format, args...) }
	var in inputLine
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&in); err != nil {
		return fail("User error: input line is not a JSON object: %v", err)
	}
	q := Query{NumResults: j.NumResults, FilterARN: j.FilterARN, FilterValues: in.FilterValues, ItemList: in.ItemList}
	if in.UserID != nil {
		q.UserID = *in.UserID
	}
	if in.ItemID != nil {
		q.ItemID = *in.ItemID
	}
	switch recipeType {
	case "RELATED_ITEMS":
		if q.ItemID == "" {
			return fail("User error: Required fields for the provided recipe are itemId")
		}
	case "PERSONALIZED_RANKING":
		if q.UserID == "" || len(q.ItemList) == 0 {
			return fail("User error: Required fields for the provided recipe are userId, itemList")
		}
	case "USER_PERSONALIZATION":
		if q.UserID == "" {
			return fail("User error: Required fields for the provided recipe are userId")
		}
	}
	ans, err := s.scorer.Answer(ctx, key, q)
	if err != nil {
		return fail("User error: %s", errs.Message(err))
	}
	items := ans.Items
	if items == nil {
		items = []string{}
	}
	out.Output = &outputItems{RecommendedItems: items, Scores: batchScores(ans.Scores)}
	return out
}

// batchScores returns the scores member of an output line: nil (omitted)
// when the model scores nothing (related items, popularity), as Personalize
// omits them; otherwise one number per item, where an item the model could
// not score (a new item appended to a ranking, a cold item from
// exploration) gets 0, never null: readers of Personalize's output, such as
// the samples' pandas code, expect numbers.
func batchScores(scores []*float64) []*float64 {
	scored := false
	for _, sc := range scores {
		if sc != nil {
			scored = true
			break
		}
	}
	if !scored {
		return nil
	}
	out := make([]*float64, len(scores))
	zero := 0.0
	for i, sc := range scores {
		if sc == nil {
			sc = &zero
		}
		out[i] = sc
	}
	return out
}

// errorLine is the output line of a JSON input line that got no answer:
// the input echoed and the reason. A line that is not JSON is never echoed
// (see invalidLine).
func errorLine(raw, format string, args ...any) outputLine {
	msg := fmt.Sprintf(format, args...)
	out := outputLine{Input: json.RawMessage(raw), Error: &msg}
	if !json.Valid(out.Input) {
		out.Input = json.RawMessage("null")
	}
	return out
}
