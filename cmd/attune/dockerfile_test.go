package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/accesskeys"
)

// The deployment files cannot be run here (no Docker engine, no
// Kubernetes), so their tests check what can be checked without them: they
// parse, every flag and variable they give Attune exists and parses, ports
// and probes agree, the Dockerfile's build command builds a static binary,
// and helm lints and renders the chart.

const repoRoot = "../.."

// serveFlags returns the flag names `attune serve -h` lists.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	var help bytes.Buffer
	_ = run(t.Context(), []string{"serve", "-h"}, func(string) string { return "" }, io.Discard, &help)
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(help.String(), -1) {
		flags[m[1]] = true
	}
	if !flags["listen"] || !flags["store"] {
		t.Fatalf("serve -h lists %v; want --listen and --store among them:\n%s", flags, help.String())
	}
	return flags
}

// extraEnv are the variables serve reads that are no flag's ATTUNE_* twin.
var extraEnv = []string{"ATTUNE_ROOT_ACCESS_KEY_ID", "ATTUNE_ROOT_SECRET_ACCESS_KEY", accesskeys.MasterKeyEnv,
	"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// checkServeEnv fails unless every variable of env is one serve reads, and
// serve accepts their values.
func checkServeEnv(t *testing.T, where string, flags map[string]bool, env map[string]string) {
	t.Helper()
	for k := range env {
		flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "ATTUNE_"), "_", "-"))
		if slices.Contains(extraEnv, k) || (strings.HasPrefix(k, "ATTUNE_") && flags[flag]) {
			continue
		}
		t.Errorf("%s sets %s, which attune serve does not read (no --%s flag)", where, k, flag)
	}
	if _, err := parseServe(nil, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Errorf("%s: attune serve refuses its environment: %v", where, err)
	}
	if k := env[accesskeys.MasterKeyEnv]; k != "" {
		if _, err := accesskeys.LoadMasterKey(k, t.TempDir()); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
}

// listenPort returns the port of a host:port variable.
func listenPort(t *testing.T, where, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: ATTUNE_LISTEN %q: %v", where, addr, err)
	}
	return port
}

// TestDockerfile checks the Dockerfile's stages, user, variables and
// ports, then runs its build command as a plain go build and checks that
// the binary is static and runs.
func TestDockerfile(t *testing.T) {
	flags := serveFlags(t)
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var froms, users, exposes []string
	var buildCmd string
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	var line string
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			line += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		line += l
		fields := strings.Fields(line)
		line = ""
		if len(fields) == 0 {
			continue
		}
		switch args := fields[1:]; strings.ToUpper(fields[0]) {
		case "FROM":
			froms = append(froms, strings.Join(args, " "))
		case "USER":
			users = append(users, args[0])
		case "EXPOSE":
			exposes = append(exposes, args...)
		case "ENV":
			for _, kv := range args {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case "RUN":
			if strings.Contains(strings.Join(args, " "), "go build") {
				buildCmd = strings.Join(args, " ")
			}
		}
	}
	if len(froms) < 2 || !strings.HasSuffix(froms[0], " AS build") {
		t.Errorf("FROM lines %q, want a multi-stage build (a build stage, then the image)", froms)
	}
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "0") || strings.HasPrefix(users[len(users)-1], "root") {
		t.Errorf("USER lines %q, want the image to run as a non-root user", users)
	}
	checkServeEnv(t, "Dockerfile", flags, env)
	if port := listenPort(t, "Dockerfile", env["ATTUNE_LISTEN"]); !slices.Contains(exposes, port) {
		t.Errorf("Dockerfile EXPOSE %v lacks the listen port %s", exposes, port)
	}
	if !strings.HasPrefix(buildCmd, "CGO_ENABLED=0 go build ") || !strings.Contains(buildCmd, "-o /out/attune ./cmd/attune") {
		t.Fatalf("Dockerfile build command %q, want CGO_ENABLED=0 go build ... -o /out/attune ./cmd/attune", buildCmd)
	}
	// The same command, here: only the output path and the version differ.
	bin := filepath.Join(t.TempDir(), "attune")
	cmdline := strings.ReplaceAll(strings.ReplaceAll(buildCmd, "/out/attune", bin), "${VERSION}", "docker-test")
	build := exec.CommandContext(t.Context(), "sh", "-c", cmdline)
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, out)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	libs, _ := ef.ImportedLibraries()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP || len(libs) > 0 {
			t.Fatalf("the Dockerfile's binary is dynamically linked (libraries %v): it cannot run on a distroless static image", libs)
		}
	}
	out, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "attune docker-test" {
		t.Errorf("%s version = %q, %v; want \"attune docker-test\"", bin, out, err)
	}
}
