package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/attune-dev/attune/internal/testenv"
)

func TestComposeFile(t *testing.T) {
	flags := serveFlags(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			Ports       []string          `yaml:"ports"`
			Build       *struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Healthcheck *struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	var apis []string
	dataVolumes := map[string]bool{}
	for name, s := range compose.Services {
		if s.Build == nil {
			continue
		}
		where := "compose service " + name
		if df := filepath.Join(repoRoot, "deploy", s.Build.Context, s.Build.Dockerfile); !fileExists(df) {
			t.Errorf("%s builds from %s, which does not exist", where, df)
		}
		checkServeEnv(t, where, flags, s.Environment)
		apis = append(apis, name)
		port := listenPort(t, where, s.Environment["ATTUNE_LISTEN"])
		if s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, []string{"CMD", "/attune", "probe", "http://127.0.0.1:" + port + "/readyz"}) {
			t.Errorf("%s healthcheck = %+v, want attune probe of /readyz on port %s", where, s.Healthcheck, port)
		}
		for _, v := range []string{"ATTUNE_STORE", "ATTUNE_BUS"} {
			if s.Environment[v] == "" {
				t.Errorf("%s has no %s: replicas would not share state", where, v)
			}
		}
		// Model artifacts are written to the data dir (/data in the
		// image): the replicas must share it.
		for _, v := range s.Volumes {
			if vol, dir, _ := strings.Cut(v, ":"); dir == "/data" {
				dataVolumes[vol] = true
			}
		}
	}
	if len(apis) < 2 {
		t.Errorf("compose replicas %v, want two", apis)
	}
	if len(dataVolumes) != 1 {
		t.Errorf("replicas mount %v at /data, want one volume they share", dataVolumes)
	}
	if nats := compose.Services["nats"]; !slices.Contains(nats.Command, "--jetstream") {
		t.Errorf("nats command %v does not turn on JetStream", nats.Command)
	}
	for _, svc := range []string{"postgres", "s3", "lb"} {
		if _, ok := compose.Services[svc]; !ok {
			t.Errorf("compose has no %s service", svc)
		}
	}
	// The load balancer's servers are the api replicas on their port,
	// checked on /readyz.
	conf, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(compose.Services["lb"].Volumes, "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro") {
		t.Errorf("lb volumes %v do not mount haproxy.cfg", compose.Services["lb"].Volumes)
	}
	if !regexp.MustCompile(`(?m)^\s*option httpchk GET /readyz$`).Match(conf) || !regexp.MustCompile(`(?m)^\s*retry-on conn-failure`).Match(conf) {
		t.Errorf("haproxy.cfg does not check /readyz or retry failed connections:\n%s", conf)
	}
	upstreams := regexp.MustCompile(`(?m)^\s*server\s+\S+\s+([a-z0-9-]+):(\d+)\s+check`).FindAllStringSubmatch(string(conf), -1)
	var got []string
	for _, u := range upstreams {
		got = append(got, u[1])
		if want := listenPort(t, u[1], compose.Services[u[1]].Environment["ATTUNE_LISTEN"]); u[2] != want {
			t.Errorf("haproxy sends to %s:%s; the replica listens on %s", u[1], u[2], want)
		}
	}
	slices.Sort(got)
	slices.Sort(apis)
	if !slices.Equal(got, apis) {
		t.Errorf("haproxy servers %v, want the api replicas %v", got, apis)
	}
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// volumeMount is a container's volume mount in a rendered manifest.
type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

// TestHelmChart lints and renders the chart with helm and checks what it
// renders: a Deployment with probes on /readyz and /healthz and the shared
// data volume, a Service onto its pods, a Secret, an HPA and the volume's
// claim.
func TestHelmChart(t *testing.T) {
	helm := testenv.Helm(t)
	flags := serveFlags(t)
	chart := filepath.Join(repoRoot, "deploy", "helm", "attune")
	set := "secrets.rootAccessKeyId=root,secrets.rootSecretAccessKey=root-secret,secrets.masterKey=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,secrets.s3AccessKeyId=s3,secrets.s3SecretAccessKey=s3-secret"
	if out, err := exec.CommandContext(t.Context(), helm, "lint", "--strict", chart, "--set", set).CombinedOutput(); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(t.Context(), helm, "template", "r", chart).CombinedOutput(); err == nil || !strings.Contains(string(out), "secrets.rootAccessKeyId is required") {
		t.Errorf("helm template without secrets = %v, %s; want it refused, naming the missing secret", err, out)
	}
	rendered, err := exec.CommandContext(t.Context(), helm, "template", "r", chart, "--set", set).Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	type container struct {
		Args         []string      `yaml:"args"`
		VolumeMounts []volumeMount `yaml:"volumeMounts"`
		Env          []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
		EnvFrom []struct {
			SecretRef struct {
				Name string `yaml:"name"`
			} `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		Readiness *struct {
			HTTPGet struct {
				Path string `yaml:"path"`
				Port string `yaml:"port"`
			} `yaml:"httpGet"`
		} `yaml:"readinessProbe"`
		Liveness *struct {
			HTTPGet struct {
				Path string `yaml:"path"`
				Port string `yaml:"port"`
			} `yaml:"httpGet"`
		} `yaml:"livenessProbe"`
	}
	type doc struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
		Spec       struct {
			Replicas *int `yaml:"replicas"`
			// A Service's selector (a Deployment's has matchLabels).
			Selector map[string]any `yaml:"selector"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
			ScaleTargetRef struct {
				Name string `yaml:"name"`
			} `yaml:"scaleTargetRef"`
			MinReplicas int      `yaml:"minReplicas"`
			AccessModes []string `yaml:"accessModes"`
		} `yaml:"spec"`
	}
	var docs []doc
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	for {
		var d doc
		if err := dec.Decode(&d); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("rendered chart: %v\n%s", err, rendered)
		}
		if d.Kind != "" {
			docs = append(docs, d)
		}
	}
	byKind := map[string][]doc{}
	for _, d := range docs {
		byKind[d.Kind] = append(byKind[d.Kind], d)
	}
	if len(byKind["Deployment"]) != 1 || len(byKind["Service"]) != 1 || len(byKind["Secret"]) != 1 || len(byKind["HorizontalPodAutoscaler"]) != 1 ||
		len(byKind["PersistentVolumeClaim"]) != 1 {
		t.Fatalf("rendered kinds %v, want a Deployment, a Service, a Secret, an HPA and a PersistentVolumeClaim", byKind)
	}
	if pvc := byKind["PersistentVolumeClaim"][0]; !slices.Equal(pvc.Spec.AccessModes, []string{"ReadWriteMany"}) {
		t.Errorf("the data volume's access modes are %v, want ReadWriteMany: every replica writes and reads model artifacts", pvc.Spec.AccessModes)
	}
	secret := byKind["Secret"][0]
	var api string
	for _, d := range byKind["Deployment"] {
		api = d.Metadata.Name
		c := d.Spec.Template.Spec.Containers[0]
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != secret.Metadata.Name {
			t.Errorf("%s takes its secrets from %+v, want the Secret %s", d.Metadata.Name, c.EnvFrom, secret.Metadata.Name)
		}
		for k, v := range secret.StringData {
			env[k] = v
		}
		checkServeEnv(t, "chart "+d.Metadata.Name, flags, env)
		if env["ATTUNE_DATA_DIR"] != "/data" || !slices.ContainsFunc(c.VolumeMounts, func(m volumeMount) bool { return m.Name == "data" && m.MountPath == "/data" }) {
			t.Errorf("%s: data dir %q, mounts %+v; want the shared volume at /data", d.Metadata.Name, env["ATTUNE_DATA_DIR"], c.VolumeMounts)
		}
		port := listenPort(t, d.Metadata.Name, env["ATTUNE_LISTEN"])
		var httpPort string
		for _, p := range c.Ports {
			if p.Name == "http" {
				httpPort = strconv.Itoa(p.ContainerPort)
			}
		}
		if httpPort != port {
			t.Errorf("%s: containerPort http = %s, ATTUNE_LISTEN port %s", d.Metadata.Name, httpPort, port)
		}
		if c.Readiness == nil || c.Readiness.HTTPGet.Path != "/readyz" || c.Readiness.HTTPGet.Port != "http" ||
			c.Liveness == nil || c.Liveness.HTTPGet.Path != "/healthz" || c.Liveness.HTTPGet.Port != "http" {
			t.Errorf("%s probes: readiness %+v liveness %+v; want /readyz and /healthz on the http port", d.Metadata.Name, c.Readiness, c.Liveness)
		}
		if !slices.Equal(c.Args, []string{"serve"}) {
			t.Errorf("%s args %v, want [serve]", d.Metadata.Name, c.Args)
		}
	}
	if svc := byKind["Service"][0]; svc.Spec.Selector["app.kubernetes.io/component"] != "api" {
		t.Errorf("Service selects %v, want the api pods", svc.Spec.Selector)
	}
	if hpa := byKind["HorizontalPodAutoscaler"][0]; hpa.Spec.ScaleTargetRef.Name != api || hpa.Spec.MinReplicas < 2 {
		t.Errorf("HPA scales %q from %d replicas, want %q from at least 2", hpa.Spec.ScaleTargetRef.Name, hpa.Spec.MinReplicas, api)
	}
	for _, d := range byKind["Deployment"] {
		if d.Metadata.Name == api && d.Spec.Replicas != nil {
			t.Errorf("api Deployment sets replicas %d while the HPA owns them", *d.Spec.Replicas)
		}
	}
}
