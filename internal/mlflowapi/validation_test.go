package mlflowapi_test

import (
	"fmt"
	"strings"
	"testing"
)

// The validation limits and messages of spec §8.
func TestValidationMessages(t *testing.T) {
	c := testServer(t)
	id := c.createRun("0")
	long := func(n int) string { return strings.Repeat("a", n) }
	metrics := func(n int) []obj {
		out := make([]obj, n)
		for i := range out {
			out[i] = obj{"key": fmt.Sprintf("m%d", i), "value": 1, "timestamp": 1, "step": 0}
		}
		return out
	}
	kvs := func(prefix string, n int) []obj {
		out := make([]obj, n)
		for i := range out {
			out[i] = obj{"key": fmt.Sprintf("%s%d", prefix, i), "value": "v"}
		}
		return out
	}
	const inv = "INVALID_PARAMETER_VALUE"
	for _, tc := range []struct {
		name string
		path string
		body obj
		msg  string
	}{
		{"bad metric name", "runs/log-metric", obj{"run_id": id, "key": "a;b", "value": 1, "timestamp": 1},
			"Invalid metric name: 'a;b'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/)."},
		{"metric name resolving elsewhere", "runs/log-metric", obj{"run_id": id, "key": "a/../b", "value": 1, "timestamp": 1},
			"Invalid metric name: 'a/../b'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to 'b'"},
		{"leading slash", "runs/log-metric", obj{"run_id": id, "key": "/abs", "value": 1, "timestamp": 1}, "Invalid metric name: '/abs'."},
		{"negative timestamp", "runs/log-metric", obj{"run_id": id, "key": "k", "value": 1.5, "timestamp": -1},
			"Got invalid timestamp -1 for metric 'k' (value=1.5). Timestamp must be a nonnegative long (64-bit integer) "},
		{"missing metric value", "runs/log-metric", obj{"run_id": id, "key": "k", "timestamp": 1}, "Missing value for required parameter 'value'."},
		{"missing timestamp", "runs/log-metric", obj{"run_id": id, "key": "k", "value": 1}, "Missing value for required parameter 'timestamp'."},
		{"missing run_id", "runs/log-metric", obj{"key": "k", "value": 1, "timestamp": 1},
			"Missing value for required parameter 'run_id'. See the API docs for more information about request parameters."},
		{"bad param name", "runs/log-parameter", obj{"run_id": id, "key": "p!", "value": "v"}, "Invalid parameter name: 'p!'."},
		{"long param value", "runs/log-parameter", obj{"run_id": id, "key": "p", "value": long(6001)},
			"Param value '" + long(250) + "' had length 6001, which exceeded length limit of 6000"},
		{"long param key", "runs/log-parameter", obj{"run_id": id, "key": long(251), "value": "v"}, "Param key '" + long(250) + "' had length 251, which exceeded length limit of 250"},
		{"bad tag name", "runs/set-tag", obj{"run_id": id, "key": "t?", "value": "v"}, "Invalid tag name: 't?'."},
		{"long tag value", "runs/set-tag", obj{"run_id": id, "key": "t", "value": long(5001)}, "Tag value '" + long(250) + "' had length 5001, which exceeded length limit of 5000"},
		{"too many params", "runs/log-batch", obj{"run_id": id, "params": kvs("p", 101)},
			"A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again."},
		{"too many tags", "runs/log-batch", obj{"run_id": id, "tags": kvs("t", 101)}, "A batch logging request can contain at most 100 tags. Got 101 tags."},
		{"too many metrics", "runs/log-batch", obj{"run_id": id, "metrics": metrics(1001)}, "A batch logging request can contain at most 1000 metrics. Got 1001 metrics."},
		{"too many entities", "runs/log-batch", obj{"run_id": id, "metrics": metrics(950), "params": kvs("p", 51)},
			"A batch logging request can contain at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags."},
		{"duplicate param keys", "runs/log-batch", obj{"run_id": id, "params": []obj{{"key": "a", "value": "1"}, {"key": "a", "value": "2"}}},
			"Duplicate parameter keys have been submitted: ['a']. Please ensure the request contains only one param value per param key."},
		{"batch metric without timestamp", "runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "k", "value": 1}}},
			"Missing value for required parameter 'metrics[0].timestamp'."},
		{"batch metric without value", "runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "k", "timestamp": 1}}},
			"Missing value for required parameter 'metrics[0].value'."},
		{"batch param without key", "runs/log-batch", obj{"run_id": id, "params": []obj{{"value": "1"}}}, "Missing value for required parameter 'params[0].key'."},
		{"batch bad metric type", "runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "k", "value": true, "timestamp": 1}}}, "Invalid value"},
		{"experiment name too long", "experiments/create", obj{"name": long(501)}, "Experiment name '" + long(250) + "' had length 501, which exceeded length limit of 500"},
		{"experiment tag value too long", "experiments/set-experiment-tag", obj{"experiment_id": "0", "key": "k", "value": long(5001)},
			"Tag value '" + long(250) + "' had length 5001, which exceeded length limit of 5000"},
		{"missing experiment name", "experiments/create", obj{"name": ""}, "Missing value for required parameter 'name'."},
		{"dataset digest too long", "runs/log-inputs", obj{"run_id": id, "datasets": []obj{{"dataset": obj{"name": "d", "digest": long(37), "source_type": "code", "source": "{}"}}}},
			"Dataset digest exceeds the maximum length of 36"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.fail("POST", tc.path, tc.body, 400, inv, tc.msg)
		})
	}
	// A metric without step is fine; the batch body limit.
	c.post("runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "nostep", "value": 1, "timestamp": 1}}})
	c.fail("POST", "runs/log-batch", obj{"run_id": id, "tags": []obj{{"key": "big", "value": long(1000001)}}}, 400, inv, "Batched logging API requests must be at most 1000000 bytes, got a request of size")
	// Not found.
	c.fail("GET", "runs/get?run_id=nope", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found")
	c.fail("POST", "runs/log-metric", obj{"run_id": "nope", "key": "k", "value": 1, "timestamp": 1}, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found")
}
