package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalize/types"

	"github.com/attune-dev/attune/internal/demo"
)

// Names of the demo's resources; reused when they exist, so running the
// demo again on the same data dir is quick and changes nothing.
const (
	demoGroupName = "attune-demo"
	demoSolution  = "attune-demo-user-personalization"
	demoCampaign  = "attune-demo"
	demoSeed      = 42
)

// runDemo starts the server as `attune serve` would (same flags), sets up
// the demo — data set, imports, a trained aws-user-personalization-v2
// solution and a campaign — through the server's own signed API, prints
// ready-to-paste AWS CLI commands and serves until ctx is done.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	if c.transport.tlsCert != "" {
		// The demo drives its own server over plain HTTP on loopback.
		return usageError{errors.New("demo does not take --tls-cert/--tls-key; use attune serve for TLS")}
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	creds, _, err := loadCredentials(c)
	if err != nil {
		return err
	}
	addrFile := c.addrFile
	if addrFile == "" {
		addrFile = filepath.Join(c.dataDir, "demo-addr")
		_ = os.Remove(addrFile) // a stale address from an earlier run must not be mistaken for this one
		args = append(append([]string(nil), args...), "--addr-file", addrFile)
	}
	// The demo's CSVs live in <data-dir>/demo, which the server must be
	// allowed to read besides the configured local roots.
	demoDir, err := filepath.Abs(filepath.Join(c.dataDir, "demo"))
	if err != nil {
		return fmt.Errorf("demo data dir: %w", err)
	}
	if err := os.MkdirAll(demoDir, 0o700); err != nil {
		return fmt.Errorf("demo data dir: %w", err)
	}
	args = append(append([]string(nil), args...), "--local-roots", demoLocalRoots(c, demoDir))
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- runServe(srvCtx, args, getenv, io.Discard, stderr) }()
	addr, err := waitForAddr(ctx, addrFile, done)
	if err != nil {
		return err
	}
	endpoint := "http://" + addr
	fmt.Fprintf(stdout, "Attune %s is serving on %s (data in %s). Setting up the demo...\n", version, endpoint, c.dataDir)

	cfg := aws.Config{Region: c.region, Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKey, creds.Secret, "")}
	pc := personalize.NewFromConfig(cfg, func(o *personalize.Options) { o.BaseEndpoint = aws.String(endpoint) })
	d := &demoSetup{pc: pc, out: stdout, prefix: fmt.Sprintf("arn:aws:personalize:%s:%s:", c.region, c.account), dir: demoDir}
	res, err := d.run(ctx)
	if err != nil {
		stop()
		<-done
		return fmt.Errorf("demo setup: %w", err)
	}
	printDemo(stdout, endpoint, c.region, creds, res)
	select {
	case <-ctx.Done():
		return <-done
	case err := <-done:
		return err
	}
}

// waitForAddr waits until the server has written its address.
func waitForAddr(ctx context.Context, path string, done <-chan error) (string, error) {
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b), nil
		}
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("server stopped before listening")
			}
			return "", err
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// demoSetup creates (or finds) the demo's resources through the API.
type demoSetup struct {
	pc     *personalize.Client
	out    io.Writer
	prefix string // arn:aws:personalize:REGION:ACCOUNT:
	dir    string
}

// demoResult is what the printed commands refer to.
type demoResult struct {
	campaignARN, versionARN, user string
	rankItems                     []string
}

func (d *demoSetup) step(format string, args ...any) { fmt.Fprintf(d.out, "  - "+format+"\n", args...) }

func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// await polls get every 200ms until it reports a status in final, and
// fails on CREATE FAILED with its reason.
func await(ctx context.Context, what string, get func() (status, reason string, err error), final string) error {
	for {
		st, reason, err := get()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		switch st {
		case final:
			return nil
		case "CREATE FAILED":
			return fmt.Errorf("%s failed: %s", what, reason)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (d *demoSetup) run(ctx context.Context) (*demoResult, error) {
	data := demo.Generate(demo.Options{Seed: demoSeed})
	groupARN := d.prefix + "dataset-group/" + demoGroupName
	if _, err := d.pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(groupARN)}); isNotFound(err) {
		if _, err := d.pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String(demoGroupName)}); err != nil {
			return nil, err
		}
		d.step("created dataset group %s", demoGroupName)
	} else if err != nil {
		return nil, err
	}
	if err := await(ctx, "dataset group", func() (string, string, error) {
		o, err := d.pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(groupARN)})
		if err != nil {
			return "", "", err
		}
		return aws.ToString(o.DatasetGroup.Status), aws.ToString(o.DatasetGroup.FailureReason), nil
	}, "ACTIVE"); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo data dir: %w", err)
	}
	for _, ds := range []struct {
		typ, schema string
		write       func(io.Writer) error
	}{
		{"Interactions", demo.InteractionsSchema, data.WriteInteractions},
		{"Users", demo.UsersSchema, data.WriteUsers},
		{"Items", demo.ItemsSchema, data.WriteItems},
	} {
		if err := d.dataset(ctx, groupARN, ds.typ, ds.schema, ds.write); err != nil {
			return nil, fmt.Errorf("%s dataset: %w", ds.typ, err)
		}
	}
	versionARN, err := d.solution(ctx, groupARN)
	if err != nil {
		return nil, err
	}
	campaignARN, err := d.campaign(ctx, versionARN)
	if err != nil {
		return nil, err
	}
	// The demo user is the most active one: their recommendations show the
	// model at its most personal.
	counts := map[string]int{}
	best := ""
	for _, e := range data.Events {
		counts[e.User]++
		if best == "" || counts[e.User] > counts[best] || (counts[e.User] == counts[best] && e.User < best) {
			best = e.User
		}
	}
	rank := []string{data.Items[0].ID, data.Items[len(data.Items)/3].ID, data.Items[len(data.Items)/2].ID, data.Items[len(data.Items)-1].ID}
	return &demoResult{campaignARN: campaignARN, versionARN: versionARN, user: best, rankItems: rank}, nil
}

