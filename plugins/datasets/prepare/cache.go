package prepare

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNotPrepared is returned by Open when no complete prepared cache of a
// large enough size exists.
var ErrNotPrepared = errors.New("no complete prepared cache")

// Cache is a complete prepared cache opened for reading. It implements
// loader.ImageCache.
type Cache struct {
	dir     string // the cache folder
	absRoot string // the dataset root, absolute
	m       *Manifest
}

// Open finds the complete cache (one with a valid manifest) of the
// smallest size >= minSize under base (base "": ROOT/.convirt-prepared)
// and reads its manifest. With none it returns an error wrapping
// ErrNotPrepared that names the folders it looked at and why each was
// passed over.
func Open(base, root string, minSize int) (*Cache, error) {
	if base == "" {
		base = filepath.Join(root, DirName)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(base)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("prepared cache %s: %w", base, err)
	}
	var sizes []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() && n >= minSize {
			sizes = append(sizes, n)
		}
	}
	sort.Ints(sizes)
	var why []string
	for _, n := range sizes {
		dir := filepath.Join(base, strconv.Itoa(n))
		m, err := ReadManifest(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = errors.New("no manifest (prepare did not finish)")
			}
			why = append(why, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		return &Cache{dir: dir, absRoot: absRoot, m: m}, nil
	}
	detail := ""
	if len(why) > 0 {
		detail = " (" + strings.Join(why, "; ") + ")"
	}
	return nil, fmt.Errorf("%w of size >= %d in %s%s", ErrNotPrepared, minSize, base, detail)
}

// Dir is the cache folder.
func (c *Cache) Dir() string { return c.dir }

// Size is the short side of the cached images.
func (c *Cache) Size() int { return c.m.Size }

// Len is the number of cached images.
func (c *Cache) Len() int { return len(c.m.Entries) }

// Lookup returns the prepared copy of the original image at imagePath, or
// "" when there is none or it is stale (the original's size or
// modification time changed since it was prepared). An original that is
// gone does not make its copy stale. Whether the copy's file is still
// there is the caller's to find out when it reads it.
func (c *Cache) Lookup(imagePath string) string {
	abs := imagePath
	if !filepath.IsAbs(abs) {
		var err error
		if abs, err = filepath.Abs(abs); err != nil {
			return ""
		}
	}
	rel, err := filepath.Rel(c.absRoot, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	e, ok := c.m.Entries[filepath.ToSlash(rel)]
	if !ok {
		return ""
	}
	if st, err := os.Stat(abs); err == nil && (st.Size() != e.SrcSize || st.ModTime().UnixNano() != e.SrcMtime) {
		return ""
	}
	return filepath.Join(c.dir, filepath.FromSlash(e.File))
}
