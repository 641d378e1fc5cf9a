package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeysCLIErrors(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "p.json")
	if err := os.WriteFile(policy, []byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"personalize:ListCampaigns","Resource":"*","Condition":{"Bool":{}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		usage bool   // exit status 2
		inMsg string // part of the error
	}{
		{"flag instead of subcommand", []string{"keys"}, true, "unknown subcommand \"--data-dir\""},
		{"unknown subcommand", []string{"keys", "rotate"}, true, "unknown subcommand"},
		{"create without policy", []string{"keys", "create", "--name", "a"}, true, "--policy-file"},
		{"delete without id", []string{"keys", "delete"}, true, "takes 1 argument"},
		{"list with argument", []string{"keys", "list", "x"}, true, "takes 0 argument"},
		{"missing policy file", []string{"keys", "create", "--name", "a", "--policy-file", filepath.Join(dir, "none.json")}, false, "--policy-file"},
		{"condition", []string{"keys", "create", "--name", "a", "--policy-file", policy}, false, "Statement[0].Condition: is not supported"},
		{"bad name", []string{"keys", "create", "--name", "a b", "--policy-file", policy}, false, "name"},
		{"delete unknown", []string{"keys", "delete", "AKAUNOSUCHKEY0000000"}, false, "no access key AKAUNOSUCHKEY0000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--data-dir", filepath.Join(dir, "data"))
			var out, errOut bytes.Buffer
			err := run(t.Context(), args, func(string) string { return "" }, &out, &errOut)
			var ue usageError
			if err == nil || errors.As(err, &ue) != tc.usage || !strings.Contains(err.Error(), tc.inMsg) {
				t.Errorf("attune %v = %v (usage %v), want error containing %q (usage %v)", args, err, errors.As(err, &ue), tc.inMsg, tc.usage)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q on failure", out.String())
			}
		})
	}
}
