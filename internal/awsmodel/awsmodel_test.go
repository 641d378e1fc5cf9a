package awsmodel

import (
	"os"
	"strings"
	"testing"
)

func load(t testing.TB, service string) *Model {
	t.Helper()
	b, err := os.ReadFile("testdata/" + service + ".json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseShippedModels(t *testing.T) {
	for _, tc := range []struct {
		service, protocol string
		minOps            int
	}{{"personalize", "json", 70}, {"personalize-runtime", "rest-json", 3}, {"personalize-events", "rest-json", 5}} {
		t.Run(tc.service, func(t *testing.T) {
			m := load(t, tc.service)
			if m.Metadata.Protocol != tc.protocol || len(m.Operations) < tc.minOps {
				t.Errorf("Parse = protocol %q, %d operations, want %q and at least %d", m.Metadata.Protocol, len(m.Operations), tc.protocol, tc.minOps)
			}
			for name, sh := range m.Shapes {
				if sh.Pattern != "" && m.patterns[name] == nil {
					t.Errorf("pattern of %s (%s) does not compile: it would go unchecked", name, sh.Pattern)
				}
			}
		})
	}
}

func TestValidateOutput(t *testing.T) {
	m := load(t, "personalize")
	good := `{"datasetGroup":{"name":"g1","datasetGroupArn":"arn:aws:personalize:us-east-1:000000000000:dataset-group/g1",
		"status":"ACTIVE","creationDateTime":1.7e9,"lastUpdatedDateTime":1700000000.5,"domain":"ECOMMERCE"}}`
	cases := []struct {
		name, op, body string
		want           []string // substrings, one per violation
	}{
		{"good", "DescribeDatasetGroup", good, nil},
		{"extra members are allowed", "DescribeDatasetGroup", `{"datasetGroup":{"name":"g1","attuneExtra":1}}`, nil},
		{"string as number", "DescribeDatasetGroup", `{"datasetGroup":{"name":5}}`, []string{"datasetGroup.name: want a string"}},
		{"bad enum", "DescribeDatasetGroup", `{"datasetGroup":{"domain":"GROCERY"}}`, []string{`"GROCERY" is not one of Domain's values`}},
		{"pattern", "DescribeDatasetGroup", `{"datasetGroup":{"datasetGroupArn":"dataset-group/g1"}}`, []string{"does not match Arn's pattern"}},
		{"too long", "DescribeDatasetGroup", `{"datasetGroup":{"name":"` + strings.Repeat("a", 64) + `"}}`, []string{"64 characters, more than the maximum 63"}},
		{"timestamp as text", "DescribeDatasetGroup", `{"datasetGroup":{"creationDateTime":"2026-01-01T00:00:00Z"}}`, []string{"epoch seconds"}},
		{"required missing", "DescribeBatchInferenceJob", `{"batchInferenceJob":{"jobInput":{}}}`, []string{"batchInferenceJob.jobInput: required member s3DataSource missing"}},
		{"list item", "ListDatasetGroups", `{"datasetGroups":[{"name":"a"},{"name":[]}]}`, []string{"datasetGroups[1].name: want a string"}},
		{"integer", "GetRecommendations", `{"itemList":[{"itemId":"i","score":"high"}]}`, []string{"itemList[0].score: want a number"}},
		{"map value", "GetRecommendations", `{"itemList":[{"itemId":"i","metadata":{"CATEGORY":7}}]}`, []string{"itemList[0].metadata.CATEGORY: want a string"}},
		{"null member", "DescribeDatasetGroup", `{"datasetGroup":null}`, []string{"null where DatasetGroup"}},
		{"not json", "DescribeDatasetGroup", `{`, []string{"not JSON"}},
		{"no output shape", "DeleteDatasetGroup", `{"x":1}`, []string{"has no output"}},
	}
	runtime := load(t, "personalize-runtime")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mm := m
			if strings.HasPrefix(tc.op, "Get") && tc.op != "GetSolutionMetrics" {
				mm = runtime
			}
			vs, err := mm.ValidateOutput(tc.op, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != len(tc.want) {
				t.Fatalf("ValidateOutput(%s, %s) = %v, want %d violations %q", tc.op, tc.body, vs, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(vs[i].String(), w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, vs[i], w)
				}
			}
		})
	}
	if _, err := m.ValidateOutput("NoSuchOperation", []byte(`{}`)); err == nil {
		t.Error("ValidateOutput(NoSuchOperation) = nil error, want one")
	}
}

func TestDeclaredErrors(t *testing.T) {
	m := load(t, "personalize")
	if !m.DeclaresError("DescribeDatasetGroup", "ResourceNotFoundException") || m.DeclaresError("ListDatasetGroups", "ResourceNotFoundException") {
		t.Errorf("DeclaresError: DescribeDatasetGroup %v, ListDatasetGroups %v", m.Errors("DescribeDatasetGroup"), m.Errors("ListDatasetGroups"))
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("testdata/personalize-events.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"operations":{"A":{"output":{"shape":"S"}}},"shapes":{"S":{"type":"structure"}}}`))
	f.Add([]byte(`{"operations":{"A":{}},"shapes":{"S":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		for _, op := range m.OperationNames() {
			_, _ = m.ValidateOutput(op, []byte(`{"a":[1,"x",{"b":null}]}`))
		}
	})
}

func FuzzValidateOutput(f *testing.F) {
	m := load(f, "personalize")
	f.Add("DescribeDatasetGroup", `{"datasetGroup":{"name":"g1","status":"ACTIVE"}}`)
	f.Add("ListSolutions", `{"solutions":[{"name":"s","recipeArn":"arn:aws:personalize:::recipe/aws-sims"}],"nextToken":"x"}`)
	f.Add("DescribeRecipe", `{"recipe":{"name":null}}`)
	f.Fuzz(func(t *testing.T, op, body string) {
		if _, ok := m.Operations[op]; !ok {
			op = "DescribeSolution"
		}
		vs, err := m.ValidateOutput(op, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if v.Path == "" || v.Problem == "" {
				t.Errorf("violation without path or problem: %+v", v)
			}
		}
	})
}
