package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

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
// without --access-log). file is the access log file (nil unless
// --access-log names one): close it when done; reopenOnHangup makes SIGHUP
// reopen it, for logrotate.
func (c logConfig) open(stderr io.Writer) (log, access *slog.Logger, file *logFile, err error) {
	if err := c.check(); err != nil {
		return nil, nil, nil, usageError{err}
	}
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.level)) // checked above
	if log, err = reqlog.NewLogger(stderr, c.format, l); err != nil {
		return nil, nil, nil, usageError{err}
	}
	var w io.Writer
	switch c.accessLog {
	case "":
		return log, nil, nil, nil
	case accessLogStderr:
		w = stderr
	default:
		file = &logFile{path: c.accessLog}
		if err := file.Reopen(); err != nil {
			return nil, nil, nil, fmt.Errorf("--access-log %s: %w", c.accessLog, err)
		}
		w = file
	}
	// Access lines are written at Info whatever --log-level says: asking
	// for an access log is asking for every line of it.
	access, err = reqlog.NewLogger(w, c.format, slog.LevelInfo)
	if err != nil {
		file.Close()
		return nil, nil, nil, usageError{err}
	}
	return log, access, file, nil
}

// logFile is a log file appended to that can be reopened under the same
// path, so that logrotate can rename it and send SIGHUP. Its methods are
// safe for concurrent use; a nil *logFile does nothing.
type logFile struct {
	path string
	// mu guards the field below.
	mu sync.Mutex
	f  *os.File
}

// Reopen opens the file at its path again (creating it, mode 0640) and
// closes the previous one; writes go to the new file once it returns. On an
// error the previous file is kept.
func (l *logFile) Reopen() error {
	if l == nil {
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the caller's message already
		}
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// Write appends p to the current file.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Close closes the current file.
func (l *logFile) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// reopenOnHangup reopens l on every SIGHUP until ctx is done or the
// returned stop is called (stop waits for the goroutine it started). A
// failed reopen is logged and the old file kept.
func (l *logFile) reopenOnHangup(ctx context.Context, log *slog.Logger) (stop func()) {
	if l == nil {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-quit:
				return
			case <-hup:
				if err := l.Reopen(); err != nil {
					log.Error("reopen the access log on SIGHUP", "err", err)
				} else {
					log.Info("access log reopened on SIGHUP")
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(hup)
			close(quit)
			<-done
		})
	}
}
