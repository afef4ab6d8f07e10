// Package terratest checks an AKS spot cluster's configuration as the API server reports it.
//
// Every read is `kubectl get ... -o json` through os/exec with the caller's KUBECONFIG, so the
// suite needs only the Go standard library and kubectl. A kubectl failure fails the test with
// kubectl's own message: a suite that cannot see the cluster must not pass.
package terratest

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"sort"
	"testing"
	"time"
)

const (
	zoneLabel     = "topology.kubernetes.io/zone"
	poolLabel     = "kubernetes.azure.com/agentpool"
	modeLabel     = "kubernetes.azure.com/mode"
	priorityLabel = "kubernetes.azure.com/scalesetpriority"
	spotTaintKey  = "kubernetes.azure.com/scalesetpriority"
)

// Zonal AKS pools label nodes `<region>-<n>`; non-zonal pools carry a bare fault-domain number.
var zonalZone = regexp.MustCompile(`^[a-z0-9]+-[0-9]+$`)

type taint struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Effect string `json:"effect"`
}

type node struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Taints []taint `json:"taints"`
	} `json:"spec"`
}

func (n node) pool() string {
	if p := n.Metadata.Labels[poolLabel]; p != "" {
		return p
	}
	return n.Metadata.Labels["agentpool"]
}

func (n node) isSpot() bool { return n.Metadata.Labels[priorityLabel] == "spot" }

func (n node) hasSpotTaint() bool {
	for _, t := range n.Spec.Taints {
		if t.Key == spotTaintKey && t.Value == "spot" && t.Effect == "NoSchedule" {
			return true
		}
	}
	return false
}

// getNodes lists every node; each kubectl call is bounded by one minute.
func getNodes(t *testing.T) []node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "kubectl", "get", "nodes", "-o", "json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl get nodes -o json failed: %v: %s", err, stderr.String())
	}
	var list struct {
		Items []node `json:"items"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil {
		t.Fatalf("kubectl get nodes -o json returned invalid JSON: %v", err)
	}
	if len(list.Items) == 0 {
		t.Fatalf("the cluster has no nodes")
	}
	return list.Items
}

// byPool groups nodes by agent pool, in pool-name order so subtests run in a stable order.
func byPool(nodes []node) ([]string, map[string][]node) {
	pools := map[string][]node{}
	for _, n := range nodes {
		pools[n.pool()] = append(pools[n.pool()], n)
	}
	names := make([]string, 0, len(pools))
	for p := range pools {
		names = append(names, p)
	}
	sort.Strings(names)
	return names, pools
}
