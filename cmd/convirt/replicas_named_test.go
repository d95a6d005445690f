package main

import (
	"context"
	"maps"
	"math"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/sdk"
	"golang.org/x/sync/errgroup"
)

// namedEncoder is an encoder with named outputs (a *host.Encoder or a
// *train.Replicas).
type namedEncoder interface {
	train.Encoder
	sdk.NamedEncoder
}

// gloriaStep is one GLoRIA training step on b through named outputs, as
// core/train's local step takes it, with the forwards in eval mode
// (batch-norm on running statistics, no dropout); it returns the loss and
// the forwards' outputs.
func gloriaStep(ctx context.Context, img, txt namedEncoder, loss sdk.Loss, b *sdk.Batch) (float64, sdk.LocalInputs, error) {
	var in sdk.LocalInputs
	var err error
	ib, tb := &sdk.Batch{IDs: b.IDs, Images: b.Images}, &sdk.Batch{IDs: b.IDs, Texts: b.Texts}
	if in.Image, err = img.ForwardNamed(ctx, sdk.ForwardRequest{Batch: ib, Graph: true, Outputs: []string{sdk.OutputProjection, sdk.OutputSpatial}}); err != nil {
		return 0, in, err
	}
	if in.Text, err = txt.ForwardNamed(ctx, sdk.ForwardRequest{Batch: tb, Graph: true, Outputs: []string{sdk.OutputProjection, sdk.OutputTokens, sdk.OutputTokenMask}}); err != nil {
		return 0, in, err
	}
	res, err := loss.(sdk.LocalLoss).ComputeLocal(ctx, in)
	if err != nil {
		return 0, in, err
	}
	if err := img.BackwardNamed(ctx, res.ImageGrads); err != nil {
		return 0, in, err
	}
	if err := txt.BackwardNamed(ctx, res.TextGrads); err != nil {
		return 0, in, err
	}
	for _, e := range []train.Encoder{img, txt} {
		if err := e.Step(ctx, sdk.StepRequest{}); err != nil {
			return 0, in, err
		}
	}
	return res.Loss, in, loss.Step(ctx)
}

