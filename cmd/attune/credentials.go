package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/attune-dev/attune/internal/accesskeys"
)

const credentialsFile = "credentials.json"

// rootCredentials is the root key pair every request must be signed with.
type rootCredentials struct {
	AccessKey string `json:"accessKeyId"`
	Secret    string `json:"secretAccessKey"`
}

// loadCredentials takes the pair from the environment, else from the data
// dir, else generates one and stores it there with mode 0600. It reports
// whether it generated the pair.
func loadCredentials(c serveConfig) (rootCredentials, bool, error) {
	if c.accessKey != "" {
		return rootCredentials{AccessKey: c.accessKey, Secret: c.secretKey}, false, nil
	}
	path := filepath.Join(c.dataDir, credentialsFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		var cr rootCredentials
		if err := json.Unmarshal(data, &cr); err != nil || cr.AccessKey == "" || cr.Secret == "" {
			return cr, false, fmt.Errorf("credentials file %s is damaged; delete it to generate a new pair", path)
		}
		return cr, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return rootCredentials{}, false, fmt.Errorf("read credentials: %w", err)
	}
	id, secret := accesskeys.NewPair("AKAT")
	cr := rootCredentials{AccessKey: id, Secret: secret}
	data, _ = json.MarshalIndent(cr, "", "  ")
	if err := writeFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return cr, false, fmt.Errorf("save credentials: %w", err)
	}
	return cr, true, nil
}
