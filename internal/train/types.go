// Package train is the model side of the Personalize workflow: solutions,
// solution versions trained in the background with bounded concurrency,
// hyperparameter search, Personalize's offline metrics, and versioned model
// artifacts written to a blob.Bucket for serving. It reads datasets through
// the store (package corpus) and must not import dataset, serving or any
// concrete backend.
package train

import (
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/resource"
)

// Statuses of solutions and solution versions.
const (
	StatusCreatePending    = "CREATE PENDING"
	StatusCreateInProgress = "CREATE IN_PROGRESS"
	StatusActive           = "ACTIVE"
	StatusCreateFailed     = "CREATE FAILED"
	StatusCreateStopping   = "CREATE STOPPING"
	StatusCreateStopped    = "CREATE STOPPED"
)

// Training modes and types.
const (
	ModeFull      = "FULL"
	ModeUpdate    = "UPDATE"
	ModeAutoTrain = "AUTOTRAIN"
	TypeManual    = "MANUAL"
	TypeAutomatic = "AUTOMATIC"
)

// EventParameters weights one event type (solutionConfig.eventsConfig).
type EventParameters struct {
	EventType           string
	EventValueThreshold *float64
	Weight              *float64
}

// IntRange, FloatRange and CategoricalRange are HPO search ranges.
type IntRange struct {
	Name     string
	Min, Max int64
}

// FloatRange is a continuous HPO range.
type FloatRange struct {
	Name     string
	Min, Max float64
}

// CategoricalRange is a categorical HPO range.
type CategoricalRange struct {
	Name   string
	Values []string
}

// Config is the part of solutionConfig that training acts on.
type Config struct {
	EventValueThreshold string
	HyperParameters     map[string]string
	FeatureParameters   map[string]string
	Events              []EventParameters
	HPOMetric           string // objective metric name; "" = NDCG@25
	HPOMaxJobs          int
	IntRanges           []IntRange
	FloatRanges         []FloatRange
	CatRanges           []CategoricalRange
	AutoMLMetric        string
	AutoMLRecipes       []string // recipe ARNs
	ScheduleExpression  string   // autoTrainingConfig.schedulingExpression
}

// Solution is a recipe configured for a dataset group.
type Solution struct {
	resource.Meta
	GroupARN            string
	RecipeARN           string
	PerformHPO          bool
	PerformAutoML       bool
	PerformAutoTraining bool
	PerformIncremental  bool
	EventType           string
	Config              Config
	// ConfigEcho is the solutionConfig as the client sent it (JSON), echoed
	// back by Describe*; Config holds what training uses of it.
	ConfigEcho    []byte
	BestRecipeARN string // AutoML result
	LatestUpdate  *SolutionUpdate
	Tags          map[string]string
}

// SolutionUpdate records the latest UpdateSolution.
type SolutionUpdate struct {
	PerformAutoTraining bool
	PerformIncremental  bool
	ScheduleExpression  string
	Events              []EventParameters
	Status              string
	FailureReason       string
	Created, Updated    time.Time
}

// Version is a solution version: one training run and its model.
type Version struct {
	resource.Meta
	SolutionARN    string
	GroupARN       string
	RecipeARN      string
	TrainingMode   string
	TrainingType   string
	TrainingHours  float64
	FailureReason  string
	Metrics        map[string]float64
	TunedParams    map[string]string
	ArtifactKey    string
	Interactions   int
	Users, Items   int
	TrainedThrough int64
	Tags           map[string]string
}

var (
	solutions = resource.Kind[Solution, *Solution]{Name: arn.Solution}
	// datasetViews and schemaViews read the dataset package's resources
	// from the JSON bodies it stores (its Go field names), for the Items
	// schema's text fields.
	datasetViews = resource.Kind[datasetView, *datasetView]{Name: arn.Dataset}
	schemaViews  = resource.Kind[schemaView, *schemaView]{Name: arn.Schema}
	versions     = resource.Kind[Version, *Version]{Name: arn.SolutionVersion}
)

func metaOf(a, name, parent, status string, t time.Time) resource.Meta {
	return resource.Meta{ARN: a, Name: name, Parent: parent, Status: status, Created: t, Updated: t}
}

type (
	datasetView struct {
		resource.Meta
		SchemaARN string
	}
	schemaView struct {
		resource.Meta
		Text string
	}
)
