package mlflow

import "github.com/convirt/convirt/core/mlflow/internal/wire"

// Limits of one runs/log-batch request and of keys and values, from
// MLflow's REST API documentation (declared once, in internal/wire, for the
// client and the fake server).
const (
	MaxMetricsPerBatch  = wire.MaxMetricsPerBatch
	MaxParamsPerBatch   = wire.MaxParamsPerBatch
	MaxTagsPerBatch     = wire.MaxTagsPerBatch
	MaxEntitiesPerBatch = wire.MaxEntitiesPerBatch
	MaxKeyLength        = wire.MaxKeyLength
	MaxParamValueLength = 500 // what every server accepts; MLflow >= 2.x takes wire.MaxParamValueLength
	MaxTagValueLength   = wire.MaxTagValueLength
)

// Batch is the content of one runs/log-batch call.
type Batch struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []KV     `json:"params,omitempty"`
	Tags    []KV     `json:"tags,omitempty"`
}

// Len is the number of entities in the batch.
func (b Batch) Len() int { return len(b.Metrics) + len(b.Params) + len(b.Tags) }

// Split packs metrics, params and tags, in order, into as few batches as
// the per-call limits allow: 2500 metrics become calls of 1000, 1000, 500.
func Split(metrics []Metric, params, tags []KV) []Batch {
	var out []Batch
	for len(metrics)+len(params)+len(tags) > 0 {
		var b Batch
		n := min(len(params), MaxParamsPerBatch)
		b.Params, params = params[:n:n], params[n:]
		n = min(len(tags), MaxTagsPerBatch)
		b.Tags, tags = tags[:n:n], tags[n:]
		n = min(len(metrics), MaxMetricsPerBatch, MaxEntitiesPerBatch-b.Len())
		b.Metrics, metrics = metrics[:n:n], metrics[n:]
		out = append(out, b)
	}
	return out
}

func (c *Client) fitMetrics(ms []Metric) []Metric {
	out := make([]Metric, len(ms))
	for i, m := range ms {
		m.Key = c.truncate("metric key", m.Key, m.Key, MaxKeyLength)
		out[i] = m
	}
	return out
}

func (c *Client) fitParams(kvs []KV) []KV { return c.fit("param", kvs, c.cfg.MaxParamValue) }

func (c *Client) fitTags(kvs []KV) []KV { return c.fit("tag", kvs, MaxTagValueLength) }

func (c *Client) fit(what string, kvs []KV, maxValue int) []KV {
	out := make([]KV, len(kvs))
	for i, kv := range kvs {
		out[i] = KV{
			Key:   c.truncate(what+" key", kv.Key, kv.Key, MaxKeyLength),
			Value: c.truncate(what+" value", kv.Key, kv.Value, maxValue),
		}
	}
	return out
}

// truncate cuts s to at most n bytes on a UTF-8 boundary, warning with the
// key (never the value, which may be private).
func (c *Client) truncate(what, key, s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	shown := key
	if len(shown) > 60 {
		shown = shown[:60] + "..."
	}
	c.log.Warn("mlflow: truncated to the server's limit", "what", what, "key", shown, "length", len(s), "limit", n)
	return s[:cut]
}
