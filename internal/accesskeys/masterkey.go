package accesskeys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeyFile is the name of the key file created in the data dir when
// ATTUNE_MASTER_KEY is not set.
const MasterKeyFile = "master.key"

// MasterKeyEnv is the environment variable that, when set, holds the master
// key as 32 bytes in standard base64 or 64 hex digits.
const MasterKeyEnv = "ATTUNE_MASTER_KEY"

// LoadMasterKey returns the 32-byte key that encrypts secrets at rest: from
// env (the value of ATTUNE_MASTER_KEY) when non-empty, else from
// dataDir/master.key, which it creates with mode 0600 on first use. A key
// file readable by group or others is refused, as ssh refuses such keys.
func LoadMasterKey(env, dataDir string) ([]byte, error) {
	if env != "" {
		k, err := decodeKey(env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", MasterKeyEnv, err)
		}
		return k, nil
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			f.Close()
			return nil, err
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = syncDir(dataDir)
		}
		if werr != nil {
			return nil, fmt.Errorf("write master key %s: %w", path, werr)
		}
		return k, nil
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("create master key: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key %s has mode %v: it must be readable by its owner only (chmod 600)", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k, err := decodeKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return k, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// decodeKey reads 32 bytes from base64 or hex, never quoting the value.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, errors.New("not a 32-byte key in base64 or hex (create one with: head -c 32 /dev/urandom | base64)")
}

// sealer encrypts secrets with AES-256-GCM; the access key id is the
// additional data, so a ciphertext copied onto another key does not open.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (sealer, error) {
	if len(key) != 32 {
		return sealer{}, fmt.Errorf("master key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, err
	}
	return sealer{aead}, nil
}

func (s sealer) seal(id, secret string) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(secret), []byte(id)))
}

func (s sealer) open(id, sealed string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("sealed secret is damaged")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(id))
	if err != nil {
		return "", errors.New("secret does not decrypt with this master key (was the data dir's master.key or ATTUNE_MASTER_KEY changed?)")
	}
	return string(plain), nil
}