// TestReplicasNamedGLoRIAMatchOneEncoder: GLoRIA (image "spatial", text
// "tokens" and "token_mask") trained 3 steps on a global batch of 6 through
// two replica processes of each encoder gives the same losses (1e-5
// relative) and parameters as one process of each. The parameters are
// compared tensor by tensor: the largest difference within 1e-5 of the
// tensor's largest element (or of 1e-3, for a tensor that stays near zero,
// as attention's key bias, whose gradient is zero but for rounding). The
// two paths sum their gradients in different orders, and single elements
// near zero differ by float32 rounding far beyond 1e-5 of themselves. The
// replicas' shards pad their texts to different lengths, so the token
// outputs are padded over the replicas and their gradients cut back; the
// mask, which has no gradient, is sent none. Two hosts (one replica of
// each encoder and a loss each, global ranks 0 and 1 gathering their
// outputs, driven at once) match the one host's two replicas bit for bit.
func TestReplicasNamedGLoRIAMatchOneEncoder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := newLauncher(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	imgCfg, txtCfg := configs(writeVocab(t))
	lossCfg := map[string]any{"image_output": "spatial", "image_dim": 256, "text_dim": 32, "optimizer": "sgd", "lr": 0.05, "seed": 2}
	type side struct {
		img, txt namedEncoder
		loss     sdk.Loss
	}
	var one, rep side
	var closers []interface{ Close() error }
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	// encoders lists a side's two encoders and where each goes; startLoss
	// starts a side's own GLoRIA loss.
	type encoderSpec struct {
		name string
		cfg  map[string]any
		dst  *namedEncoder
	}
	encoders := func(s *side) []encoderSpec {
		return []encoderSpec{{"smallcnn", imgCfg, &s.img}, {"bert", txtCfg, &s.txt}}
	}
	startLoss := func() sdk.Loss {
		loss, err := l.Loss(ctx, "gloria", lossCfg)
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, loss)
		return loss
	}
	var txtMembers []namedEncoder
	for _, s := range []*side{&one, &rep} {
		for _, enc := range encoders(s) {
			if s == &one {
				e, err := l.Encoder(ctx, enc.name, enc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				closers = append(closers, e)
				*enc.dst = e
				continue
			}
			members, err := l.EncoderReplicas(ctx, enc.name, enc.cfg, launch.ReplicaPlan{Local: 2, World: 2, Timeout: 60 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			encs := make([]train.Encoder, len(members))
			for i, m := range members {
				closers = append(closers, m)
				encs[i] = m
				if enc.name == "bert" {
					txtMembers = append(txtMembers, m)
				}
			}
			r, err := train.NewReplicas(encs)
			if err != nil {
				t.Fatal(err)
			}
			*enc.dst = r
		}
		s.loss = startLoss()
	}

	// Two hosts, each one replica of each encoder (global ranks 0 and 1 of
	// 2, gathering their outputs) and a loss of its own, as two convirt
	// runs with WORLD_SIZE 2 hold them.
	var hosts [2]side
	port := freePortPair(t)
	for h := range hosts {
		for k, enc := range encoders(&hosts[h]) {
			plan := launch.ReplicaPlan{First: h, Local: 1, World: 2, Gather: true, Timeout: 60 * time.Second,
				Store: net.JoinHostPort("127.0.0.1", strconv.Itoa(port+k))}
			members, err := l.EncoderReplicas(ctx, enc.name, enc.cfg, plan)
			if err != nil {
				t.Fatal(err)
			}
			closers = append(closers, members[0])
			r, err := train.NewHostReplicas([]train.Encoder{members[0]}, h, 2)
			if err != nil {
				t.Fatal(err)
			}
			*enc.dst = r
		}
		hosts[h].loss = startLoss()
	}

	b, err := pairs{n: 6}.Batch(ctx, sdk.BatchRequest{Indices: []int{0, 1, 2, 3, 4, 5}})
	if err != nil {
		t.Fatal(err)
	}
	b.Texts = []string{"no acute process.", "mild cardiomegaly.", "no nodule.",
		"small left pleural effusion, lung base consolidation.", "right pneumothorax, no acute cardiopulmonary process.", "left lung nodule."}
	// Replica 0's shard (rows 0-2) pads to fewer tokens than the batch.
	short, err := txtMembers[0].ForwardNamed(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Texts: b.Texts[:3]}, Outputs: []string{sdk.OutputTokenMask}})
	if err != nil {
		t.Fatal(err)
	}
	// tensorsOf is an encoder's model tensors, by name, from its state.
	tensorsOf := func(e train.Encoder) map[string][]float32 {
		t.Helper()
		st, err := e.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return modelTensors(t, st)
	}
	before := map[string]map[string][]float32{"image": tensorsOf(one.img), "text": tensorsOf(one.txt)}
	for step := range 3 {
		lo, ino, err := gloriaStep(ctx, one.img, one.txt, one.loss, b)
		if err != nil {
			t.Fatal(err)
		}
		lr, inr, err := gloriaStep(ctx, rep.img, rep.txt, rep.loss, b)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			whole, part := ino.Text[sdk.OutputTokens].Shape, short[sdk.OutputTokenMask].Shape
			if got := inr.Text[sdk.OutputTokens].Shape; whole[1] <= part[1] || !slices.Equal(got, whole) {
				t.Fatalf("tokens: replicas %v, one encoder %v, replica 0's shard %v tokens long: want equal shapes, the shard shorter", got, whole, part[1])
			}
		}
		if math.Abs(lr-lo) > 1e-5*math.Abs(lo) {
			t.Errorf("step %d: loss %v through replicas, %v through one encoder", step, lr, lo)
		}
		var lh [2]float64
		var inh [2]sdk.LocalInputs
		var g errgroup.Group
		for h := range hosts {
			g.Go(func() (err error) {
				lh[h], inh[h], err = gloriaStep(ctx, hosts[h].img, hosts[h].txt, hosts[h].loss, b)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatalf("step %d on two hosts: %v", step, err)
		}
		for h := range hosts {
			if lh[h] != lr || !slices.Equal(inh[h].Text[sdk.OutputTokens].Shape, inr.Text[sdk.OutputTokens].Shape) {
				t.Errorf("step %d: host %d's loss %v, tokens %v; one host's replicas %v, %v", step, h, lh[h], inh[h].Text[sdk.OutputTokens].Shape, lr, inr.Text[sdk.OutputTokens].Shape)
			}
		}
	}
	// The hosts' encoders hold the parameters of one host's two replicas,
	// bit for bit: the same shards, padding and sums.
	for h := range hosts {
		for _, pair := range []struct {
			name      string
			host, rep train.Encoder
		}{{"image", hosts[h].img, rep.img}, {"text", hosts[h].txt, rep.txt}} {
			if !maps.EqualFunc(tensorsOf(pair.host), tensorsOf(pair.rep), slices.Equal) {
				t.Errorf("host %d's %s encoder differs from one host's two replicas after 3 GLoRIA steps", h, pair.name)
			}
		}
	}
	for _, pair := range []struct {
		name     string
		one, rep train.Encoder
	}{{"image", one.img, rep.img}, {"text", one.txt, rep.txt}} {
		want, got := tensorsOf(pair.one), tensorsOf(pair.rep)
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("%s: %d tensors through replicas, %d through one encoder", pair.name, len(got), len(want))
		}
		worst, where, moved := 0.0, "", 0.0
		for name, w := range want {
			scale, diff := 0.0, 0.0
			for i := range w {
				scale = math.Max(scale, math.Abs(float64(w[i])))
				diff = math.Max(diff, math.Abs(float64(got[name][i]-w[i])))
				moved = math.Max(moved, math.Abs(float64(w[i]-before[pair.name][name][i])))
			}
			if d := diff / math.Max(scale, 1e-3); d > worst {
				worst, where = d, name
			}
		}
		t.Logf("%s: %d tensors, worst relative difference %.3g (%s)", pair.name, len(want), worst, where)
		if moved == 0 {
			t.Fatalf("%s: training changed nothing: the comparison would be empty", pair.name)
		}
		if worst > 1e-5 {
			t.Errorf("%s encoder: replicas differ from one encoder by %.3g relative at %s after 3 GLoRIA steps", pair.name, worst, where)
		}
	}
}