// dataset makes sure a dataset of typ exists with its demo data imported.
func (d *demoSetup) dataset(ctx context.Context, groupARN, typ, schema string, write func(io.Writer) error) error {
	lower := strings.ToLower(typ)
	name := demoGroupName + "-" + lower
	schemaARN := d.prefix + "schema/" + name
	if _, err := d.pc.DescribeSchema(ctx, &personalize.DescribeSchemaInput{SchemaArn: aws.String(schemaARN)}); isNotFound(err) {
		if _, err := d.pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String(name), Schema: aws.String(schema)}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	datasetARN := d.prefix + "dataset/" + demoGroupName + "/" + strings.ToUpper(typ)
	if _, err := d.pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: aws.String(datasetARN)}); isNotFound(err) {
		if _, err := d.pc.CreateDataset(ctx, &personalize.CreateDatasetInput{Name: aws.String(name), DatasetGroupArn: aws.String(groupARN),
			DatasetType: aws.String(typ), SchemaArn: aws.String(schemaARN)}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := await(ctx, "dataset "+name, func() (string, string, error) {
		o, err := d.pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: aws.String(datasetARN)})
		if err != nil {
			return "", "", err
		}
		return aws.ToString(o.Dataset.Status), "", nil
	}, "ACTIVE"); err != nil {
		return err
	}
	jobs, err := d.pc.ListDatasetImportJobs(ctx, &personalize.ListDatasetImportJobsInput{DatasetArn: aws.String(datasetARN)})
	if err != nil {
		return err
	}
	jobARN := ""
	for _, j := range jobs.DatasetImportJobs {
		if st := aws.ToString(j.Status); st != "CREATE FAILED" {
			jobARN = aws.ToString(j.DatasetImportJobArn)
			break
		}
	}
	if jobARN == "" {
		path, err := filepath.Abs(filepath.Join(d.dir, lower+".csv"))
		if err != nil {
			return err
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		out, err := d.pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{
			JobName: aws.String(fmt.Sprintf("%s-%d", name, time.Now().Unix())), DatasetArn: aws.String(datasetARN),
			DataSource: &types.DataSource{DataLocation: aws.String("file://" + path)}, ImportMode: types.ImportModeFull,
			RoleArn: aws.String("arn:aws:iam::000000000000:role/attune-demo")})
		if err != nil {
			return err
		}
		jobARN = aws.ToString(out.DatasetImportJobArn)
		d.step("importing %s", path)
	}
	return await(ctx, "import into "+name, func() (string, string, error) {
		o, err := d.pc.DescribeDatasetImportJob(ctx, &personalize.DescribeDatasetImportJobInput{DatasetImportJobArn: aws.String(jobARN)})
		if err != nil {
			return "", "", err
		}
		return aws.ToString(o.DatasetImportJob.Status), aws.ToString(o.DatasetImportJob.FailureReason), nil
	}, "ACTIVE")
}

