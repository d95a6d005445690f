package benchmarks

import (
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/synth"
	"golang.org/x/sync/errgroup"
)

// fullSize describes the full-size JPEGs bench data writes.
type fullSize struct {
	Studies       int     // MIMIC-CXR studies (about 1.3 images each)
	Width, Height int     // pixels; MIMIC-CXR-JPG is about 2500 x 3000
	Quality       int     // JPEG quality (MIMIC-CXR-JPG used 95)
	Noise         float64 // film-grain standard deviation in grey levels
	Seed          int64
	Workers       int // 0: GOMAXPROCS
}

// writeFullSizeMIMIC writes the synthetic corpus's MIMIC-CXR layout under
// dir (split, metadata and label files, reports), with every image replaced
// by a full-size JPEG: a synthetic radiograph rendered at 512 px, scaled up
// bilinearly and given film grain, so the files decode like real ones. It
// returns the MIMIC-CXR root, the number of images and their total bytes.
func writeFullSizeMIMIC(ctx context.Context, dir string, c fullSize) (string, int, int64, error) {
	if c.Width < 16 || c.Height < 16 || c.Studies < 10 {
		return "", 0, 0, fmt.Errorf("full-size corpus: need at least 10 studies and 16 px, have %d and %dx%d", c.Studies, c.Width, c.Height)
	}
	if err := synth.Write(ctx, dir, synth.Config{Studies: c.Studies, Seed: c.Seed, Size: 16, Workers: c.Workers}); err != nil {
		return "", 0, 0, err
	}
	root := filepath.Join(dir, "MIMIC-CXR")
	var paths []string
	err := filepath.WalkDir(filepath.Join(root, "files"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jpg") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return "", 0, 0, err
	}
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, p := range paths {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			return writeFullSizeJPEG(p, c, rand.New(rand.NewPCG(uint64(c.Seed), uint64(i))))
		})
	}
	if err := g.Wait(); err != nil {
		return "", 0, 0, err
	}
	var total int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return "", 0, 0, err
		}
		total += st.Size()
	}
	return root, len(paths), total, nil
}

// writeFullSizeJPEG renders one radiograph and writes it to path.
func writeFullSizeJPEG(path string, c fullSize, rng *rand.Rand) error {
	const base = 512
	small := synth.RenderChest(rng, base, synth.Sample(rng, 0))
	src := augment.NewGray(base, base)
	for i, v := range small.Pix[:base*base] {
		src.Pix[i] = float32(v)
	}
	out := image.NewGray(image.Rect(0, 0, c.Width, c.Height))
	sx, sy := float64(base)/float64(c.Width), float64(base)/float64(c.Height)
	for y := range c.Height {
		row := out.Pix[y*out.Stride : y*out.Stride+c.Width]
		fy := (float64(y)+0.5)*sy - 0.5
		for x := range row {
			v := float64(src.Bilinear((float64(x)+0.5)*sx-0.5, fy, 0)) + c.Noise*rng.NormFloat64()
			row[x] = uint8(min(max(v+0.5, 0), 255))
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, out, &jpeg.Options{Quality: c.Quality}); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
