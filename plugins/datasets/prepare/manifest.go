package prepare

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// Layout and format constants.
const (
	// DirName is the folder under a dataset root that holds prepared
	// caches, one subfolder per size: ROOT/.convirt-prepared/256/.
	DirName = ".convirt-prepared"
	// ManifestName is the manifest's file name in a cache folder. It is
	// written last, atomically: a cache folder without it is incomplete.
	ManifestName = "manifest.json"
	// journalName records the images converted so far by an unfinished
	// prepare, one JSON line each, so a rerun resumes.
	journalName = "progress.jsonl"
	// Format names how cached images are stored: 8-bit grayscale PNG,
	// lossless, so a cached image differs from the original only by the
	// resize and the rounding to 8 bits.
	Format = "png-gray8"
	// Version is the manifest format version; manifests of another version
	// are ignored.
	Version = 1
	// DefaultSize is the default short side of prepared images: enough for
	// 224-pixel crops with the paper's augmentation.
	DefaultSize = 256
)

// Entry is one prepared image: where its copy is and which original it was
// made from.
type Entry struct {
	// File is the cached copy, relative to the cache folder, slash-separated.
	File string `json:"file"`
	// SrcSize and SrcMtime (Unix nanoseconds) identify the original; a
	// copy whose original has changed since is stale and not used.
	SrcSize  int64 `json:"src_size"`
	SrcMtime int64 `json:"src_mtime_ns"`
	// Bytes is the cached file's size, checked when resuming.
	Bytes int64 `json:"bytes"`
	// W and H are the cached image's dimensions.
	W int `json:"w"`
	H int `json:"h"`
}

// Manifest describes a complete prepared cache.
type Manifest struct {
	Version int    `json:"version"`
	Size    int    `json:"size"`   // short side of the cached images (smaller originals are kept at their size)
	Format  string `json:"format"` // Format
	Count   int    `json:"count"`  // len(Entries)
	// Root is the dataset root the cache was made from (informational).
	Root string `json:"root"`
	// Datasets lists the dataset splits prepared into this cache.
	Datasets map[string][]string `json:"datasets"`
	Created  time.Time           `json:"created"`
	// Entries maps each original image's path relative to the dataset root
	// (slash-separated) to its prepared copy.
	Entries map[string]Entry `json:"entries"`
}

// Dir returns the cache folder for size under base; base "" means
// ROOT/.convirt-prepared.
func Dir(base, root string, size int) string {
	if base == "" {
		base = filepath.Join(root, DirName)
	}
	return filepath.Join(base, strconv.Itoa(size))
}

// ReadManifest reads and checks the manifest of the cache folder dir. A
// missing manifest gives an error wrapping fs.ErrNotExist.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case m.Version != Version:
		return nil, fmt.Errorf("%s: manifest version %d, want %d (prepare again)", path, m.Version, Version)
	case m.Format != Format:
		return nil, fmt.Errorf("%s: format %q, want %q (prepare again)", path, m.Format, Format)
	case m.Size <= 0 || filepath.Base(dir) != strconv.Itoa(m.Size):
		return nil, fmt.Errorf("%s: size %d does not match the folder %s", path, m.Size, filepath.Base(dir))
	case m.Count != len(m.Entries):
		return nil, fmt.Errorf("%s: count %d but %d entries", path, m.Count, len(m.Entries))
	}
	if m.Entries == nil {
		m.Entries = map[string]Entry{}
	}
	return &m, nil
}

// writeManifest writes m into dir atomically.
func writeManifest(dir string, m *Manifest) error {
	m.Count = len(m.Entries)
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ManifestName), append(data, '\n'), 0o644)
}

// journalLine is one converted image in the journal.
type journalLine struct {
	Path string `json:"path"`
	Entry
}

// readJournal returns the entries an interrupted prepare recorded in dir;
// unreadable lines (a line cut by the interruption) are skipped.
func readJournal(dir string) (map[string]Entry, error) {
	out := map[string]Entry{}
	f, err := os.Open(filepath.Join(dir, journalName))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l journalLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Path != "" && l.File != "" {
			out[l.Path] = l.Entry
		}
	}
	return out, sc.Err()
}

// journal appends converted images to dir's journal, safely from several
// goroutines.
type journal struct {
	mu sync.Mutex
	f  *os.File
}

func openJournal(dir string) (*journal, error) {
	f, err := os.OpenFile(filepath.Join(dir, journalName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &journal{f: f}, nil
}

func (j *journal) add(path string, e Entry) error {
	data, err := json.Marshal(journalLine{Path: path, Entry: e})
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.f.Write(append(data, '\n'))
	return err
}

func (j *journal) close() error { return j.f.Close() }
