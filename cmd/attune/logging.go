package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/attune-dev/attune/internal/reqlog"
)

// logConfig is how `attune serve` logs: the level and format of its log on
// stderr, and where the access log goes.
type logConfig struct {
	level     string
	format    string
	accessLog string
}

// accessLogStderr is the --access-log value that writes access lines to
// stderr beside the log.
const accessLogStderr = "stderr"

// addLogFlags registers the logging flags of serve.
func addLogFlags(fs *flag.FlagSet, c *logConfig) {
	fs.StringVar(&c.level, "log-level", "info", "debug, info, warn or error (env ATTUNE_LOG_LEVEL)")
	fs.StringVar(&c.format, "log-format", reqlog.FormatText, "text or json; every line logged while serving a request carries its requestId and accessKeyId (env ATTUNE_LOG_FORMAT)")
	fs.StringVar(&c.accessLog, "access-log", "", "one line per request (operation, status, durationMs, bytesIn, bytesOut, requestId, accessKeyId, client) "+
		"to \"stderr\" or appended to an absolute file path, in --log-format; default none (env ATTUNE_ACCESS_LOG)")
}

// check validates the parsed logging flags without opening anything.
func (c logConfig) check() error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.level)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.level)
	}
	if c.format != reqlog.FormatText && c.format != reqlog.FormatJSON {
		return fmt.Errorf("--log-format %q: want %s or %s", c.format, reqlog.FormatText, reqlog.FormatJSON)
	}
	if c.accessLog != "" && c.accessLog != accessLogStderr && !filepath.IsAbs(c.accessLog) {
		return fmt.Errorf("--access-log %q: want %s or an absolute file path", c.accessLog, accessLogStderr)
	}
	return nil
}

// open returns the server's logger on stderr and the access logger (nil
// without --access-log). close closes the access log file, if any.
func (c logConfig) open(stderr io.Writer) (log, access *slog.Logger, close func() error, err error) {
	if err := c.check(); err != nil {
		return nil, nil, nil, usageError{err}
	}
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.level)) // checked above
	close = func() error { return nil }
	if log, err = reqlog.NewLogger(stderr, c.format, l); err != nil {
		return nil, nil, nil, usageError{err}
	}
	var w io.Writer
	switch c.accessLog {
	case "":
		return log, nil, close, nil
	case accessLogStderr:
		w = stderr
	default:
		f, err := os.OpenFile(c.accessLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is in the message already
			}
			return nil, nil, nil, fmt.Errorf("--access-log %s: %w", c.accessLog, err)
		}
		w, close = f, f.Close
	}
	// Access lines are written at Info whatever --log-level says: asking
	// for an access log is asking for every line of it.
	access, err = reqlog.NewLogger(w, c.format, slog.LevelInfo)
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	return log, access, close, nil
}
