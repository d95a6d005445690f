package synth

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/convirt/convirt/plugins/models/wordpiece"
)

// Config sizes the corpus.
type Config struct {
	// Studies is the number of MIMIC-CXR studies; the other datasets are
	// sized from it (CheXpert: Studies train images; RSNA and COVIDx:
	// Studies/2; MURA: Studies/4 studies).
	Studies int
	// Seed fixes every random draw.
	Seed int64
	// Size is the side of every image in pixels.
	Size int
	// Workers bounds the goroutines rendering images (0: GOMAXPROCS).
	Workers int
	// UncertainP is the probability that a mild finding is hedged and
	// labelled uncertain (-1).
	UncertainP float64
	// Progress, when set, is called after each study or image is written
	// (from several goroutines), for a progress bar.
	Progress func()
}

// DefaultConfig is the demo's corpus.
func DefaultConfig() Config {
	return Config{Studies: 4000, Seed: 1, Size: 64, UncertainP: 0.25}
}

// Write writes every dataset under dir: MIMIC-CXR, CheXpert-v1.0-small,
// RSNA, COVIDx, MURA-v1.1 and convirt-retrieval, then dir/vocab.txt
// (VocabFile): the WordPiece vocabulary (wordpiece.BuildVocab's layout, for
// a tokenizer with VocabOptions) of every text written (reports, text
// queries, label and class names), for the "bert" text encoder's vocab key,
// so a text encoder can be pretrained from scratch with no downloads.
// Everything is byte-identical for a c.Seed whatever c.Workers. vocab.txt is
// written atomically after the texts; errors name the dataset or the path
// that failed.
func Write(ctx context.Context, dir string, c Config) error {
	if c.Studies < 10 || c.Size < 16 {
		return fmt.Errorf("synth: need at least 10 studies and 16 px (have %d, %d)", c.Studies, c.Size)
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	vocab := newVocab()
	steps := []struct {
		name string
		fn   func(context.Context, string, Config, *wordpiece.VocabBuilder) error
	}{{"MIMIC-CXR", writeMIMIC}, {"CheXpert", writeCheXpert}, {"RSNA", writeRSNA},
		{"COVIDx", writeCOVIDx}, {"MURA", writeMURA}}
	for _, s := range steps {
		if err := s.fn(ctx, dir, c, vocab); err != nil {
			return fmt.Errorf("synth: %s: %w", s.name, err)
		}
	}
	if err := writeVocab(dir, vocab); err != nil {
		return fmt.Errorf("synth: vocab: %w", err)
	}
	return nil
}

// Items is how many times Write calls c.Progress for c (once per MIMIC-CXR
// study and per image of the other datasets), for a progress bar's total.
// It draws what Write draws to decide the counts, and renders nothing.
func Items(c Config) int {
	train, valid := chexSplits(c)
	n := c.Studies + len(train) + len(valid) + 2*halfStudies(c)
	for i := range muraStudies(c) {
		_, _, views := muraStudy(c, i)
		n += views
	}
	return n
}

// stream ids keep the datasets' random draws independent.
const (
	streamMIMIC = iota + 1
	streamCheXpert
	streamRSNA
	streamCOVIDx
	streamMURA
	streamRetrieval
)

// rngFor returns the generator for item i of a stream.
func rngFor(seed int64, stream, i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed)*0x9E3779B97F4A7C15+uint64(stream), uint64(i)+1))
}

// parallel runs fn(i) for i in [0,n) on c.Workers goroutines, stopping at
// the first error or when ctx ends, and reports each item to c.Progress.
func parallel(ctx context.Context, n int, c Config, fn func(i int) error) error {
	workers := c.Workers
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if ferr == nil {
						ferr = err
					}
					mu.Unlock()
				} else if c.Progress != nil {
					c.Progress()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		mu.Lock()
		stop := ferr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if ferr != nil {
		return ferr
	}
	return ctx.Err()
}

func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJPEG(path string, img image.Image) error {
	return writeFile(path, func(w io.Writer) error { return jpeg.Encode(w, img, &jpeg.Options{Quality: 92}) })
}

func writePNG(path string, img image.Image) error {
	return writeFile(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// writeCSV writes rows (header first) as CSV, gzipped if path ends in .gz.
func writeCSV(path string, rows [][]string) error {
	return writeFile(path, func(w io.Writer) error {
		var gz *gzip.Writer
		if strings.HasSuffix(path, ".gz") {
			gz = gzip.NewWriter(w)
			w = gz
		}
		cw := csv.NewWriter(w)
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		if gz != nil {
			return gz.Close()
		}
		return nil
	})
}

func writeLines(path string, lines []string) error {
	return writeFile(path, func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
		return err
	})
}