// solution makes sure the demo solution has an ACTIVE version and returns it.
func (d *demoSetup) solution(ctx context.Context, groupARN string) (string, error) {
	solARN := d.prefix + "solution/" + demoSolution
	if _, err := d.pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: aws.String(solARN)}); isNotFound(err) {
		if _, err := d.pc.CreateSolution(ctx, &personalize.CreateSolutionInput{Name: aws.String(demoSolution), DatasetGroupArn: aws.String(groupARN),
			RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2"), PerformAutoTraining: aws.Bool(false)}); err != nil {
			return "", err
		}
		d.step("created solution %s (aws-user-personalization-v2)", demoSolution)
	} else if err != nil {
		return "", err
	}
	if err := await(ctx, "solution", func() (string, string, error) {
		o, err := d.pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: aws.String(solARN)})
		if err != nil {
			return "", "", err
		}
		return aws.ToString(o.Solution.Status), "", nil
	}, "ACTIVE"); err != nil {
		return "", err
	}
	vs, err := d.pc.ListSolutionVersions(ctx, &personalize.ListSolutionVersionsInput{SolutionArn: aws.String(solARN)})
	if err != nil {
		return "", err
	}
	versionARN := ""
	for _, v := range vs.SolutionVersions { // newest first: reuse the newest that is ACTIVE or on its way
		if st := aws.ToString(v.Status); st == "ACTIVE" || st == "CREATE PENDING" || st == "CREATE IN_PROGRESS" {
			versionARN = aws.ToString(v.SolutionVersionArn)
			break
		}
	}
	if versionARN == "" {
		out, err := d.pc.CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: aws.String(solARN)})
		if err != nil {
			return "", err
		}
		versionARN = aws.ToString(out.SolutionVersionArn)
		d.step("training solution version %s", versionARN)
	}
	return versionARN, await(ctx, "training", func() (string, string, error) {
		o, err := d.pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(versionARN)})
		if err != nil {
			return "", "", err
		}
		return aws.ToString(o.SolutionVersion.Status), aws.ToString(o.SolutionVersion.FailureReason), nil
	}, "ACTIVE")
}

// campaign makes sure the demo campaign exists and is ACTIVE.
func (d *demoSetup) campaign(ctx context.Context, versionARN string) (string, error) {
	campaignARN := d.prefix + "campaign/" + demoCampaign
	if _, err := d.pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(campaignARN)}); isNotFound(err) {
		if _, err := d.pc.CreateCampaign(ctx, &personalize.CreateCampaignInput{Name: aws.String(demoCampaign), SolutionVersionArn: aws.String(versionARN),
			CampaignConfig: &types.CampaignConfig{EnableMetadataWithRecommendations: aws.Bool(true)}}); err != nil {
			return "", err
		}
		d.step("deploying campaign %s", demoCampaign)
	} else if err != nil {
		return "", err
	}
	return campaignARN, await(ctx, "campaign", func() (string, string, error) {
		o, err := d.pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(campaignARN)})
		if err != nil {
			return "", "", err
		}
		return aws.ToString(o.Campaign.Status), aws.ToString(o.Campaign.FailureReason), nil
	}, "ACTIVE")
}

func printDemo(w io.Writer, endpoint, region string, creds rootCredentials, r *demoResult) {
	fmt.Fprintf(w, `
The demo is ready: an IT-services catalogue, business users and their VIEWED / TRIAL_STARTED /
PURCHASED events, an aws-user-personalization-v2 model and a campaign, served at %[1]s.

Paste into another terminal (AWS CLI v1 or v2, Debian's 2.9 included):

export AWS_ACCESS_KEY_ID=%[2]s AWS_SECRET_ACCESS_KEY=%[3]s AWS_DEFAULT_REGION=%[4]s

aws personalize-runtime get-recommendations --endpoint-url %[1]s --campaign-arn %[5]s --user-id %[6]s --num-results 5
aws personalize-runtime get-personalized-ranking --endpoint-url %[1]s --campaign-arn %[5]s --user-id %[6]s --input-list %[7]s
aws personalize describe-campaign --endpoint-url %[1]s --campaign-arn %[5]s
aws personalize get-solution-metrics --endpoint-url %[1]s --solution-version-arn %[8]s

With item metadata: AWS CLI v1, or v2 from mid-2023 on (Debian's v2 2.9 predates --metadata-columns
and refuses it as an unknown option):

aws personalize-runtime get-recommendations --endpoint-url %[1]s --campaign-arn %[5]s --user-id %[6]s --num-results 5 --metadata-columns '{"ITEMS":["SERVICE_NAME","CATEGORY"]}'

Press Ctrl-C to stop; run the demo again to reuse everything it created.
`, endpoint, creds.AccessKey, creds.Secret, region, r.campaignARN, r.user, strings.Join(r.rankItems, " "), r.versionARN)
}

// demoLocalRoots is the --local-roots value of the demo's server: the
// configured roots (the default one when none is named) plus demoDir. With
// --local-roots none the demo still reads its own folder, and only it.
func demoLocalRoots(c serveConfig, demoDir string) string {
	switch v := strings.TrimSpace(c.localRoots); v {
	case localRootsNone:
		return demoDir
	case "":
		def, err := filepath.Abs(defaultLocalRoot(c.dataDir))
		if err != nil {
			return demoDir
		}
		if err := os.MkdirAll(def, 0o750); err != nil {
			return demoDir
		}
		return def + "," + demoDir
	default:
		return v + "," + demoDir
	}
}
