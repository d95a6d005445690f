package prepare

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// writeError marks a failure to write the cache (as opposed to a bad
// original), which stops the prepare.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// Convert decodes the original at src as the loader does, shrinks it so
// its short side is size (smaller images keep their size), and writes it
// atomically as 8-bit grayscale PNG to dir/file. It returns the entry to
// record.
func Convert(src, dir, file string, size int) (Entry, error) {
	st, err := os.Stat(src)
	if err != nil {
		return Entry{}, err
	}
	g, err := loader.DecodeFile(src)
	if err != nil {
		return Entry{}, err
	}
	if g.W == 0 || g.H == 0 {
		return Entry{}, fmt.Errorf("%s: zero-size image", src)
	}
	if min(g.W, g.H) > size {
		g = augment.ShorterSide(g, size)
	}
	img := image.NewGray(image.Rect(0, 0, g.W, g.H))
	for i, v := range g.Pix {
		img.Pix[i] = uint8(min(max(v*255+0.5, 0), 255))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Entry{}, fmt.Errorf("%s: png: %w", src, err)
	}
	path := filepath.Join(dir, filepath.FromSlash(file))
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return Entry{}, &writeError{fmt.Errorf("prepare: %w", err)}
	}
	return Entry{File: file, SrcSize: st.Size(), SrcMtime: st.ModTime().UnixNano(), Bytes: int64(buf.Len()), W: g.W, H: g.H}, nil
}

// copyIntact reports whether e's copy exists in dir with the size recorded.
func copyIntact(dir string, e Entry) bool {
	st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(e.File)))
	return err == nil && st.Mode().IsRegular() && st.Size() == e.Bytes
}
