package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	cr := rootCredentials{AccessKey: "AKAT" + randomString(16, upperAlnum), Secret: randomString(40, secretChars)}
	data, _ = json.MarshalIndent(cr, "", "  ")
	if err := writeFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return cr, false, fmt.Errorf("save credentials: %w", err)
	}
	return cr, true, nil
}

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// randomString draws n characters from alphabet with crypto/rand; the
// alphabets have a power-of-two size so that byte masking is unbiased.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
